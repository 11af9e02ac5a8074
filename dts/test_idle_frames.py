"""test_idle_frames.py - on an idle node, frames that were not for it are counted as
ignored_* and never as drops (layout "default").

An idle segment is never silent: the namespace's kernel sends IPv6 router
solicitations and MLD reports from wcbr and the taps (to 33:33:* groups),
and a real one carries LLDP, STP, other hosts' ARP and broadcasts, and
unicast a switch floods. Counted as drops they made the drop total creep up
on an idle node (10-14 a minute here), so a rising drop count meant nothing.

For IDLE_S seconds the test watches every frame the kernel hands to node 1's
tap (a packet socket on wct1, outgoing side) and sends a few of each kind
itself: LLDP, an IPv6 router solicitation, IPv6 to the node's MAC, IPv4 for
another host's MAC, an ARP request for another address, a subnet broadcast
and a datagram for another address at the node's MAC. It then classifies what
it saw as the node does and checks that the node's drop total did not move,
that every ignored_* counter rose by exactly the frames of its kind, and
that the ignored total accounts for them all.
"""
import socket
import struct
import time

import pytest

from lib import rawpkt
from lib.testbed import CLIENT_IP, NET, node_ip

pytestmark = pytest.mark.testbed("default")

IDLE_S = 10
TAP = "wct1"
PACKET_OUTGOING = 4
EACH = 3                        # frames of each kind the test sends
OTHER_MAC = "02:00:00:00:00:99"
OTHER_IP = NET + ".99"
BCAST = "ff:ff:ff:ff:ff:ff"


def _eth(dst, src, ethertype, payload):
    return rawpkt.mac_bytes(dst) + rawpkt.mac_bytes(src) + struct.pack("!H", ethertype) + \
        payload.ljust(46, b"\0")


def _test_frames(node_mac, src_mac):
    """(kind, frame) of each kind of frame the node must ignore."""
    ipv6_rs = bytes.fromhex("6000000000083aff" + "fe80" + "00" * 13 + "01" +
                            "ff02" + "00" * 13 + "02") + bytes.fromhex("8500000000000000")
    return [
        ("lldp", _eth("01:80:c2:00:00:0e", src_mac, 0x88CC, b"\x02\x07\x04" + b"\x11" * 6)),
        ("ipv6 router solicitation", _eth("33:33:00:00:00:02", src_mac, 0x86DD, ipv6_rs)),
        ("ipv6 to the node's MAC", _eth(node_mac, src_mac, 0x86DD, ipv6_rs)),
        ("ipv4 for another MAC", rawpkt.udp_frame(src_mac, OTHER_MAC, CLIENT_IP, OTHER_IP,
                                                  40000, 11211, b"x" * 8)),
        ("arp for another address", rawpkt.arp_request(src_mac, CLIENT_IP, OTHER_IP)),
        ("subnet broadcast", rawpkt.udp_frame(src_mac, BCAST, CLIENT_IP, NET + ".255", 40000,
                                              9, b"x" * 8)),
        ("ipv4 for another address", rawpkt.udp_frame(src_mac, node_mac, CLIENT_IP, OTHER_IP,
                                                      40000, 11211, b"x" * 8)),
    ]


def _classify(f, node_mac, node_ip_b):
    """The node's reason for not taking frame f ("ignored_..."), or "for us"."""
    dst, etype = f[0:6], struct.unpack("!H", f[12:14])[0]
    ours, bcast = rawpkt.mac_bytes(node_mac), b"\xff" * 6
    if dst != ours and dst != bcast:
        return "ignored_eth_multicast" if dst[0] & 1 else "ignored_eth_other_host"
    if etype == 0x0806:
        return "for us" if f[38:42] == node_ip_b else "ignored_arp_not_us"
    if etype == 0x0800:
        return "for us" if f[30:34] == node_ip_b else "ignored_ip_not_us"
    return "ignored_eth_type"


def _describe(f):
    etype = struct.unpack("!H", f[12:14])[0]
    what = {0x86DD: "ipv6", 0x0806: "arp", 0x0800: "ipv4", 0x88CC: "lldp"}.get(
        etype, "type %04x" % etype)
    if etype == 0x86DD and len(f) > 54:
        nh = f[20]
        icmp6 = f[54] if nh == 58 else (f[62] if nh == 0 and len(f) > 62 else None)
        what += {133: " router solicitation", 135: " neighbour solicitation",
                 143: " MLDv2 report"}.get(icmp6, " next header %d" % nh)
    return "%s to %s" % (what, rawpkt.mac_str(f[0:6]))


def test_idle_node_counts_foreign_frames_as_ignored(tb):
    node_mac = tb.macs[1]
    node_ip_b = socket.inet_aton(node_ip(1))
    src_mac = rawpkt.if_mac("wcbr")
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(rawpkt.ETH_P_ALL))
    tb.track(cap)
    cap.bind((TAP, rawpkt.ETH_P_ALL))
    cap.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    before = tb.telemetry(1)
    seen = []

    def take(timeout):
        cap.settimeout(timeout)
        while len(seen) < 100000:
            try:
                f, addr = cap.recvfrom(65535)
            except (socket.timeout, BlockingIOError):
                return
            if addr[2] == PACKET_OUTGOING:          # towards the node
                seen.append(f)
            cap.settimeout(0)

    with rawpkt.Wire(TAP) as w:                       # straight into the node's tap
        for _ in range(EACH):
            for _, f in _test_frames(node_mac, src_mac):
                w.send(f)
    end = time.monotonic() + IDLE_S
    while time.monotonic() < end:
        take(min(1.0, max(0.01, end - time.monotonic())))
    time.sleep(0.3)                                   # the last frames reach the counters
    after = tb.telemetry(1)
    take(0)

    kinds = {}
    for f in seen:
        k = _classify(f, node_mac, node_ip_b)
        kinds.setdefault(k, []).append(f)
    sent_by_test = {_classify(f, node_mac, node_ip_b) for _, f in _test_frames(node_mac,
                                                                                src_mac)}
    delta = {k: after[k] - before[k] for k in after
             if (k.startswith("ignored") or k.startswith("drop") or k == "rx_packets") and
             after[k] != before[k]}
    ours = {f for _, f in _test_frames(node_mac, src_mac)}
    kernel = sorted({_describe(f) for f in seen if f not in ours})
    info = "%d frames to the node in %d s: %s; counters moved: %s; besides the test's: %s" % (
        len(seen), IDLE_S, {k: len(v) for k, v in kinds.items()}, delta, kernel)
    print(info)

    assert sent_by_test <= set(kinds), "the test's own frames were not seen on %s: %s" % (
        TAP, info)
    assert after["drops"] == before["drops"], \
        "an idle node dropped %d frames: %s" % (after["drops"] - before["drops"], info)
    for k, frames in kinds.items():
        if k == "for us":
            continue
        assert after[k] - before[k] == len(frames), "%s rose by %d for %d such frames: %s" % (
            k, after[k] - before[k], len(frames), info)
    ignored = sum(len(v) for k, v in kinds.items() if k != "for us")
    assert after["ignored"] - before["ignored"] == ignored, \
        "ignored rose by %d for %d frames not for the node: %s" % (
            after["ignored"] - before["ignored"], ignored, info)
    assert after["rx_packets"] - before["rx_packets"] == len(seen), \
        "the node received %d frames, the tap carried %d: %s" % (
            after["rx_packets"] - before["rx_packets"], len(seen), info)
