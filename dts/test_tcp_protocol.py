"""test_tcp_protocol.py - memcached's text protocol over the node's own TCP, the
things a connection-oriented client relies on that the UDP suites cannot
show: many requests pipelined in one send with the replies in order, a
command cut into one-byte segments, replies bigger than the window in both
directions, quit and half-close, a line too long without a newline (the
connection is closed, as memcached does), a get line longer than 2048 bytes
(served), a connection that stays usable after every kind of error, a value
past --max-value whose data block is swallowed, connection counters, and a
RST for a closed port.
"""
import os
import random
import socket
import time

import pytest

from lib.expect import matches
from lib.mctcp import Closed, McTcp, wait_until
from lib.testbed import PORT, node_ip

pytestmark = pytest.mark.testbed("tcp")

BAD_FORMAT = b"CLIENT_ERROR bad command line format\r\n"
TOO_LARGE = b"SERVER_ERROR object too large for cache\r\n"


def check_replies(got, want, what):
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert matches(w, g), "%s: reply %d\n  wanted %r\n     got %r" % (what, i, w, g)


def test_pipelined_requests_in_one_send(mct):
    """300 mixed commands in one send(); 300 replies, in request order."""
    rnd = random.Random(7)
    req, want = [], []
    model = {}
    for i in range(300):
        k = "p%d" % rnd.randrange(40)
        op = rnd.choice(("set", "get", "delete", "incr", "append", "mn", "gets", "version"))
        if op == "set":
            v = str(rnd.randrange(10 ** rnd.randrange(1, 8)))
            req.append("set %s 0 0 %d\r\n%s\r\n" % (k, len(v), v))
            want.append("STORED\r\n")
            model[k] = v
        elif op in ("get", "gets"):
            req.append("%s %s\r\n" % (op, k))
            if k in model:
                v = model[k]
                cas = " #" if op == "gets" else ""
                want.append("VALUE %s 0 %d%s\r\n%s\r\nEND\r\n" % (k, len(v), cas, v))
            else:
                want.append("END\r\n")
        elif op == "delete":
            req.append("delete %s\r\n" % k)
            want.append("DELETED\r\n" if model.pop(k, None) is not None else "NOT_FOUND\r\n")
        elif op == "incr":
            req.append("incr %s 3\r\n" % k)
            if k in model:
                model[k] = str(int(model[k]) + 3)
                want.append(model[k] + "\r\n")
            else:
                want.append("NOT_FOUND\r\n")
        elif op == "append":
            req.append("append %s 0 0 1\r\n7\r\n" % k)
            if k in model:
                model[k] += "7"
                want.append("STORED\r\n")
            else:
                want.append("NOT_STORED\r\n")
        elif op == "mn":
            req.append("mn\r\n")
            want.append("MN\r\n")
        else:
            req.append("version\r\n")
            want.append("VERSION #.#.#-wirecache-#.#\r\n")
    mct.send("".join(req))
    check_replies(mct.replies(len(req)), want, "pipelined batch")


def test_noreply_writes_pipelined(mct):
    """200 noreply writes and one get in one send: exactly one reply, the last value."""
    data = "".join("set nr 0 0 %d noreply\r\n%d\r\n" % (len(str(i)), i) for i in range(200))
    mct.send(data + "get nr\r\n")
    assert mct.reply() == b"VALUE nr 0 3\r\n199\r\nEND\r\n"
    assert mct.cmd("mn") == b"MN\r\n", "stray replies after noreply writes"


def test_command_split_into_one_byte_segments(tb, mct):
    """A storage command and a get, one byte per segment (TCP_NODELAY, a pause between)."""
    before = tb.tcp_stats(1)["tcp_segments_in"]
    data = b"set split 0 0 10\r\n0123456789\r\nget split\r\n"
    for b in data:
        mct.send(bytes([b]))
        time.sleep(0.002)
    got = mct.replies(2)
    assert got == [b"STORED\r\n", b"VALUE split 0 10\r\n0123456789\r\nEND\r\n"], got
    after = tb.tcp_stats(1)["tcp_segments_in"]
    # the stats connections add a handful; the point is that the bytes came one by one
    assert after - before >= len(data), (
        "the node saw %d segments for %d one-byte sends: the test did not split the "
        "command" % (after - before, len(data)))


def test_value_split_across_odd_segments(mct):
    """A 5000-byte value sent in random small pieces, the line cut inside its CRLF."""
    rnd = random.Random(3)
    value = bytes(rnd.randrange(256) for _ in range(5000))
    data = b"set odd 0 0 5000\r\n" + value + b"\r\nget odd\r\n"
    cuts = sorted(rnd.sample(range(1, len(data)), 60)) + [16, 17, 5018, 5019]
    pos = 0
    for c in sorted(set(cuts)) + [len(data)]:
        mct.send(data[pos:c])
        pos = c
        time.sleep(0.001)
    got = mct.replies(2)
    assert got[0] == b"STORED\r\n", got[0]
    assert got[1] == b"VALUE odd 0 5000\r\n" + value + b"\r\nEND\r\n", "value not byte-exact"


def test_big_value_both_directions_in_one_send(mct):
    """set and get of a 1 MiB value in one send: more than either side's window at once."""
    value = os.urandom(1 << 20)
    mct.send(b"set big 0 0 %d\r\n%s\r\nget big\r\nmn\r\n" % (len(value), value))
    got = mct.replies(3, timeout=20)
    assert got[0] == b"STORED\r\n", got[0][:100]
    assert got[1] == b"VALUE big 0 %d\r\n%s\r\nEND\r\n" % (len(value), value), \
        "1 MiB value not returned byte-exact"
    assert got[2] == b"MN\r\n"


def test_quit_closes_the_connection(tb, mct):
    base = tb.telemetry(1)["curr_connections"]
    mct.send("quit\r\n")
    assert mct.wait_closed(5) == b"", "quit answered something"
    mct.close()
    # commands after quit in the same send are not run
    c = tb.tcp(1)
    c.send("set q 0 0 1\r\nx\r\nquit\r\nset q 0 0 1\r\ny\r\n")
    assert c.wait_closed(5) == b"STORED\r\n"
    c.close()
    c2 = tb.tcp(1)
    assert c2.cmd("get q") == b"VALUE q 0 1\r\nx\r\nEND\r\n", "a command after quit was run"
    c2.close()
    left = wait_until(lambda: tb.telemetry(1)["curr_connections"] <= base - 1, 5)
    assert left, ("curr_connections did not drop after quit and close (was %d with the test's "
                  "own, now %d)" % (base, tb.telemetry(1)["curr_connections"]))


def test_half_close_gets_its_replies(mct):
    """A client that shuts its sending side after its requests still gets every reply,
    then the node's FIN."""
    mct.send("set hc 0 0 2\r\nhi\r\nget hc\r\n")
    mct.sock.shutdown(socket.SHUT_WR)
    got = mct.wait_closed(5)
    assert got == b"STORED\r\nVALUE hc 0 2\r\nhi\r\nEND\r\n", got


def test_line_too_long_without_newline_closes(tb, mct):
    """2048 bytes and no newline: memcached gives up on the connection, and so does the node."""
    mct.send(b"x" * 2048)
    try:
        got = mct.wait_closed(5)
    except socket.timeout:
        pytest.fail("a 2048-byte line without a newline left the connection open")
    assert got == b"", "the node answered %r before closing" % got[:100]
    # a long line that does end is an ordinary (unknown) command
    c = tb.tcp(1)
    assert c.cmd(b"x" * 2000 + b"\r\n") == b"ERROR\r\n"
    assert c.cmd("mn") == b"MN\r\n"


def test_get_line_longer_than_2048_bytes(mct):
    keys = ["longline_key_%04d" % i for i in range(300)]
    for k in keys[::2]:
        assert mct.cmd("set %s 0 0 %d\r\n%s" % (k, len(k), k)) == b"STORED\r\n"
    line = "get " + " ".join(keys)
    assert len(line) > 2048 * 2
    want = b"".join(b"VALUE %s 0 %d\r\n%s\r\n" % (k.encode(), len(k), k.encode())
                    for k in keys[::2]) + b"END\r\n"
    assert mct.cmd(line) == want, "long get line: wrong reply"
    got = mct.cmd("gets " + " ".join(keys))
    assert got.count(b"VALUE ") == 150 and got.endswith(b"END\r\n")
    assert mct.cmd("mn") == b"MN\r\n"


ERROR_CASES = [
    (b"bogus\r\n", [b"ERROR\r\n"]),
    (b"\r\n", [b"ERROR\r\n"]),
    (b"GET foo\r\n", [b"ERROR\r\n"]),
    (b"set k 0 0 3\r\nabcde\r\n", [b"CLIENT_ERROR bad data chunk\r\n", b"ERROR\r\n"]),
    (b"set %s 0 0 1\r\nx\r\n" % (b"k" * 251), [BAD_FORMAT]),
    (b"get %s\r\n" % (b"k" * 251), [BAD_FORMAT]),
    (b"mg %s v\r\n" % (b"k" * 251), [BAD_FORMAT]),
    (b"set k 0 0 -1\r\n", [BAD_FORMAT]),
    (b"set k x 0 1\r\nx\r\n", [BAD_FORMAT]),
    (b"set k 0 0\r\n", [b"ERROR\r\n"]),
    (b"cas k 0 0 1\r\nx\r\n", [b"ERROR\r\n"]),
    (b"incr k abc\r\n", [b"CLIENT_ERROR invalid numeric delta argument\r\n"]),
    (b"decr k 18446744073709551616\r\n", [b"CLIENT_ERROR invalid numeric delta argument\r\n"]),
    (b"touch k y\r\n", [b"CLIENT_ERROR invalid exptime argument\r\n"]),
    (b"verbosity\r\n", [b"ERROR\r\n"]),
    (b"flush_all x\r\n", [b"CLIENT_ERROR invalid exptime argument\r\n"]),   # as memcached
    (b"ma k Jx\r\n", [b"CLIENT_ERROR invalid or duplicate flag\r\n"]),
    (b"ms k 2\r\nxyz\r\n", [b"CLIENT_ERROR bad data chunk\r\n", b"ERROR\r\n"]),
    (b"incr nokey 1\r\n", [b"NOT_FOUND\r\n"]),
    (b"delete nokey\r\n", [b"NOT_FOUND\r\n"]),
    (b"get\r\n", [b"ERROR\r\n"]),
]


@pytest.mark.parametrize("request_, want", ERROR_CASES, ids=[
    repr(r[:24])[2:-1] for r, _ in ERROR_CASES])
def test_connection_usable_after_error(mct, request_, want):
    assert mct.cmd("set ok 0 0 2\r\nok") == b"STORED\r\n"
    mct.send(request_)
    got = mct.replies(len(want), timeout=5)
    assert got == want, "for %r: wanted %r, got %r" % (request_[:60], want, got)
    assert mct.cmd("mn") == b"MN\r\n", "the connection is out of step after %r" % request_[:60]
    assert mct.cmd("get ok") == b"VALUE ok 0 2\r\nok\r\nEND\r\n"


def test_every_error_on_one_connection(mct):
    """All of the above in a row on one connection, then in one send."""
    for request_, want in ERROR_CASES:
        mct.send(request_)
        assert mct.replies(len(want), timeout=5) == want, request_[:60]
    mct.send(b"".join(r for r, _ in ERROR_CASES) + b"mn\r\n")
    want = [w for _, ws in ERROR_CASES for w in ws] + [b"MN\r\n"]
    assert mct.replies(len(want), timeout=5) == want
    assert mct.cmd("mn") == b"MN\r\n"


def test_value_past_max_value_is_swallowed(mct):
    """--max-value 1m: a 2,000,000-byte set is refused up front and its data block read and
    thrown away (as memcached does), so the commands after it are still in step."""
    big = 2000000
    mct.send(b"set huge 0 0 %d\r\n" % big)
    assert mct.reply(5) == TOO_LARGE
    chunk = b"mn\r\n" * 1000       # would be answered if it were not swallowed
    sent = 0
    while sent < big:
        n = min(len(chunk), big - sent)
        mct.send(chunk[:n])
        sent += n
    mct.send(b"\r\nget huge\r\nmn\r\n")
    assert mct.replies(2, timeout=10) == [b"END\r\n", b"MN\r\n"]


def test_connection_counters(tb, mct):
    tb.settled_connections(1)
    before = tb.tcp_stats(1)
    extra = [tb.tcp(1) for _ in range(5)]
    for c in extra:
        assert c.cmd("mn") == b"MN\r\n"
    during = tb.tcp_stats(1)
    assert during["curr_connections"] == before["curr_connections"] + 5, (before, during)
    assert during["total_connections"] >= before["total_connections"] + 6
    for c in extra:
        c.close()
    ok = wait_until(lambda: tb.telemetry(1)["curr_connections"] <= before["curr_connections"] - 1,
                    5)
    assert ok, "curr_connections stayed at %d after closing 5 connections" % (
        tb.telemetry(1)["curr_connections"])


def test_connection_churn(tb):
    """300 connections one after another, each with a write and a read: nothing leaks."""
    base = tb.telemetry(1)["curr_connections"]
    for i in range(300):
        with McTcp(node_ip(1), PORT, timeout=5) as c:
            assert c.cmd("set churn 0 0 %d\r\n%d" % (len(str(i)), i)) == b"STORED\r\n"
            assert c.cmd("get churn") == b"VALUE churn 0 %d\r\n%d\r\nEND\r\n" % (
                len(str(i)), i)
    ok = wait_until(lambda: tb.telemetry(1)["curr_connections"] <= base, 5)
    assert ok, "after 300 short connections curr_connections is %d (was %d)" % (
        tb.telemetry(1)["curr_connections"], base)


def test_closed_port_refused(tb):
    before = tb.telemetry(1)["tcp_resets_sent"]
    s = tb.track(socket.socket())
    s.settimeout(5)
    with pytest.raises(ConnectionRefusedError):
        s.connect((node_ip(1), PORT + 1))
    after = tb.wait_telemetry(1, "tcp_resets_sent", before + 1)
    assert after >= before + 1, "no RST counted for a SYN to a closed port"


def _big_reply(tb, c, request, n_replies, what):
    """Send request; its n_replies replies, or a test failure saying how the node gave up."""
    before = tb.telemetry(1)
    c.send(request)
    try:
        return c.replies(n_replies, timeout=30)
    except Closed as e:
        err = str(e)
    after = tb.telemetry(1)
    delta = {k: after[k] - before[k] for k in ("tcp_resets_sent", "drop_no_mbuf")}
    pytest.fail("%s: the node gave up on the connection: %s; counters moved %s. memcached "
                "streams such replies as the client reads them; the node appears to write the "
                "whole of it into mbufs before TCP sends any (a multi-get's values, or the "
                "replies to every request already received) and to reset the connection when "
                "its mbuf pool (8256 mbufs of 2 KiB with one worker) runs out" % (
                    what, err, delta),
                pytrace=False)


def test_multi_get_of_large_values(tb, mct):
    """A get of 16 values of 1,000,000 bytes: 16 MB of reply to one command, which memcached
    streams, flow-controlled by the client's window."""
    rnd = random.Random(5)
    values = {}
    for i in range(16):
        v = rnd.randbytes(1000000)
        values["mg%02d" % i] = v
        assert mct.cmd(b"set mg%02d 0 0 %d\r\n%s" % (i, len(v), v)) == b"STORED\r\n"
    want = b"".join(b"VALUE %s 0 %d\r\n%s\r\n" % (k.encode(), len(v), v)
                    for k, v in values.items()) + b"END\r\n"
    got = _big_reply(tb, mct, ("get " + " ".join(values) + "\r\n").encode(), 1,
                     "a multi-get of 16 x 1,000,000-byte values (16 MB reply)")
    assert got[0] == want, "multi-get of large values: reply not byte-exact"
    assert mct.cmd("mn") == b"MN\r\n"


def test_pipelined_gets_of_a_large_value(tb, mct):
    """40 gets of a 500 KB value in one send: 20 MB of replies to a client that reads them."""
    v = random.Random(6).randbytes(500000)
    assert mct.cmd(b"set half 0 0 %d\r\n%s" % (len(v), v)) == b"STORED\r\n"
    got = _big_reply(tb, mct, b"get half\r\n" * 40, 40,
                     "40 pipelined gets of a 500 KB value (20 MB of replies)")
    assert all(g == b"VALUE half 0 500000\r\n" + v + b"\r\nEND\r\n" for g in got), \
        "pipelined large replies not byte-exact"
    assert mct.cmd("mn") == b"MN\r\n"
