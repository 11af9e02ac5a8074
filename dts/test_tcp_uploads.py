"""test_tcp_uploads.py - slow uploads must not starve everyone else (layout "uploads":
--memory 256M with --upload-buffer 32M, room for 32 staged 1 MB values; values up
to 1 MiB; --request-timeout 10, stated so as not to rely on the default).

The attack: 300 TCP connections each send `set hogN 0 0 1000000`, then 900 KB
of the value, and go silent (non-blocking sockets driven by epoll; each
socket's send buffer takes the whole 900 KB at once, so the kernel keeps
offering what the node has not taken yet). Without the stage pool every one
of them would sit on NIC buffers until the node ran out and served nobody.
32 of them are staged; the others wait for stage room, held to a 16 KiB
window each.

Meanwhile a well-behaved client (a process of its own) does a small set and
get every 200 ms over TCP and over UDP, from before the attack until the
stalled connections are gone (about 21 s, 8.5 of them with all 300 stalled).
It must never fail and never wait 1 s for a reply. Over UDP it behaves as a
memcached UDP client does and sends a request again after 0.3 s without a
reply (at most twice, so still within the 1 s bound): the bulk TCP traffic
can overflow the kernel's queue towards the node's tap (those frames never
reach the node; the test prints how many), and a lost datagram is not the
node's doing. The retries are counted and bounded, and the node must have
dropped nothing for want of buffers.

Then, still silent, the stalled connections are reset --request-timeout after
their last data: those waiting for stage room at once, the staged ones a
moment later; the waiters that get the stage room these free receive the
rest of their 900 KB from their kernels then, and go one request timeout
later. tcp_request_timeouts rises by 300, every hog socket sees the reset,
the stage pool is empty again, no hog key was stored, and a 1 MB set and get
works. The numbers (staged vs waiting uploads, pressure refusals, the good
client's latencies) are printed. Bounded: about 30 s in all; every socket is
closed, and a node that died fails the test and is brought up afresh.
"""
import multiprocessing
import os
import subprocess
import time

import pytest

from lib.mctcp import McTcp, wait_until
from lib.mcudp import McTimeout, McUdp
from lib.testbed import PORT, node_ip
from lib.uploads import fate, open_stalled

pytestmark = pytest.mark.testbed("uploads")

N_HOGS = 300
DECLARED = 1000000          # the value length each hog announces
SENT = 900 * 1000           # what each hog sends of it before going silent
IN_FLIGHT = 64              # handshakes at once while the hogs connect
SEND_LIMIT_S = 15           # connecting and sending, all hogs
GOOD_PERIOD_S = 0.2
GOOD_OP_TIMEOUT_S = 2.0     # a reply later than this is a failure (the bound asserted is 1 s)
UDP_TRIES, UDP_TRY_S = 3, 0.3  # a UDP client retries a lost request, within the 1 s bound
LATENCY_BOUND_S = 1.0
MIN_STALL_S = 8.0           # the good client must be checked over at least this much stall


# ---- the well-behaved client (a process of its own) ----

def _udp_cmd(udp, req, retries):
    """A UDP request as a memcached UDP client makes it: sent again (under a new request
    id) when no reply came within UDP_TRY_S, at most UDP_TRIES times in all."""
    for attempt in range(UDP_TRIES - 1):
        try:
            return udp.cmd(req, timeout=UDP_TRY_S)
        except McTimeout:
            retries[0] += 1
    return udp.cmd(req, timeout=UDP_TRY_S)


def _good_client(conn, stop, limit_s):
    """Every GOOD_PERIOD_S: set and get a small value over TCP, then over UDP. Sends back
    (list of (start offset s, op, latency s, error or None), UDP retries)."""
    out = []
    t0 = time.monotonic()
    tcp = udp = None
    retries = [0]
    try:
        tcp = McTcp(node_ip(1), PORT, timeout=GOOD_OP_TIMEOUT_S)
        udp = McUdp(node_ip(1), PORT, timeout=GOOD_OP_TIMEOUT_S)
        n = 0
        while not stop.is_set() and time.monotonic() - t0 < limit_s:
            tick = time.monotonic()
            val = b"%08d" % n
            for op, fn, want in (
                    ("tcp set", lambda: tcp.cmd(b"set good_t 0 0 8\r\n" + val), b"STORED\r\n"),
                    ("tcp get", lambda: tcp.cmd(b"get good_t"),
                     b"VALUE good_t 0 8\r\n" + val + b"\r\nEND\r\n"),
                    ("udp set", lambda: _udp_cmd(udp, b"set good_u 0 0 8\r\n" + val, retries),
                     b"STORED\r\n"),
                    ("udp get", lambda: _udp_cmd(udp, b"get good_u", retries),
                     b"VALUE good_u 0 8\r\n" + val + b"\r\nEND\r\n")):
                t = time.monotonic()
                try:
                    got = fn()
                    err = None if got == want else "answered %r" % got[:80]
                except Exception as e:  # noqa: BLE001 - every failure is reported, by kind
                    err = "%s: %s" % (type(e).__name__, e)
                    if op.startswith("udp"):
                        udp.drain()
                out.append((t - t0, op, time.monotonic() - t, err))
                if err and op.startswith("tcp"):
                    # a broken stream is out of sync: go on with a new connection
                    tcp.close()
                    tcp = McTcp(node_ip(1), PORT, timeout=GOOD_OP_TIMEOUT_S)
            n += 1
            time.sleep(max(0.0, GOOD_PERIOD_S - (time.monotonic() - tick)))
    except Exception as e:  # noqa: BLE001
        out.append((time.monotonic() - t0, "client", 0.0, "%s: %s" % (type(e).__name__, e)))
    finally:
        for c in (tcp, udp):
            if c:
                c.close()
        conn.send((out, retries[0]))
        conn.close()


# ---- the hogs ----

def _pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def _link_drops():
    """Frames the kernel dropped on their way to node 1 (wct1's TX queue was full)."""
    out = subprocess.run(["ip", "-s", "link", "show", "wct1"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, timeout=5, check=False).stdout
    lines = out.splitlines()
    for k, ln in enumerate(lines):
        if ln.strip().startswith("TX:") and k + 1 < len(lines):
            return int(lines[k + 1].split()[3])
    return -1


def test_slow_uploads_do_not_starve_the_node(tb):
    with McTcp(node_ip(1), PORT) as c:
        req_s = int(c.stats("settings")["request_timeout"])
        assert c.cmd("flush_all") == b"OK\r\n"
    assert 0 < req_s <= 10, "layout 'uploads' should set a short --request-timeout, not %d" % req_s
    before = tb.tcp_stats(1)
    base_conns = tb.settled_connections(1)
    link_before = _link_drops()

    ctx = multiprocessing.get_context("fork")
    parent_end, child_end = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    good = ctx.Process(target=_good_client, args=(child_end, stop, SEND_LIMIT_S + 3 * req_s))
    good.start()
    child_end.close()
    hogs, sent, errors, samples, got = [], {}, [], [], None
    t_first_reset = t_all_reset = None
    t0 = time.monotonic()
    try:
        time.sleep(1.0)                                   # the good client alone first
        t_send = time.monotonic() - t0
        hogs, sent, errors = open_stalled(
            node_ip(1), PORT, N_HOGS, lambda i: b"set hog%d 0 0 %d\r\n" % (i, DECLARED), SENT,
            IN_FLIGHT, time.monotonic() + SEND_LIMIT_S)
        t_stalled = time.monotonic() - t0
        # watch the node (telemetry: not over the network) until the stalled hogs are gone:
        # each goes --request-timeout after its last data; one that waited for stage room
        # gets it when the first ones go, and its kernel sends the rest then, so allow two
        base_to = before["tcp_request_timeouts"]
        deadline = time.monotonic() + 2 * req_s + 6
        while time.monotonic() < deadline:
            tel = tb.telemetry(1)
            now = time.monotonic() - t0
            samples.append((now, tel))
            gone = tel["tcp_request_timeouts"] - base_to
            if gone > 0 and t_first_reset is None:
                t_first_reset = now
            if gone >= N_HOGS:
                t_all_reset = now
                break
            time.sleep(0.25)
        time.sleep(1.0)                                   # the good client through the resets
    finally:
        stop.set()
        if parent_end.poll(GOOD_OP_TIMEOUT_S * 4 + 5):
            got = parent_end.recv()
        good.join(5)
        if good.is_alive():
            good.kill()
            good.join(5)
        fates = {}
        for s in hogs:
            f = fate(s)
            fates[f] = fates.get(f, 0) + 1
            s.close()
    if tb.dead_nodes():
        tb.restart_next()
        pytest.fail("the node died under slow uploads:\n%s" % tb.log(1)[-3000:])

    after = tb.tcp_stats(1)
    assert got is not None, "the good client sent back nothing"
    good_ops, udp_retries = got
    peak_in_use = max((tel["upload_buffer_in_use"] for _, tel in samples), default=0)
    delta = {k: after[k] - before[k] for k in (
        "uploads_staged", "upload_buffer_waits", "tcp_pressure_refused",
        "tcp_request_timeouts", "tcp_resets_sent", "drop_no_mbuf", "drop_tx_full",
        "drop_memcached_udp_busy")}
    ok_sent = sum(1 for s in hogs if sent.get(s) == SENT)
    end = t_all_reset if t_all_reset is not None else time.monotonic() - t0
    stall_all = (t_first_reset or end) - t_stalled       # every hog stalled, none reset yet
    lat = {k: [d for _, op, d, e in good_ops if op.startswith(k) and not e] for k in ("tcp", "udp")}
    during = [x for x in good_ops if t_send <= x[0] < end]
    fails = [x for x in good_ops if x[3]]
    slow = [x for x in good_ops if not x[3] and x[2] > LATENCY_BOUND_S]
    info = ("hogs: %d connected, %d pushed all %d bytes, errors %s; sending %.1f-%.1fs, first "
            "reset %s, all %s; fates %s\nnode: %s, stage peak %.1f of %.1f MiB; frames the "
            "kernel dropped before the node: %d\ngood client: %d ops, %d while hogs were "
            "connected (%.1f s, %.1f s of it with all %d stalled), failures %d, over %.1fs %d, "
            "UDP retries %d; tcp max %.3fs p99 %.3fs, udp max %.3fs p99 %.3fs" % (
                len(hogs), ok_sent, SENT, errors[:3], t_send, t_stalled,
                "%.1fs" % t_first_reset if t_first_reset else "never",
                "%.1fs" % t_all_reset if t_all_reset else "never", fates, delta,
                peak_in_use / 1048576.0, after["upload_buffer_bytes"] / 1048576.0,
                _link_drops() - link_before, len(good_ops), len(during), end - t_send,
                stall_all, N_HOGS, len(fails), LATENCY_BOUND_S, len(slow), udp_retries,
                max(lat["tcp"], default=-1), _pct(lat["tcp"], 0.99),
                max(lat["udp"], default=-1), _pct(lat["udp"], 0.99)))
    print(info)

    assert len(hogs) == N_HOGS and not errors, "the hogs could not all connect and send: %s" % info
    assert ok_sent == N_HOGS, "not every hog got its 900 KB into its socket: %s" % info
    assert delta["uploads_staged"] > 0 and delta["upload_buffer_waits"] > 0, \
        "the attack neither filled the stage pool nor made uploads wait: %s" % info
    assert peak_in_use == after["upload_buffer_bytes"], "the stage pool never filled: %s" % info
    # the well-behaved client: never failed, never waited a second, all along
    assert not fails, "the good client failed %d times, first %s: %s" % (len(fails), fails[:3], info)
    assert not slow, "the good client waited over %.1fs %d times, first %s: %s" % (
        LATENCY_BOUND_S, len(slow), slow[:3], info)
    assert stall_all >= MIN_STALL_S, "the uploads were all stalled only %.1f s: %s" % (
        stall_all, info)
    assert len(during) >= 4 * (end - t_send) / GOOD_PERIOD_S * 0.7, \
        "the good client did too few rounds while the hogs were connected: %s" % info
    assert udp_retries <= len(during) // 20, "the good client's UDP requests were lost too " \
        "often (%d retries): %s" % (udp_retries, info)
    assert delta["drop_no_mbuf"] == delta["drop_tx_full"] == 0, "the node ran out of buffers: " \
        "%s" % info
    # the stalled connections go after --request-timeout, and give back what they held
    assert t_all_reset is not None, "not every stalled upload was reset within %d s: %s" % (
        2 * req_s + 6, info)
    assert N_HOGS <= delta["tcp_request_timeouts"] <= N_HOGS + 2, \
        "tcp_request_timeouts rose by %d for %d stalled uploads: %s" % (
            delta["tcp_request_timeouts"], N_HOGS, info)
    assert fates.get("reset") == N_HOGS, "the stalled hogs saw %s, not %d resets: %s" % (
        fates, N_HOGS, info)
    assert t_first_reset - t_send >= req_s - 1, \
        "stalled uploads were reset %.1f s after they started, before --request-timeout %d: %s" % (
            t_first_reset - t_send, req_s, info)
    assert wait_until(lambda: tb.telemetry(1)["upload_buffer_in_use"] == 0, 3), \
        "upload_buffer_in_use stays %d with every upload gone" % tb.telemetry(1)[
            "upload_buffer_in_use"]
    assert tb.settled_connections(1) <= base_conns, "connections still counted after the resets"
    with McTcp(node_ip(1), PORT, timeout=10) as c:
        assert c.cmd("get hog0") == b"END\r\n", "a hog's partial value was stored"
        big = os.urandom(1000000)
        assert c.cmd(b"set big 0 0 %d\r\n%s" % (len(big), big)) == b"STORED\r\n"
        assert c.cmd("get big") == b"VALUE big 0 %d\r\n%s\r\nEND\r\n" % (len(big), big), \
            "a 1 MB value did not come back byte for byte"
