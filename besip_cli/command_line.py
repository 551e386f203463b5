"""The command-line layer of every BESIP program, on click: the same `--datastore`,
`--version` and `-h`/`--help` everywhere, and one list of exit statuses (README)."""

import click

from . import __version__

EXIT_STATUS = """\b
Exit status:
  0    success
  1    a command or the login was refused (the message on stderr says why)
  2    bad usage, or the data directory cannot be used (damaged, unreadable)
  130  interrupted (Ctrl-C)"""
DATASTORE_HELP = "Data directory (default: $BESIP_HOME, else ~/.local/share/besip)."


def program(name):
    """Decorator: FUNCTION (its docstring is the help text) as the click command NAME,
    with --datastore DIR, --version and --help."""
    def decorate(function):
        function = click.option("--datastore", metavar="DIR", help=DATASTORE_HELP)(function)
        function = click.version_option(__version__, "--version", prog_name=name,
                                        message="%(prog)s %(version)s",
                                        help="Print the version and exit.")(function)
        return click.command(name=name, epilog=EXIT_STATUS, context_settings={
            "help_option_names": ["-h", "--help"], "max_content_width": 100})(function)
    return decorate


def run(command, argv=None):
    """Run the click COMMAND on ARGV (default: the process's arguments); its exit status."""
    try:
        status = command.main(args=argv, prog_name=command.name, standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        return 130
    return status or 0
