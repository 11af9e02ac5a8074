"""test_tcp_faults.py - memcached over TCP on a bad link: 5% loss, 1% duplication,
and 25% reordering with 10 ms of delay, each in both directions of the
client's link to node 1 (client -> node and node -> client).

The kernels these suites run on may have no sch_netem (`tc qdisc ... netem`
answers "Specified qdisc kind is unknown" where CONFIG_NET_SCH_NETEM is off),
so lib/impair.py does netem's job in userspace: node 1's tap leaves the
bridge, a veth takes its place, and a forwarder process between the two
drops, duplicates or delays-and-reorders TCP frames with netem's semantics.
Each condition runs a few hundred operations through pymemcache (each bounded
by a 10 s timeout: a stalled connection fails the test), checks every reply,
then three 1 MiB set/get round trips on connections of their own (each
bounded), and checks that the node's TCP counters show it recovered from
what was done to it. The link is put back after each condition, also when it
fails.
"""
import os
import random
import socket
import struct
import time

import pytest
from pymemcache.client.base import Client

from lib import impair
from lib.mctcp import Closed, McTcp
from lib.testbed import PORT, node_ip

pytestmark = pytest.mark.testbed("tcp")

CONDITIONS = {
    "loss5": dict(loss=5),
    "dup1": dict(dup=1),
    "reorder25_delay10ms": dict(delay_ms=10, reorder=25),
}
OPS = {"loss5": 150, "dup1": 600, "reorder25_delay10ms": 150}
BIG = 1 << 20
BIG_ROUND_TRIPS = 3
BIG_LIMIT_S = 20

COUNTERS = ("tcp_retransmits", "tcp_fast_retransmits", "tcp_rto_timeouts",
            "tcp_out_of_order_held", "tcp_out_of_order_dropped", "tcp_dup_acks",
            "tcp_out_of_window", "tcp_resets_sent", "tcp_aborted")


def _delta(before, after):
    return {k: after[k] - before[k] for k in COUNTERS}


def tcp_info(sock):
    """The client kernel's view of a connection (struct tcp_info, the fields used here)."""
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except OSError:
        return {}
    f = struct.unpack("8B24I", raw[:104])
    opts = f[5]
    return {"ca_state": f[1], "backoff": f[4], "rto_ms": f[8] // 1000,
            "options": "+".join(n for b, n in ((1, "ts"), (2, "sack"), (4, "wscale"))
                                if opts & b) or "none",
            "unacked": f[12], "lost": f[14], "retrans": f[15], "total_retrans": f[31]}


def _big_round_trip(value, limit):
    """set and get value on a fresh connection; (ok, seconds, what went wrong)."""
    t0 = time.monotonic()
    c = McTcp(node_ip(1), PORT, timeout=limit)
    phase = "set"
    try:
        c.send(b"set faultbig 0 0 %d\r\n" % len(value) + value + b"\r\n")
        left = limit - (time.monotonic() - t0)
        got = c.reply(max(left, 0.1))
        if got != b"STORED\r\n":
            return False, time.monotonic() - t0, "set answered %r" % got[:100]
        t_set = time.monotonic() - t0
        phase = "get"
        c.send(b"get faultbig\r\n")
        left = limit - (time.monotonic() - t0)
        got = c.reply(max(left, 0.1))
        if got != b"VALUE faultbig 0 %d\r\n%s\r\nEND\r\n" % (len(value), value):
            return False, time.monotonic() - t0, "get not byte-exact (%d bytes)" % len(got)
        return True, time.monotonic() - t0, "set %.2fs" % t_set
    except (socket.timeout, Closed, OSError) as e:
        info = tcp_info(c.sock)
        # abort (RST), or the kernel would go on sending the rest into the next condition
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False, time.monotonic() - t0, "the %s: %s: %s; the client's TCP: %s" % (
            phase, type(e).__name__, str(e)[:120], info)
    finally:
        c.close()


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_faulty_link(tb, mct, name):
    cond = CONDITIONS[name]
    rnd = random.Random(name)
    before = tb.tcp_stats(1)
    big = os.urandom(BIG)
    errors = []
    with impair.Link(node=1, seed=11, **cond) as link:
        t0 = time.monotonic()
        pmc = tb.track(Client((node_ip(1), PORT), connect_timeout=10, timeout=10,
                              no_delay=True))
        model = {}
        for i in range(OPS[name]):
            k = "f%d" % rnd.randrange(100)
            v = rnd.randbytes(rnd.choice((1, 10, 100, 1000, 3000, 20000)))
            try:
                assert pmc.set(k, v, noreply=False) is True, "set %s not stored" % k
                model[k] = v
                got = pmc.get(k)
            except (socket.timeout, OSError) as e:
                errors.append("op %d (%s of %d bytes): %s: %s (after %.1fs)" % (
                    i, k, len(v), type(e).__name__, e, time.monotonic() - t0))
                break
            if got != v:
                errors.append("op %d: get %s returned %r..., not the %d bytes set" % (
                    i, k, (got or b"")[:40], len(v)))
                break
        if not errors:
            try:
                got = pmc.get_many(list(model))
                if got != model:
                    errors.append("get_many of %d keys: %d wrong" % (
                        len(model), sum(1 for k in model if got.get(k) != model[k])))
            except (socket.timeout, OSError) as e:
                errors.append("get_many: %s: %s" % (type(e).__name__, e))
        t_ops = time.monotonic() - t0
        bigs = []
        for _ in range(BIG_ROUND_TRIPS):
            ok, t_big, how = _big_round_trip(big, BIG_LIMIT_S)
            bigs.append("%.1fs" % t_big if ok else "FAILED after %.1fs (%s)" % (t_big, how))
            if not ok:
                break
    after = tb.tcp_stats(1)
    d = _delta(before, after)
    info = "%s: %d ops in %.1fs; 1 MiB set/get round trips: %s; node counters moved %s; " \
           "link %s" % (name, OPS[name], t_ops, ", ".join(bigs), d, link.stats)
    print(info)
    assert not errors, "%s\n%s" % ("\n".join(errors), info)
    # the impairment really happened, both ways
    for direction in ("to_node", "to_client"):
        s = link.stats[direction]
        done = s["dropped"] if "loss" in cond else s["duplicated"] if "dup" in cond else \
            s["overtaking"]
        assert done > 0, "the forwarder did nothing %s: %s" % (direction, info)
    assert ok, ("a 1 MiB set/get round trip did not complete within %ds on the faulty link "
                "(%s)\n%s\nLook at the client's 'backoff' and 'rto_ms' and at its options: "
                "a stuck loss recovery shows there (the node offers SACK and timestamps)." % (
                    BIG_LIMIT_S, how, info))
    # and the node's TCP saw it and recovered
    if "loss" in cond:
        assert d["tcp_retransmits"] > 0, "no retransmits counted under 5%% loss: %s" % info
    if "reorder" in cond:
        assert d["tcp_out_of_order_held"] > 0, "no out-of-order segments held: %s" % info
    if "dup" in cond:
        assert d["tcp_out_of_window"] + d["tcp_dup_acks"] > 0, \
            "duplicates left no trace in the counters: %s" % info
    # (a RST may answer a duplicate of a segment of a connection already closed: that is
    # TCP, not a failure; the node giving up on a live connection would be)
    assert d["tcp_aborted"] == 0, "the node aborted connections: %s" % info
    # the link is back: the connection from before still works, at full speed
    assert mct.cmd("mn", timeout=5) == b"MN\r\n"
