"""test_network.py - the node as an IPv4 host on the client bridge: it answers
ping and arping; it resolves a client's MAC with ARP before answering a UDP
request from an address it has never heard of (the client side has the
node's MAC pinned, so the client never ARPs and the node cannot learn the
client from an ARP request); and a request from an address nobody answers
ARP for is dropped after the hold time and counted, while others are served.

Note: `tools/testbed up` pings every node, so every node has learned
198.18.0.1. To face a node with a client it has never resolved, these tests
add a fresh address to wcbr and send from it.
"""
import re
import subprocess
import time

import pytest

from lib import mcudp, rawpkt
from lib.expect import reply
from lib.testbed import PORT, node_ip

pytestmark = pytest.mark.testbed("default")


def sh(*cmd, timeout=20):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       check=False)
    return r.returncode, r.stdout.decode(errors="replace")


def test_ping(tb):
    before = tb.telemetry(1)["icmp_echo"]
    rc, out = sh("ping", "-c", "3", "-i", "0.2", "-W", "2", node_ip(1))
    assert rc == 0, "ping -c 3 %s failed (%d):\n%s" % (node_ip(1), rc, out)
    assert re.search(r"3 packets transmitted, 3 received", out), out
    after = tb.wait_telemetry(1, "icmp_echo", before + 3)
    assert after == before + 3, "icmp_echo rose by %d for 3 pings" % (after - before)


def test_arping(tb):
    before = tb.telemetry(1)["arp_requests_in"]
    rc, out = sh("/usr/sbin/arping", "-c", "3", "-W", "0.2", "-I", "wcbr", node_ip(1))
    assert rc == 0, "arping -c 3 -I wcbr %s failed (%d):\n%s" % (node_ip(1), rc, out)
    replies = re.findall(r"from ([0-9a-f:]{17}) \(%s\)" % re.escape(node_ip(1)), out)
    assert len(replies) == 3, "arping: %d replies, wanted 3:\n%s" % (len(replies), out)
    assert set(replies) == {tb.macs[1]}, \
        "arping answered by %s, the node's MAC is %s" % (set(replies), tb.macs[1])
    after = tb.wait_telemetry(1, "arp_requests_in", before + 3)
    assert after >= before + 3, "arp_requests_in rose by %d for 3 arpings" % (after - before)


def test_ping_large(tb):
    rc, out = sh("ping", "-c", "1", "-s", "1400", "-W", "2", node_ip(1))
    assert rc == 0, "ping -s 1400 %s failed (%d):\n%s" % (node_ip(1), rc, out)


def test_arp_only_for_own_address(tb):
    """The node answers ARP for its own address only (no proxy ARP), and counts the rest."""
    src_mac = rawpkt.if_mac("wcbr")
    before = tb.telemetry(1)["ignored_arp_not_us"]
    with rawpkt.Wire("wcbr", rawpkt.ETH_P_ARP) as w:
        w.send(rawpkt.arp_request(src_mac, "198.18.0.1", "198.18.0.55"))
        w.send(rawpkt.arp_request(src_mac, "198.18.0.1", node_ip(1)))
        seen = w.frames(0.5, lambda f: rawpkt.arp_reply_from(f, node_ip(1)))
        seen += w.frames(0.2)
    others = [f for f in seen if rawpkt.arp_reply_from(f, "198.18.0.55")]
    ours = [rawpkt.arp_reply_from(f, node_ip(1)) for f in seen]
    assert not others, "somebody answered ARP for 198.18.0.55"
    assert tb.macs[1] in ours, "the node did not answer ARP for its own address"
    after = tb.wait_telemetry(1, "ignored_arp_not_us", before + 1)
    assert after == before + 1, "ignored_arp_not_us rose by %d" % (after - before)


@pytest.fixture
def fresh_source(tb):
    """A client address on wcbr that the node has never seen, and the node's MAC
    pinned on the client side (so the client never ARPs for the node)."""
    addr = "198.18.0.77"
    rc, out = sh("ip", "addr", "add", addr + "/24", "dev", "wcbr")
    assert rc == 0, "ip addr add %s failed: %s" % (addr, out)
    rc, out = sh("ip", "neigh", "replace", node_ip(1), "lladdr", tb.macs[1], "dev", "wcbr",
                 "nud", "permanent")
    assert rc == 0, "ip neigh replace failed: %s" % out
    try:
        yield addr
    finally:
        sh("ip", "neigh", "del", node_ip(1), "dev", "wcbr")
        sh("ip", "addr", "del", addr + "/24", "dev", "wcbr")


def test_node_resolves_client_before_replying(tb, mc, fresh_source):
    value = bytes(range(256)) * 20      # a 4-datagram reply waits for the resolution
    assert mc.request(b"set nv 0 0 1300\r\n" + value[:1300] + b"\r\n") == b"STORED\r\n"
    for off in range(1300, len(value), 1300):
        part = value[off:off + 1300]
        assert mc.request(b"append nv 0 0 %d\r\n%s\r\n" % (len(part), part)) == b"STORED\r\n"
    rc, out = sh("ip", "neigh", "show", node_ip(1), "dev", "wcbr")
    assert tb.macs[1] in out and "PERMANENT" in out, "the node's MAC is not pinned: %s" % out
    with rawpkt.Wire("wcbr", rawpkt.ETH_P_ARP) as wire:
        c = tb.client(1, source=fresh_source)
        got = c.request(b"get nv\r\n", timeout=3)
        assert got == b"VALUE nv 0 %d\r\n%s\r\nEND\r\n" % (len(value), value), \
            "first request from a fresh client: %r" % got[:100]
        assert got.datagrams == 4
        # the reply came after the node asked who has the fresh address ...
        seen = wire.frames(1.0, lambda f: rawpkt.arp_request_for(f, fresh_source))
        asks = [a for a in (rawpkt.arp_request_for(f, fresh_source) for f in seen) if a]
        assert asks, "the node answered without ARPing for %s" % fresh_source
        assert asks[0] == (tb.macs[1], node_ip(1)), "ARP request for %s came from %s" % (
            fresh_source, asks[0])
        # ... and the client never asked for the node's MAC: it was pinned
        seen += wire.frames(0.05)
        ours = [f for f in seen if rawpkt.arp_request_for(f, node_ip(1))]
        assert not ours, "the client ARPed for the node although its MAC was pinned"
        # the node remembers the client: a second request needs no new ARP
        reply(c, "set nb 0 0 2\r\nok", "STORED\r\n")
        reply(c, "get nb", "VALUE nb 0 2\r\nok\r\nEND\r\n")


def test_unresolvable_client_dropped_after_hold(tb, mc):
    """A request from 198.18.0.99 (nobody owns it, nobody answers ARP for it) waits for
    resolution, is dropped and counted as neighbor_unresolved; the node keeps serving."""
    ghost = "198.18.0.99"
    ghost_mac = "02:00:00:00:00:99"
    before = tb.telemetry(1)["drop_neighbor_unresolved"]
    frame = rawpkt.udp_frame(ghost_mac, tb.macs[1], ghost, node_ip(1), 40000, PORT,
                             mcudp.frame(1, b"version\r\n"))
    t0 = time.monotonic()
    with rawpkt.Wire("wcbr", rawpkt.ETH_P_ARP) as wire:
        wire.send(frame)
        # meanwhile, a resolvable client is served at once
        reply(mc, "mn", "MN\r\n")
        after = tb.wait_telemetry(1, "drop_neighbor_unresolved", before + 1, timeout=6)
        held = time.monotonic() - t0
        asks = [f for f in wire.frames(0.05) if rawpkt.arp_request_for(f, ghost)]
    assert after == before + 1, "drop_neighbor_unresolved rose by %d after %.1f s" % (
        after - before, held)
    assert 0.9 <= held <= 4.5, "the unresolved reply was held %.1f s (hold time 2 s)" % held
    assert 1 <= len(asks) <= 5, "the node sent %d ARP requests for %s in %.1f s" % (
        len(asks), ghost, held)
    reply(mc, "mn", "MN\r\n")


def test_requests_waiting_for_resolution_exhaust_then_recover(tb, mc):
    """300 requests from an unresolvable client fill the node's 256 waiting contexts:
    the rest are dropped as busy (counted); once the hold time has passed the contexts
    are back and the node serves again."""
    ghost = "198.18.0.98"
    before = tb.telemetry(1)
    with rawpkt.Wire("wcbr") as wire:
        for i in range(300):
            wire.send(rawpkt.udp_frame("02:00:00:00:00:98", tb.macs[1], ghost, node_ip(1),
                                       40000 + i, PORT, mcudp.frame(i, b"mn\r\n")))
    busy = tb.wait_telemetry(1, "drop_memcached_udp_busy",
                             before["drop_memcached_udp_busy"] + 44)
    assert busy - before["drop_memcached_udp_busy"] == 44, \
        "%d of 300 held requests dropped as busy, wanted 44 (256 contexts)" % (
            busy - before["drop_memcached_udp_busy"])
    unresolved = tb.wait_telemetry(1, "drop_neighbor_unresolved",
                                   before["drop_neighbor_unresolved"] + 256, timeout=6)
    assert unresolved - before["drop_neighbor_unresolved"] == 256, \
        "%d held requests given up, wanted 256" % (
            unresolved - before["drop_neighbor_unresolved"])
    for _ in range(20):
        reply(mc, "mn", "MN\r\n")
