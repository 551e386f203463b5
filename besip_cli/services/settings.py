"""Deployment settings of the service pipeline: where files go and how programs reload.

They describe the machine, not the configuration (which must move between boxes
unchanged), so they live beside the datastore in DIR/services.toml, not in YANG:

    root = "/"                      # target root; default DIR/root; env BESIP_ROOT wins
    platform = "openwrt"            # preset reload commands: openwrt | systemd | none
    [kamailio]                      # per service (kamailio, asterisk, uci_system, ...)
    reload = "/etc/init.d/kamailio restart"
    check = "kamcmd -s /run/kamailio/kamailio_ctl core.uptime"
    user = "kamailio"               # owner of its secret files when running as root
    runtime = "/run/kamailio"       # Kamailio only: where its control socket lives

Commands run with `sh -c`, with BESIP_ROOT and BESIP_SERVICE in their environment.
"""

import os
import tomllib

from .errors import ServiceError

PRESETS = {
    "none": {},
    "openwrt": {"uci_system": "/etc/init.d/system reload", "uci_network": "/etc/init.d/network reload",
                "kamailio": "/etc/init.d/kamailio restart", "asterisk": "/etc/init.d/asterisk reload",
                "ips": "/etc/init.d/besip-daemon reload", "monitoring": "/etc/init.d/besip-daemon reload"},
    "systemd": {"uci_system": "", "uci_network": "", "kamailio": "systemctl restart kamailio",
                "asterisk": "systemctl reload-or-restart asterisk", "ips": "systemctl reload besip-daemon",
                "monitoring": "systemctl reload besip-daemon"},
}
USERS = {"kamailio": "kamailio", "asterisk": "asterisk"}


class Settings:
    """The parsed services.toml of a data directory."""

    def __init__(self, directory):
        path = os.path.join(directory, "services.toml")
        data = {}
        if os.path.exists(path):
            try:
                with open(path, "rb") as f:
                    data = tomllib.load(f)
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ServiceError("%s: %s" % (path, exc))
        self.root = os.path.abspath(os.environ.get("BESIP_ROOT") or data.get("root")
                                    or os.path.join(directory, "root"))
        platform = data.get("platform", "none")
        if platform not in PRESETS:
            raise ServiceError("%s: platform must be one of %s" % (path, ", ".join(PRESETS)))
        self.preset = PRESETS[platform]
        self.data = data

    def of(self, service, key, default=""):
        section = self.data.get(service, {})
        if key == "reload" and key not in section:
            return self.preset.get(service, default)
        if key == "user" and key not in section:
            return USERS.get(service, default)
        return section.get(key, default)

    def path(self, relative):
        """RELATIVE (an absolute path on the appliance) under the target root."""
        return os.path.join(self.root, relative.lstrip("/"))

    def runtime(self, service):
        """Directory of a program's runtime files (sockets, pid files)."""
        return self.of(service, "runtime") or self.path("/run/" + service)
