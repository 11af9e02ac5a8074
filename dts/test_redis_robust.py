"""test_redis_robust.py - the node's Redis port over real TCP when clients
misbehave (layout "redis": two workers, --request-timeout 3, 256 MiB with
--upload-buffer 32M):

- cross-protocol: an HTTP request (POST / with a Host: line, or a multibulk
  whose argument is "Host:") is hung up on without a byte and counted;
- protocol errors close the connection right after the error, byte for byte
  as Debian's redis-server closes it;
- a client that pipelines a million GETs and reads nothing at first: the
  node stops reading it when its replies cannot leave (nothing is dropped),
  other clients are served all along within a bound, and once the client
  reads, every one of the million replies comes, in order; one that never
  reads is reset --request-timeout after the node last took its bytes;
- slow large uploads (SETs of 1 MB values stalled 100 KB short, more of them
  than the stage pool holds) do not starve a client doing SET/GET every 200 ms,
  and go after --request-timeout, giving the stage back; no partial value is
  stored.
Every loop and wait is bounded; every socket is closed at the end.
"""
import multiprocessing
import selectors
import socket
import time

import pytest

from lib.resp import Resp, RedisServer, encode
from lib.testbed import node_ip
from lib.uploads import fate, open_stalled

pytestmark = pytest.mark.testbed("redis")


@pytest.fixture(scope="module")
def ref():
    srv = RedisServer(26420)
    yield srv
    srv.close()


def closes_after(c, data, timeout=5.0):
    c.send(data)
    return c.wait_closed(timeout)


def test_http_is_hung_up_on_silently(tb, rd):
    before = tb.telemetry(1)["cross_protocol_closed"]
    reqs = [b"POST / HTTP/1.1\r\nHost: example\r\nContent-Length: 3\r\n\r\nabc",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"*1\r\n$5\r\nHost:\r\n",
            b"POST /x HTTP/1.0\r\n",
            b"SET a b\r\nPOST / HTTP/1.1\r\nHost: x\r\n\r\n"]
    for req in reqs:
        c = tb.track(Resp(node_ip(1)))
        closed, got = closes_after(c, req)
        want = b"+OK\r\n" if req.startswith(b"SET") else b""
        assert closed and got == want, "%r: closed %s, got %r" % (req, closed, got)
    after = tb.wait_telemetry(1, "cross_protocol_closed", before + len(reqs))
    assert after - before == len(reqs), "cross_protocol_closed rose by %d" % (after - before)
    assert rd("PING") == "PONG"


PROTOCOL_ERRORS = [
    b"*2\r\n$3\r\nGET\r\n%3\r\n",
    b"*1\r\n$-5\r\n",
    b"*2\r\n$3\r\nGET\r\n$03\r\nfoo\r\n",
    b"*02\r\n$3\r\nGET\r\n$3\r\nfoo\r\n",
    b"*x\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n",
    b"*1\r\nfoo\r\n",
    b"SET \"a b\r\n",
    b"SET 'a\r\n",
    b"x" * 70000,
]


@pytest.mark.parametrize("req", PROTOCOL_ERRORS, ids=lambda r: repr(r[:24]))
def test_protocol_error_closes_like_redis(tb, rd, ref, req):
    got = []
    for c in (tb.track(Resp(node_ip(1))), tb.track(ref.connect())):
        c.send(b"PING\r\n")
        assert c.reply() == b"+PONG\r\n"
        got.append(closes_after(c, req))
    assert got[0] == got[1], "node: %r, redis-server: %r" % (got[0], got[1])
    assert got[0][0] and got[0][1].startswith(b"-ERR Protocol error: "), got[0]
    assert rd("PING") == "PONG"


def test_errors_that_do_not_close(tb, rd, ref):
    """Command errors keep the connection: the next command is answered."""
    req = (encode("GET") + encode("NOSUCH") + b"\r\n" + encode("SET", "k", "v", "EX", "x") +
           b"   \r\n" + encode("GET", "k") + b"PING\r\n")
    got = []
    for c in (tb.track(Resp(node_ip(1))), tb.track(ref.connect())):
        c.send(req)
        got.append(c.replies(5))
    assert got[0] == got[1] and got[0][-1] == b"+PONG\r\n", got


# ---- a million pipelined commands from a client that does not read ----

N_PIPE = 1000000
VALUE = b"v" * 40
GET_REQ = encode("GET", "pk")
GET_REPLY = b"$%d\r\n%s\r\n" % (len(VALUE), VALUE)


def _served_meanwhile(stop, conn):
    """Another client: SET/GET every 50 ms until stop; sends back (ops, failures, max s)."""
    n, fails, worst = 0, [], 0.0
    try:
        c = Resp(node_ip(1), timeout=3.0)
        while not stop.is_set():
            t = time.monotonic()
            try:
                ok = c.raw("SET", "side", n) == b"+OK\r\n" and c.raw("GET", "side") == \
                    b"$%d\r\n%d\r\n" % (len(str(n)), n)
                if not ok:
                    fails.append("wrong reply")
            except Exception as e:  # noqa: BLE001 - reported
                fails.append("%s: %s" % (type(e).__name__, e))
                c.close()
                c = Resp(node_ip(1), timeout=3.0)
            worst = max(worst, time.monotonic() - t)
            n += 1
            time.sleep(0.05)
        c.close()
    finally:
        conn.send((n, fails[:5], len(fails), worst))
        conn.close()


def _rest(chunk, sent, total):
    """What to send next of total bytes made of chunk repeated, sent of them gone already
    (a send may take part of a chunk)."""
    off = sent % len(chunk)
    return chunk[off:off + min(len(chunk) - off, total - sent)]


def _start_side(ctx):
    parent_end, child_end = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    side = ctx.Process(target=_served_meanwhile, args=(stop, child_end))
    side.start()
    child_end.close()
    return side, stop, parent_end


def _stop_side(side, stop, parent_end):
    stop.set()
    got = parent_end.recv() if parent_end.poll(10) else None
    side.join(5)
    if side.is_alive():
        side.kill()
        side.join(5)
    return got


def _push_until_stalled(tb, s, chunk, total, quiet_s, limit_s=30):
    """Send (non-blocking) until total bytes are gone or the node took nothing for quiet_s;
    returns (bytes sent, True when it stalled, the largest upload_buffer_in_use seen)."""
    sent, peak = 0, 0
    t0 = last = time.monotonic()
    while sent < total and time.monotonic() - t0 < limit_s:
        try:
            sent += s.send(_rest(chunk, sent, total))
            last = time.monotonic()
        except BlockingIOError:
            if time.monotonic() - last > quiet_s:
                return sent, True, peak
            peak = max(peak, tb.telemetry(1)["upload_buffer_in_use"])
            time.sleep(0.05)
    return sent, False, peak


def test_million_pipelined_commands_read_late(tb, rd):
    """A million GETs in one pipeline from a client that reads nothing at first: the node
    stops taking requests once their replies cannot leave (it does not buffer the
    pipeline), others are served meanwhile, nothing is dropped; then the client reads, and
    every one of the million replies comes, in order."""
    assert rd("SET", "pk", VALUE) == "OK"
    before = tb.telemetry(1)
    side, stop, side_end = _start_side(multiprocessing.get_context("fork"))
    s = tb.track(socket.socket())
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.connect((node_ip(1), 6379))
    s.setblocking(False)
    chunk = GET_REQ * 10000
    total = len(GET_REQ) * N_PIPE
    got, pending, side_result = 0, b"", None
    try:
        # (stalled after 1 s without progress: well within --request-timeout 3)
        sent, stalled, peak = _push_until_stalled(tb, s, chunk, total, 1.0)
        stalled_at = sent
        mid = tb.telemetry(1)
        side_result = _stop_side(side, stop, side_end)
        sel = selectors.DefaultSelector()
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
        deadline = time.monotonic() + 120
        rep = GET_REPLY * 1000
        while got < N_PIPE and time.monotonic() < deadline:
            for _, ev in sel.select(timeout=1.0):
                if ev & selectors.EVENT_WRITE and sent < total:
                    try:
                        sent += s.send(_rest(chunk, sent, total))
                    except BlockingIOError:
                        pass
                    if sent >= total:
                        sel.modify(s, selectors.EVENT_READ)
                if ev & selectors.EVENT_READ:
                    try:
                        d = s.recv(1 << 20)
                    except BlockingIOError:
                        continue
                    assert d, "the node closed after %d replies" % got
                    pending += d
                    whole = len(pending) // len(GET_REPLY)
                    body = pending[:whole * len(GET_REPLY)]
                    for k in range(0, len(body), len(rep)):
                        part = body[k:k + len(rep)]
                        assert part == rep[:len(part)], "reply %d is wrong: %r" % (
                            got + k // len(GET_REPLY), part[:80])
                    got += whole
                    pending = pending[whole * len(GET_REPLY):]
        sel.close()
    finally:
        if side_result is None:
            side_result = _stop_side(side, stop, side_end)
        s.close()
    after = tb.telemetry(1)
    info = "stalled %s after %d of %d bytes; stage peak %d; side client %s; drops %s" % (
        stalled, stalled_at, total, peak, side_result,
        {k: after[k] - before[k] for k in after if k.startswith("drop_") and after[k] != before[k]})
    print(info)
    assert stalled and stalled_at < total // 2, "the node took in the pipeline unread: %s" % info
    assert got == N_PIPE and pending == b"", "read %d of %d replies: %s" % (got, N_PIPE, info)
    assert mid["drop_no_mbuf"] == before["drop_no_mbuf"], "mbufs ran out: %s" % info
    assert after["drop_no_mbuf"] == before["drop_no_mbuf"] and \
        after["drop_tx_full"] == before["drop_tx_full"], info
    assert after["tcp_request_timeouts"] == before["tcp_request_timeouts"], info
    n, fails, nfails, worst = side_result
    assert n >= 10 and nfails == 0 and worst < 1.0, "the other client: %s" % info
    assert rd("GET", "pk") == VALUE


def test_pipeline_never_read_is_reset(tb, rd):
    """A client that pipelines a million GETs and never reads: the node stops reading it,
    serves others meanwhile, and resets it --request-timeout (3 s) after the last bytes it
    took, giving back what it held; nothing is dropped."""
    assert rd("SET", "pk", VALUE) == "OK"
    before = tb.telemetry(1)
    base_conns = tb.settled_connections(1)
    side, stop, side_end = _start_side(multiprocessing.get_context("fork"))
    s = tb.track(socket.socket())
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.connect((node_ip(1), 6379))
    s.setblocking(False)
    side_result, fate, t_reset = None, None, None
    try:
        sent, stalled, _ = _push_until_stalled(tb, s, GET_REQ * 10000, len(GET_REQ) * N_PIPE, 1.0)
        t_stall = time.monotonic()
        deadline = t_stall + 3 + 5
        while time.monotonic() < deadline:
            if tb.telemetry(1)["tcp_request_timeouts"] > before["tcp_request_timeouts"]:
                t_reset = time.monotonic() - t_stall
                break
            time.sleep(0.1)
        side_result = _stop_side(side, stop, side_end)
        try:
            while s.recv(1 << 20):
                pass
            fate = "eof"
        except ConnectionResetError:
            fate = "reset"
        except BlockingIOError:
            fate = "open"
    finally:
        if side_result is None:
            side_result = _stop_side(side, stop, side_end)
        s.close()
    after = tb.telemetry(1)
    info = "stalled %s after %d bytes; reset %s s after; fate %s; side client %s" % (
        stalled, sent, t_reset, fate, side_result)
    print(info)
    assert stalled, info
    assert t_reset is not None and after["tcp_request_timeouts"] == \
        before["tcp_request_timeouts"] + 1 and fate == "reset", info
    assert after["drop_no_mbuf"] == before["drop_no_mbuf"] and \
        after["drop_tx_full"] == before["drop_tx_full"], info
    n, fails, nfails, worst = side_result
    assert n >= 10 and nfails == 0 and worst < 1.0, "the other client: %s" % info
    assert tb.settled_connections(1) <= base_conns, info


# ---- slow large uploads ----

N_HOGS = 60
DECLARED = 1000000
SENT = 900 * 1000


def _good_client(conn, stop, limit_s):
    out, n = [], 0
    t0 = time.monotonic()
    c = None
    try:
        c = Resp(node_ip(1), timeout=2.0)
        while not stop.is_set() and time.monotonic() - t0 < limit_s:
            tick = time.monotonic()
            val = b"%08d" % n
            for op, req, want in (("set", encode("SET", "good", val), b"+OK\r\n"),
                                  ("get", encode("GET", "good"), b"$8\r\n" + val + b"\r\n")):
                t = time.monotonic()
                try:
                    c.send(req)
                    got = c.reply()
                    err = None if got == want else "answered %r" % got[:80]
                except Exception as e:  # noqa: BLE001 - every failure is reported
                    err = "%s: %s" % (type(e).__name__, e)
                    c.close()
                    c = Resp(node_ip(1), timeout=2.0)
                out.append((t - t0, op, time.monotonic() - t, err))
            n += 1
            time.sleep(max(0.0, 0.2 - (time.monotonic() - tick)))
    except Exception as e:  # noqa: BLE001
        out.append((time.monotonic() - t0, "client", 0.0, "%s: %s" % (type(e).__name__, e)))
    finally:
        if c:
            c.close()
        conn.send(out)
        conn.close()


def test_slow_uploads_do_not_starve_others(tb, rd):
    req_s = 3                                     # the layout's --request-timeout
    before = tb.telemetry(1)
    ctx = multiprocessing.get_context("fork")
    parent_end, child_end = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    good = ctx.Process(target=_good_client, args=(child_end, stop, 40))
    good.start()
    child_end.close()
    hogs, sent, errors, ops = [], {}, [], None
    t_reset = None
    try:
        time.sleep(0.6)
        t_send = time.monotonic()
        hogs, sent, errors = open_stalled(
            node_ip(1), 6379, N_HOGS,
            lambda i: b"*3\r\n$3\r\nSET\r\n$%d\r\nhog%d\r\n$%d\r\n" % (
                len(b"hog%d" % i), i, DECLARED), SENT, 32, time.monotonic() + 15)
        deadline = time.monotonic() + 3 * req_s + 10
        peak = 0
        while time.monotonic() < deadline:
            tel = tb.telemetry(1)
            peak = max(peak, tel["upload_buffer_in_use"])
            if tel["tcp_request_timeouts"] - before["tcp_request_timeouts"] >= N_HOGS:
                t_reset = time.monotonic() - t_send
                break
            time.sleep(0.2)
        time.sleep(0.6)
    finally:
        stop.set()
        if parent_end.poll(15):
            ops = parent_end.recv()
        good.join(5)
        if good.is_alive():
            good.kill()
            good.join(5)
        fates = {}
        for s in hogs:
            f = fate(s)
            fates[f] = fates.get(f, 0) + 1
            s.close()
    after = tb.telemetry(1)
    delta = {k: after[k] - before[k] for k in (
        "uploads_staged", "upload_buffer_waits", "tcp_request_timeouts", "drop_no_mbuf",
        "drop_tx_full")}
    fails = [o for o in (ops or []) if o[3]]
    slow = [o for o in (ops or []) if not o[3] and o[2] > 1.0]
    info = "hogs %d (errors %s), fates %s, reset after %s s, stage peak %.1f MiB, %s; good " \
        "client: %d ops, failures %s, slow %s" % (
            len(hogs), errors[:3], fates, t_reset, peak / 1048576.0, delta, len(ops or []),
            fails[:3], slow[:3])
    print(info)
    assert ops is not None, "the good client sent back nothing"
    assert len(hogs) == N_HOGS and not errors and all(v == SENT for v in sent.values()), info
    assert delta["uploads_staged"] > 0 and delta["upload_buffer_waits"] > 0, info
    assert not fails and not slow, info
    assert t_reset is not None and N_HOGS <= delta["tcp_request_timeouts"] <= N_HOGS + 2, info
    assert fates.get("reset") == N_HOGS, info
    assert delta["drop_no_mbuf"] == 0 and delta["drop_tx_full"] == 0, info
    deadline = time.monotonic() + 3
    while tb.telemetry(1)["upload_buffer_in_use"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tb.telemetry(1)["upload_buffer_in_use"] == 0, "the stage pool was not given back"
    assert rd("EXISTS", *["hog%d" % i for i in range(N_HOGS)]) == 0, "a partial value was stored"
    big = bytes(range(256)) * 3900
    assert rd("SET", "big", big) == "OK" and rd("GET", "big") == big
