"""test_impair.py - lib/impair.py's Link puts the link back exactly as it found it,
also when its setup fails part-way, and the node answers afterwards.

- a setup made to fail right after each of its steps in turn (the step runs,
  then raises): the with-block never runs, and afterwards the links of the
  namespace, node 1's tap (MAC, flags, master, promiscuity, bridge port
  state), its offloads (`ethtool -k`), its IPv6 sysctl and the bridge's MAC
  are what they were, no forwarder process is left, and the node answers
  ping and a memcached request over TCP;
- a whole Link without impairments: requests pass through the forwarder, and
  all is back afterwards;
- issue 10, the original failure: on a machine without ethtool, setup failed
  part-way and the node stopped answering for every later test. The setup
  must fail with a message naming ethtool and deps.sh and leave the node
  reachable; and the testbed must survive what impair's cleanup did then
  (`ip link set wct1 address <its MAC>`), which with the old topology (tap,
  bridge and node sharing one MAC) made the bridge swallow the node's frames.
"""
import json
import os
import shutil

import pytest

from lib import impair
from lib.mctcp import McTcp
from lib.testbed import PORT, node_answers, node_ip

pytestmark = pytest.mark.testbed("default")

TAP = "wct1"


class Injected(Exception):
    pass


def link_state():
    """What a Link may touch, as comparable values."""
    info = impair.link_info(TAP)
    port = info.get("linkinfo", {}).get("info_slave_data", {})
    with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % TAP) as f:
        ipv6 = f.read().strip()
    return {
        "links": sorted(ln["ifname"] for ln in json.loads(impair._ip("-j", "link", "show"))),
        "tap": {k: info.get(k) for k in ("address", "flags", "mtu", "master", "promiscuity")},
        "tap_port_state": port.get("state"),
        "tap_offloads": impair._ethtool("-k", TAP),
        "tap_ipv6_disabled": ipv6,
        "bridge_mac": impair.link_info("wcbr")["address"],
    }


def forwarders():
    """Pids of impair forwarder processes still around."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"impair.py") for a in cmd) and impair.VETH_FWD.encode() in cmd:
            pids.append(int(pid))
    return pids


def assert_node_answers():
    ping, tcp, got = node_answers(1, timeout=5)
    assert ping and tcp, "node 1 answers ping: %s, a memcached request over TCP: %s" % (
        ping, got)


@pytest.mark.parametrize("step", impair.Link.STEPS)
def test_setup_failing_after_each_step_is_undone(tb, monkeypatch, step):
    assert_node_answers()
    before = link_state()
    real = getattr(impair.Link, "_" + step)

    def failing(self):
        real(self)
        raise Injected("after step %s" % step)

    monkeypatch.setattr(impair.Link, "_" + step, failing)
    with pytest.raises(Injected):
        with impair.Link(node=1, loss=5, seed=3):
            pytest.fail("the with-block ran although the setup failed")
    assert link_state() == before
    assert forwarders() == []
    assert_node_answers()


def test_whole_link_forwards_and_is_put_back(tb):
    before = link_state()
    with impair.Link(node=1) as link:
        assert forwarders() != []
        assert link_state()["tap"]["master"] is None
        c = McTcp(node_ip(1), PORT, timeout=10)
        try:
            assert c.cmd("set through 0 0 3\r\nfwd") == b"STORED\r\n"
            assert c.cmd("get through") == b"VALUE through 0 3\r\nfwd\r\nEND\r\n"
        finally:
            c.close()
    assert link.stats["to_node"]["tcp"] > 0 and link.stats["to_client"]["tcp"] > 0, link.stats
    assert link_state() == before
    assert forwarders() == []
    assert_node_answers()


def test_issue10_setup_without_ethtool(tb, tmp_path, monkeypatch):
    # a PATH with `ip` and nothing else: ethtool is missing as on a fresh machine
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(shutil.which("ip"), bindir / "ip")
    assert_node_answers()
    before = link_state()
    with monkeypatch.context() as m:
        m.setenv("PATH", str(bindir))
        assert shutil.which("ethtool") is None
        with pytest.raises(RuntimeError, match=r"ethtool is not installed.*deps\.sh"):
            with impair.Link(node=1, dup=1):
                pytest.fail("the with-block ran without ethtool")
    assert link_state() == before
    assert forwarders() == []
    assert_node_answers()
    # what impair's cleanup then did to the tap: the testbed must not lose the node
    impair._ip("link", "set", TAP, "address", before["tap"]["address"])
    assert_node_answers()
