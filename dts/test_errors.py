"""test_errors.py - bad input over UDP: malformed frames (short header, total
!= 1, seq != 0: dropped silently and counted, the node keeps serving), a
request the node cannot take (declared value larger than --max-value, a
datagram larger than the MTU, a UDP checksum that does not match), unknown
commands, bad arguments, 250/251-byte keys, and data blocks of the wrong
length. Error replies are memcached 1.6's texts.
"""
import socket

import pytest

from lib import mcudp, rawpkt
from lib.expect import reply
from lib.testbed import CLIENT_IP, PORT, node_ip

pytestmark = pytest.mark.testbed("default")

BAD_FORMAT = "CLIENT_ERROR bad command line format\r\n"
TOO_LARGE = "SERVER_ERROR object too large for cache\r\n"


def test_malformed_frames_dropped(tb, mc):
    before = tb.telemetry(1)
    bad = [
        b"",                                     # no header at all
        b"\x00\x01\x00",                         # 3 bytes
        b"\x00\x02\x00\x00\x00\x01\x00",         # 7 bytes: one short
        mcudp.frame(3, b"version\r\n", seq=0, total=2),   # the first of two
        mcudp.frame(4, b"version\r\n", seq=1, total=2),   # the second of two
        mcudp.frame(5, b"version\r\n", seq=1, total=1),   # seq past the total
        mcudp.frame(6, b"version\r\n", seq=0, total=0),
        mcudp.frame(7, b"version\r\n", seq=0, total=0xFFFF),
    ]
    mc.stray_log = []
    for d in bad:
        mc.send_raw(d)
    # nothing comes back for any of them (a reply would arrive before the next one's),
    # and the node still answers
    reply(mc, "version", "VERSION #.#.#-wirecache-#.#\r\n")
    strays = [r for r, _ in mc.stray_log]
    assert not strays, "malformed frames were answered (request ids %s)" % strays
    after = tb.telemetry(1)
    got = after["drop_memcached_udp_frame"] - before["drop_memcached_udp_frame"]
    assert got == len(bad), "drop_memcached_udp_frame rose by %d for %d malformed frames" % (
        got, len(bad))


def test_empty_and_incomplete_requests_get_no_reply(mc):
    mc.noreply(b"")                    # just the 8-byte header
    mc.noreply(b"get foo")             # no newline: not a whole command
    mc.noreply(b"set k 0 0 10\r\nabc\r\n")   # data block cut short
    reply(mc, "get k", "END\r\n")


def test_unknown_commands(mc):
    reply(mc, "bogus", "ERROR\r\n")
    reply(mc, "bogus command with args", "ERROR\r\n")
    reply(mc, "GET foo", "ERROR\r\n")
    reply(mc, "", "ERROR\r\n")
    reply(mc, "   ", "ERROR\r\n")
    reply(mc, "gets", "ERROR\r\n")
    reply(mc, "get", "ERROR\r\n")
    reply(mc, "mz k", "ERROR\r\n")
    reply(mc, "shutdown", "ERROR: shutdown not enabled\r\n")   # memcached without -A


def test_bad_arguments(mc):
    reply(mc, "set k x 0 1\r\nx", BAD_FORMAT)
    reply(mc, "set k 0 x 1\r\nx", BAD_FORMAT)
    reply(mc, "set k 4294967296 0 1\r\nx", BAD_FORMAT)
    reply(mc, "set k -1 0 1\r\nx", BAD_FORMAT)
    reply(mc, "set k 0 0\r\n", "ERROR\r\n")
    reply(mc, "set k 0 0 1 noreply extra\r\n", "ERROR\r\n")
    # too few arguments, but the length is readable: its data block is skipped
    reply(mc, "cas k 0 0 1\r\nx", "ERROR\r\n")
    reply(mc, "incr k abc", "CLIENT_ERROR invalid numeric delta argument\r\n")
    reply(mc, "decr k 18446744073709551616", "CLIENT_ERROR invalid numeric delta argument\r\n")
    reply(mc, "touch k y", "CLIENT_ERROR invalid exptime argument\r\n")
    reply(mc, "delete k x", "CLIENT_ERROR bad command line format.  "
                            "Usage: delete <key> [noreply]\r\n")
    reply(mc, "verbosity", "ERROR\r\n")
    reply(mc, "ma k Jx", "CLIENT_ERROR invalid or duplicate flag\r\n")
    reply(mc, "ms k 1 MZ\r\nx", "CLIENT_ERROR invalid mode for ms M token\r\n")
    reply(mc, "md", BAD_FORMAT)
    reply(mc, "get k", "END\r\n")       # nothing of the above stored anything


def test_bad_data_chunk(mc):
    # declared 3, sent 5: refused, nothing stored; the leftover "\r\n" is an empty line
    reply(mc, "set k 0 0 3\r\nabcde", "CLIENT_ERROR bad data chunk\r\nERROR\r\n")
    reply(mc, "get k", "END\r\n")
    reply(mc, "ms k 2\r\nxyz", "CLIENT_ERROR bad data chunk\r\nERROR\r\n")
    reply(mc, "get k", "END\r\n")


def test_key_length_limit(mc):
    k250, k251 = "k" * 250, "k" * 251
    reply(mc, "set %s 0 0 1\r\nx" % k250, "STORED\r\n")
    reply(mc, "get %s" % k250, "VALUE %s 0 1\r\nx\r\nEND\r\n" % k250)
    reply(mc, "mg %s k v" % k250, "VA 1 k%s\r\nx\r\n" % k250)
    # 251 bytes: refused everywhere, a storage command's data block skipped
    reply(mc, "set %s 0 0 1\r\nx" % k251, BAD_FORMAT)
    reply(mc, "add %s 0 0 1\r\nx" % k251, BAD_FORMAT)
    reply(mc, "get %s" % k251, BAD_FORMAT)
    reply(mc, "get a %s" % k251, BAD_FORMAT)
    reply(mc, "get %s %s" % (k250, k251), BAD_FORMAT)   # the error alone, as memcached
    reply(mc, "gets %s" % k251, BAD_FORMAT)
    reply(mc, "gat 10 %s" % k251, BAD_FORMAT)
    reply(mc, "delete %s" % k251, BAD_FORMAT)
    reply(mc, "incr %s 1" % k251, BAD_FORMAT)
    reply(mc, "touch %s 1" % k251, BAD_FORMAT)
    reply(mc, "mg %s v" % k251, BAD_FORMAT)
    reply(mc, "ms %s 1\r\nx" % k251, BAD_FORMAT)
    reply(mc, "md %s" % k251, BAD_FORMAT)
    reply(mc, "ma %s" % k251, BAD_FORMAT)
    items = mc.stats("items")["items:1:number"]
    assert items == "1", "after one stored key and 13 refused ones, %s items" % items


def test_value_larger_than_max_value(mc):
    """--max-value 1m: a declared length above it is refused before any data is read."""
    reply(mc, "set big 0 0 %d\r\n" % ((1 << 20) + 1), TOO_LARGE)
    reply(mc, "set big 0 0 2000000\r\nxx", TOO_LARGE)
    reply(mc, "ms big %d T0\r\n" % ((1 << 20) + 1), TOO_LARGE)
    # a length memcached cannot even parse (over INT32_MAX) is a format error there too
    reply(mc, "set big 0 0 99999999999\r\n", BAD_FORMAT)
    reply(mc, "get big", "END\r\n")
    st = mc.stats()
    assert "refused_too_large" in st


def test_datagram_over_mtu_dropped(tb, mc):
    """3000 bytes of UDP payload arrive as IP fragments, which the node drops and counts."""
    before = tb.telemetry(1)["drop_ip_fragment"]
    value = b"v" * 2950
    mc.noreply(b"set frag 0 0 %d\r\n%s\r\n" % (len(value), value))
    after = tb.wait_telemetry(1, "drop_ip_fragment", before + 2)
    assert after >= before + 2, "drop_ip_fragment rose by %d for a 2-fragment datagram" % (
        after - before)
    reply(mc, "get frag", "END\r\n")


def test_other_udp_port_dropped(tb, mc):
    other = tb.client(1)
    other.addr = (node_ip(1), PORT + 1)
    before = tb.telemetry(1)["drop_udp_port"]
    other.silent(b"version\r\n", wait=0.2)
    after = tb.wait_telemetry(1, "drop_udp_port", before + 1)
    assert after == before + 1, "drop_udp_port rose by %d" % (after - before)


def test_broadcast_request_not_answered(tb, mc):
    """memcached over UDP to the subnet broadcast address is not the node's to answer."""
    bc = tb.client(1)
    bc.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    bc.addr = ("198.18.0.255", PORT)
    before = tb.telemetry(1)["udp_requests"]
    bc.send_raw(mcudp.frame(9, b"version\r\n"))
    got = bc.recv_any(0.3)
    assert not got, "a broadcast memcached request was answered: %r" % got[0][0][:80]
    assert tb.telemetry(1)["udp_requests"] == before, "a broadcast request was served"
    reply(mc, "mn", "MN\r\n")


def test_udp_checksum(tb, mc):
    """A request frame built by hand is served when its UDP checksum is right and dropped
    (counted, no reply) when it is wrong."""
    port = mc.sock.getsockname()[1]
    src_mac = rawpkt.if_mac("wcbr")

    def raw(rid, bad):
        payload = mcudp.frame(rid, b"mn\r\n")
        return rawpkt.udp_frame(src_mac, tb.macs[1], CLIENT_IP, node_ip(1), port, PORT,
                                payload, bad_udp_csum=bad)

    before = tb.telemetry(1)["drop_udp_checksum"]
    with rawpkt.Wire("wcbr") as w:
        w.send(raw(901, False))
        assert mc.collect(901) == b"MN\r\n", "hand-built request not answered"
        # no checksum (0) is allowed over IPv4
        w.send(rawpkt.udp_frame(src_mac, tb.macs[1], CLIENT_IP, node_ip(1), port, PORT,
                                mcudp.frame(903, b"mn\r\n"), no_udp_csum=True))
        assert mc.collect(903) == b"MN\r\n", "request without a UDP checksum not answered"
        # Ethernet padding after the IP datagram is not part of the request
        w.send(raw(904, False) + b"\0" * 30)
        assert mc.collect(904) == b"MN\r\n", "padded frame: wrong reply"
        w.send(raw(902, True))
    mc.expect_nothing(902, 0.3)
    after = tb.wait_telemetry(1, "drop_udp_checksum", before + 1)
    assert after == before + 1, "drop_udp_checksum rose by %d" % (after - before)
    reply(mc, "mn", "MN\r\n")
