"""test_large.py - replies that span many datagrams: a 500 KB value (stored
with appends of at most 1300 bytes, since a request is one datagram) comes
back in ~370 datagrams of 1400 bytes and is reassembled byte-exact; replies
sized right around the datagram boundary; request ids echoed over the whole
range; two clients fetching big replies at the same time.
"""
import random

import pytest

from lib import mcudp
from lib.expect import reply

pytestmark = pytest.mark.testbed("default")

CHUNK = 1300


def store_big(c, key, value, flags=0):
    """set the first chunk, append the rest, each request one datagram."""
    first = value[:CHUNK]
    got = c.request(b"set %s %d 0 %d\r\n%s\r\n" % (key, flags, len(first), first))
    assert got == b"STORED\r\n", "set of the first chunk answered %r" % got
    for off in range(CHUNK, len(value), CHUNK):
        part = value[off:off + CHUNK]
        got = c.request(b"append %s 0 0 %d\r\n%s\r\n" % (key, len(part), part))
        assert got == b"STORED\r\n", "append at offset %d answered %r" % (off, got)


def ndgrams(n):
    return max(1, -(-n // mcudp.MAX_DATA))


def test_500k_value_reassembled(mc):
    value = random.Random(500).randbytes(500 * 1024)
    store_big(mc, b"big", value, flags=9)
    want = b"VALUE big 9 %d\r\n%s\r\nEND\r\n" % (len(value), value)
    got = mc.cmd("get big", timeout=5)
    assert len(got) == len(want), "get big: %d bytes back, wanted %d" % (len(got), len(want))
    assert got == want, "get big: reassembled reply differs at byte %d" % next(
        i for i in range(len(want)) if got[i] != want[i])
    assert got.datagrams == ndgrams(len(want)), \
        "%d reply bytes came in %d datagrams, wanted %d" % (len(want), got.datagrams,
                                                            ndgrams(len(want)))
    assert all(s == mcudp.MAX_DGRAM for s in got.sizes[:-1])
    assert {h[2] for h in got.headers} == {got.datagrams}, "datagrams disagree on the total"
    assert sorted(h[1] for h in got.headers) == list(range(got.datagrams))
    # the same through gets and mg
    got = mc.cmd("gets big", timeout=5)
    assert got.startswith(b"VALUE big 9 %d " % len(value)) and \
        got.endswith(b"\r\n" + value + b"\r\nEND\r\n"), "gets big: value differs"
    got = mc.cmd("mg big s v f", timeout=5)
    assert got == b"VA %d s%d f9\r\n%s\r\n" % (len(value), len(value), value), \
        "mg big v: value differs"
    assert mc.stats()["curr_items"] == "1"


def test_many_large_replies_do_not_leak(tb, mc):
    """40 gets of a 100 KB value (~3000 datagrams, with the 500 KB test more than the
    node's mbuf pool in all): every one complete, no mbuf shortage."""
    value = random.Random(100).randbytes(100 * 1024)
    store_big(mc, b"big", value)
    want = b"VALUE big 0 %d\r\n%s\r\nEND\r\n" % (len(value), value)
    before = tb.telemetry(1)
    for n in range(40):
        got = mc.cmd("get big", timeout=5)
        assert got == want, "get %d of the 100 KB value differs (%d bytes)" % (n, len(got))
    after = tb.telemetry(1)
    for name in ("drop_no_mbuf", "drop_tx_full"):
        assert after[name] == before[name], "%s rose by %d" % (name, after[name] - before[name])


@pytest.mark.parametrize("total", [1391, 1392, 1393, 2783, 2784, 2785, 4176, 4177])
def test_datagram_boundaries(mc, total):
    """A get reply of exactly total bytes: ceil(total/1392) datagrams, byte-exact."""
    # reply = "VALUE k 0 <n>\r\n" + n bytes + "\r\nEND\r\n"
    n = next(n for n in range(total) if len(b"VALUE k 0 %d\r\n" % n) + n + 7 == total)
    value = bytes((i * 7 + 3) & 0xFF for i in range(n))
    store_big(mc, b"k", value)
    got = mc.cmd("get k")
    assert len(got) == total, "reply of %d bytes, wanted %d" % (len(got), total)
    assert got == b"VALUE k 0 %d\r\n%s\r\nEND\r\n" % (n, value), "reply differs"
    assert got.datagrams == ndgrams(total), \
        "a %d-byte reply came in %d datagrams, wanted %d (sizes %s)" % (
            total, got.datagrams, ndgrams(total), got.sizes)


@pytest.mark.parametrize("rid", [0, 1, 0x7FFF, 0x8000, 0xFFFF])
def test_request_id_echoed(mc, rid):
    store_big(mc, b"r", bytes(3000))
    got = mc.request(b"get r\r\n", req_id=rid)
    assert got.datagrams == 3 and {h[0] for h in got.headers} == {rid}, \
        "request id %d: reply headers %s" % (rid, got.headers)
    assert got == b"VALUE r 0 3000\r\n" + bytes(3000) + b"\r\nEND\r\n"


def test_concurrent_large_replies(tb, mc):
    a_val = random.Random(1).randbytes(60000)
    b_val = random.Random(2).randbytes(45000)
    store_big(mc, b"a", a_val)
    store_big(mc, b"b", b_val)
    a, b = tb.client(1), tb.client(1)
    # same request id on both sockets: replies must still go to the right port
    a.send_raw(mcudp.frame(77, b"get a\r\n"))
    b.send_raw(mcudp.frame(77, b"get b\r\n"))
    got_b = b.collect(77)
    got_a = a.collect(77)
    assert got_a == b"VALUE a 0 60000\r\n" + a_val + b"\r\nEND\r\n", "client a's reply differs"
    assert got_b == b"VALUE b 0 45000\r\n" + b_val + b"\r\nEND\r\n", "client b's reply differs"
    # one socket, several requests in flight, answered in order
    for rid in (10, 11, 12):
        a.send_raw(mcudp.frame(rid, b"get %s\r\n" % (b"a" if rid % 2 else b"b")))
    got10 = a.collect(10)
    assert got10.endswith(b_val + b"\r\nEND\r\n"), "request 10 (get b) differs"
    stray = a.stray
    got12 = a.collect(12)
    assert got12.endswith(b_val + b"\r\nEND\r\n"), "request 12 (get b) differs"
    assert a.stray > stray, "request 11's datagrams should have been skipped as strays"
    reply(a, "mn", "MN\r\n")


def test_multiget_spanning_datagrams(mc):
    keys = ["key_%03d" % i for i in range(150)]
    for i, k in enumerate(keys):
        if i % 3 == 0:
            reply(mc, "set %s %d 0 %d\r\n%s" % (k, i, len(k) * 4, k * 4), "STORED\r\n")
    want = b"".join(b"VALUE %s %d %d\r\n%s\r\n" % (k.encode(), i, len(k) * 4, k.encode() * 4)
                    for i, k in enumerate(keys) if i % 3 == 0) + b"END\r\n"
    got = mc.cmd("get " + " ".join(keys))
    assert got == want, "multi-get of 150 keys (50 present) differs"
    assert got.datagrams == ndgrams(len(want))


def test_hundred_clients_at_once(tb, mc):
    """100 sockets each ask for a 3-datagram value at the same moment: every one gets
    its whole reply, under its own request id."""
    value = random.Random(3).randbytes(3500)
    store_big(mc, b"v", value)
    want = b"VALUE v 0 3500\r\n" + value + b"\r\nEND\r\n"
    first = mc.cmd("stats")
    before = int(first.split(b"STAT udp_reply_datagrams ")[1].split(b"\r\n")[0])
    clients = [tb.client(1) for _ in range(100)]
    for i, c in enumerate(clients):
        c.send_raw(mcudp.frame(1000 + i, b"get v\r\n"))
    for i, c in enumerate(clients):
        got = c.collect(1000 + i)
        assert got == want, "client %d got a different reply (%d bytes)" % (i, len(got))
    sent = int(mc.stats()["udp_reply_datagrams"]) - before
    # 300 for the gets, plus the first stats reply (counted once it was sent)
    assert sent == 300 + first.datagrams, \
        "udp_reply_datagrams rose by %d for 100 3-datagram replies and a %d-datagram " \
        "one" % (sent, first.datagrams)
