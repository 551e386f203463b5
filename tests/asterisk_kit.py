"""A real Asterisk 22 for the PBX tests, run inside the Debian sid chroot that
scripts/asterisk-chroot makes: a private asterisk.conf and directories under /tmp/NAME in
the chroot, the BESIP target root's /etc/asterisk bind-mounted as its configuration
directory, and a reload command (`core reload`) for services.toml. The chroot's /etc/hosts
names this machine, as an installed system's does: Asterisk looks its own address up for
every RTCP session (ast_find_ourip), and through DNS a lost reply stalled it for 5 s."""

import os
import shutil
import socket
import subprocess
import time
import uuid

from besip_cli.fsutil import write_atomic

CHROOT = os.environ.get("BESIP_ASTERISK_CHROOT", "/var/cache/besip-test/asterisk-sid")
UID = 101                      # the chroot's asterisk user (read from its /etc/passwd)
MODULES = """[modules]
autoload=no
""" + "".join("load => %s.so\n" % m for m in (
    "res_pjproject res_sorcery_config res_sorcery_memory res_sorcery_astdb res_timing_timerfd "
    "res_rtp_asterisk res_pjsip res_pjsip_session res_pjsip_authenticator_digest "
    "res_pjsip_outbound_authenticator_digest res_pjsip_endpoint_identifier_ip "
    "res_pjsip_endpoint_identifier_user res_pjsip_registrar res_pjsip_outbound_registration "
    "res_pjsip_sdp_rtp res_pjsip_nat res_pjsip_caller_id res_pjsip_mwi res_pjsip_pubsub "
    "res_pjsip_path res_pjsip_rfc3326 res_pjsip_dtmf_info res_pjsip_mwi_body_generator res_musiconhold "
    "chan_pjsip pbx_config app_dial app_voicemail app_mixmonitor app_playback app_echo "
    "app_exec app_stack func_groupcount func_devstate func_callerid func_strings func_logic func_channel "
    "func_cut bridge_simple bridge_native_rtp bridge_builtin_features bridge_holding "
    "codec_ulaw codec_alaw codec_a_mu codec_g722 codec_gsm format_wav format_wav_gsm "
    "format_gsm format_pcm").split())
LOGGER = "[logfiles]\nmessages.log => notice,warning,error\n"
HOSTS = "127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost\n" % socket.gethostname()
# Messages of modules we load that our files do not cause (a chroot without every config).
NOISE = ("Unable to load config", "Missing config", "Could not load", "Using cc_max_requests",
         "Failed to process", "indications", "hosts file", "Unable to open AMI",
         "No music on hold classes", "Could not reload ACL config")
STATIC = {"modules.conf": MODULES, "logger.conf": LOGGER}


def available():
    """Why the Asterisk tests cannot run, or '' when they can."""
    if os.geteuid() != 0:
        return "needs root (chroot and bind mounts of the Asterisk chroot)"
    if not os.path.exists(os.path.join(CHROOT, "usr/sbin/asterisk")):
        return "no Asterisk chroot at %s: run scripts/asterisk-chroot (as root)" % CHROOT
    return ""


def name_this_machine():
    """The chroot's /etc/hosts naming this machine (see above), written when it does not."""
    path = os.path.join(CHROOT, "etc/hosts")
    try:
        with open(path) as f:
            if f.read() == HOSTS:
                return
    except OSError:
        pass
    write_atomic(path, HOSTS)


class Asterisk:
    """One Asterisk on the files under ROOT/etc/asterisk; start(), cli(), stop()."""

    def __init__(self, root):
        name_this_machine()
        self.name = "/tmp/besip-%s" % uuid.uuid4().hex[:10]
        self.dir = CHROOT + self.name
        self.etc = os.path.join(str(root), "etc/asterisk")
        os.makedirs(self.etc, exist_ok=True)
        for sub in ("etc", "run", "spool", "log", "lib"):
            os.makedirs(os.path.join(self.dir, sub))
        for name, text in STATIC.items():
            with open(os.path.join(self.etc, name), "w") as f:
                f.write(text)
        with open(os.path.join(self.dir, "asterisk.conf"), "w") as f:
            f.write("[directories]\n" + "".join(
                "%s => %s\n" % kv for kv in (
                    ("astetcdir", self.name + "/etc"),
                    ("astmoddir", "/usr/lib/x86_64-linux-gnu/asterisk/modules"),
                    ("astvarlibdir", "/var/lib/asterisk"), ("astdatadir", "/usr/share/asterisk"),
                    ("astdbdir", self.name + "/lib"), ("astkeydir", self.name + "/lib"),
                    ("astcachedir", self.name + "/lib"), ("astspooldir", self.name + "/spool"),
                    ("astrundir", self.name + "/run"), ("astlogdir", self.name + "/log")))
                + "[options]\n")
        for sub in ("run", "spool", "log", "lib"):
            os.chown(os.path.join(self.dir, sub), UID, UID)
        subprocess.run(["mount", "--bind", self.etc, os.path.join(self.dir, "etc")], check=True)
        self.mounted = True
        self.started = False

    def command(self, cli):
        """The shell command running CLI in this Asterisk (services.toml reload/check)."""
        return "chroot %s asterisk -C %s/asterisk.conf -rx '%s'" % (CHROOT, self.name, cli)

    def services_toml(self, running=True):
        """The [asterisk] section making commits reload this Asterisk (once RUNNING)."""
        section = '[asterisk]\nuser = "%d"\n' % UID
        if running:
            section += 'reload = "%s"\ncheck = "%s"\n' % (self.command("core reload"),
                                                          self.command("core show uptime"))
        return section

    def start(self):
        subprocess.run(["chroot", CHROOT, "asterisk", "-C", self.name + "/asterisk.conf",
                        "-U", "asterisk", "-G", "asterisk"], check=True, timeout=30)
        self.started = True
        deadline = time.time() + 20
        while time.time() < deadline:
            if "fully booted" in self.cli("core waitfullybooted").lower():
                return
            time.sleep(0.1)
        raise AssertionError("Asterisk did not boot: " + self.log())

    def cli(self, line):
        proc = subprocess.run(["chroot", CHROOT, "asterisk", "-C", self.name + "/asterisk.conf",
                               "-rx", line], capture_output=True, text=True, timeout=30)
        return proc.stdout + proc.stderr

    def log(self):
        try:
            with open(os.path.join(self.dir, "log/messages.log")) as f:
                return f.read()
        except OSError:
            return ""

    def problems(self, since=0):
        """ERROR/WARNING lines of the log after offset SINCE that are not NOISE."""
        return [line for line in self.log()[since:].splitlines()
                if ("ERROR[" in line or "WARNING[" in line) and not any(n in line for n in NOISE)]

    def spool(self, *parts):
        return os.path.join(self.dir, "spool", *parts)

    def stop(self):
        if self.started:
            self.cli("core stop now")
            pidfile = os.path.join(self.dir, "run/asterisk.pid")
            deadline = time.time() + 10
            while os.path.exists(pidfile) and time.time() < deadline:
                time.sleep(0.05)
            try:
                with open(pidfile) as f:
                    os.kill(int(f.read().strip()), 9)
            except (OSError, ValueError):
                pass
            self.started = False
        if self.mounted:
            subprocess.run(["umount", "-l", os.path.join(self.dir, "etc")], check=False)
            self.mounted = False
        shutil.rmtree(self.dir, ignore_errors=True)
