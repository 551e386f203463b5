"""One defaults filler for the services, NETCONF report-all and unique checks, with YANG's
choice rules: a case's defaults apply when that case is active, or when it is the choice's
default case and no other case is."""

import os
import shutil

from besip_cli import schema
from besip_cli.netconf import defaults as nc_defaults
from besip_cli.schema.defaults import filled
from conftest import ROOT

CHOICE_MODULE = """
module test-choice {
  yang-version 1.1;
  namespace "urn:test:choice";
  prefix tc;
  container box {
    choice transport {
      default udp;
      case udp {
        leaf udp-port { type uint16; default 5060; }
      }
      case tcp {
        leaf tcp-port { type uint16; default 5061; }
        leaf tcp-keepalive { type uint16; }
        choice framing {
          default plain;
          leaf plain { type boolean; default true; }
          leaf websocket { type boolean; default false; }
        }
      }
    }
    leaf outside { type string; default "x"; }
  }
}
"""


def choice_schema(tmp_path):
    yang = tmp_path / "yang"
    shutil.copytree(os.path.join(ROOT, "yang"), yang)
    (yang / "test-choice.yang").write_text(CHOICE_MODULE)
    return schema.load(str(yang))


def test_default_case_applies_only_while_no_other_case_is_active(tmp_path, env):
    s = choice_schema(tmp_path)
    box = {"box": {}}
    assert filled(box, s.roots)["box"] == {"udp-port": "5060", "outside": "x"}
    tcp = {"box": {"tcp-keepalive": "30"}}
    assert filled(tcp, s.roots)["box"] == {"tcp-port": "5061", "tcp-keepalive": "30",
                                           "plain": "true", "outside": "x"}
    ws = {"box": {"websocket": "true"}}
    assert filled(ws, s.roots)["box"] == {"tcp-port": "5061", "websocket": "true", "outside": "x"}
    assert nc_defaults.apply("report-all", box, s)["box"] == {"udp-port": "5060", "outside": "x"}


def test_a_choice_without_default_case_in_our_modules(env):
    """pbx route's `target` choice has no default case: nothing of it is filled in, and the
    other leaves of the route get theirs."""
    s = schema.load()
    route = {"pbx": {"route": {"r1": {"name": "r1", "pattern": "0X.", "trunk": "t1"}}}}
    got = filled(route, s.roots, skeleton=True)["pbx"]["route"]["r1"]
    assert got["trunk"] == "t1" and "extension" not in got
    assert got["priority"] == "100" and got["strip"] == "0"
    report = nc_defaults.apply("report-all", route, s)["pbx"]
    assert report["route"]["r1"]["priority"] == "100" and "extension" not in report["route"]["r1"]
    assert report["mode"] == "proxy-pbx" and "trunk" not in report
