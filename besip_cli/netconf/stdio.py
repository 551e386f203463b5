"""`besip-netconf`: one NETCONF session on stdin/stdout, for OpenSSH's
`Subsystem netconf /usr/bin/besip-netconf` (as yuma's netconf-subsystem is used).
The user is the SSH login user; the data directory is --datastore, $BESIP_HOME or the default.
Run locally (not over SSH), its user gets the console-owner rule, as in the shell.
Internal errors are logged to syslog (stderr when there is none): under OpenSSH, stderr
would reach the client."""

import logging
import logging.handlers
import os
import signal
import sys

from ..command_line import program, run
from ..datastore.session import default_directory
from .server import serve


@program("besip-netconf")
def command(datastore):
    """One NETCONF session on standard input and output.

    For OpenSSH: `Subsystem netconf /usr/bin/besip-netconf --datastore DIR`. The user is
    the SSH login user, with the role `system user` gives it; run locally (not over SSH),
    the owner of the data directory is admin, as in the shell."""
    if os.path.exists("/dev/log"):
        handler = logging.handlers.SysLogHandler("/dev/log")
        handler.setFormatter(logging.Formatter("besip-netconf[%d]: %%(message)s" % os.getpid()))
    else:
        handler = logging.StreamHandler()
    logging.basicConfig(handlers=[handler], level=logging.INFO)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))     # kill-session: end cleanly
    import pwd
    user = os.environ.get("USER") or pwd.getpwuid(os.getuid()).pw_name
    peer = (os.environ.get("SSH_CLIENT") or "").split(" ")[0]
    infile = os.fdopen(0, "rb", buffering=0)
    outfile = os.fdopen(1, "wb", buffering=0)
    serve(infile, outfile, user=user, datastore=datastore or default_directory(), peer=peer,
          local=True)
    return 0


def main(argv=None):
    return run(command, argv)


if __name__ == "__main__":
    sys.exit(main())
