"""test_tcp_attacks.py - TCP peers that misbehave, on a node with a 3 s idle
timeout (layout "tcp-short") or room for only 4 connections ("tcp-limit"):

- a SYN flood (hping3 --flood for a few seconds, from 198.18.0.200, an
  address inside the client subnet that nobody answers ARP for, so the
  node's SYN-ACKs go nowhere and its SYN queue fills): an established
  connection is served during and after it, a new connection made during it
  succeeds, SYN cookies were sent (and used), and the half-open entries are
  gone soon after;
- a half-open peer (a raw SYN from 198.18.0.201, whose ARP the test answers,
  and no ACK ever): the node retransmits its SYN-ACK, then frees the entry
  within the idle timeout;
- a peer that stops reading while asking for big values: the node's send
  window goes to zero, it probes, and it aborts the connection within the
  idle timeout, giving back what it held;
- an idle connection is closed after the idle timeout; a chatty one is not;
- beyond --max-connections, a SYN is refused with a RST (ECONNREFUSED) and
  counted in rejected_connections; a freed slot can be used again.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from lib import rawpkt
from lib.mctcp import Closed, McTcp, wait_until
from lib.testbed import NET, PORT, node_ip

pytestmark = pytest.mark.testbed("tcp-short")

IDLE_S = 3
FLOOD_S = 4
FLOOD_SRC = NET + ".200"       # in 198.18.0.0/24; nobody owns it
HALF_OPEN_SRC = NET + ".201"   # in 198.18.0.0/24; the test answers its ARP


def _counters(tb, *names):
    st = tb.tcp_stats(1)
    return {n: st[n] for n in names}


def _settled(tb):
    return tb.settled_connections(1)


# ---- SYN flood ----

def test_syn_flood_does_not_stop_service(tb, mct):
    if not shutil.which("hping3"):
        pytest.skip("hping3 is not installed")
    assert mct.cmd("set victim 0 0 6\r\nserved") == b"STORED\r\n"
    base = tb.telemetry(1)["tcp_half_open"]
    before = _counters(tb, "tcp_syncookies_sent", "tcp_syncookies_accepted", "rx_packets")
    flood = subprocess.Popen(["hping3", "-S", "-p", str(PORT), "--flood", "-a", FLOOD_SRC,
                              node_ip(1)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lat, failures, fresh = [], [], None
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < FLOOD_S:
            t = time.monotonic()
            try:
                got = mct.cmd("get victim", timeout=2)
            except (socket.timeout, Closed, OSError) as e:
                failures.append("%.1fs: %s" % (t - t0, e))
                break
            lat.append(time.monotonic() - t)
            if got != b"VALUE victim 0 6\r\nserved\r\nEND\r\n":
                failures.append("%.1fs: %r" % (t - t0, got))
            if fresh is None and tb.telemetry(1)["tcp_syncookies_sent"] > \
                    before["tcp_syncookies_sent"]:
                # the SYN queue is full: a new client now gets in by a cookie
                try:
                    with McTcp(node_ip(1), PORT, timeout=5) as c:
                        fresh = c.cmd("get victim") == b"VALUE victim 0 6\r\nserved\r\nEND\r\n"
                except OSError as e:
                    fresh = "%s: %s" % (type(e).__name__, e)
            time.sleep(0.02)
    finally:
        flood.send_signal(signal.SIGINT)
        try:
            out = flood.communicate(timeout=5)[0]
        except subprocess.TimeoutExpired:
            flood.kill()
            out = flood.communicate(timeout=5)[0]
    sent = out.decode(errors="replace").strip().splitlines()
    summary = "hping3: %s; %d gets during the flood, slowest %.3fs" % (
        [ln for ln in sent if "transmitted" in ln], len(lat), max(lat) if lat else -1)
    print(summary)
    assert not failures, "the established connection failed during the flood: %s (%s)" % (
        failures, summary)
    assert len(lat) >= 10, summary
    after = _counters(tb, "tcp_syncookies_sent", "tcp_syncookies_accepted", "rx_packets")
    assert after["rx_packets"] - before["rx_packets"] > 10000, \
        "the flood did not reach the node: %s, %s" % (after, summary)
    assert after["tcp_syncookies_sent"] > before["tcp_syncookies_sent"], \
        "a SYN flood never filled the SYN queue (no cookies sent): %s" % summary
    assert fresh is True, "a new connection during the flood: %s (%s)" % (fresh, summary)
    assert after["tcp_syncookies_accepted"] > before["tcp_syncookies_accepted"], \
        "the connection made during the flood did not come in by a cookie: %s" % after
    # after the flood: still served, and the half-open entries go (idle timeout)
    assert mct.cmd("get victim", timeout=2) == b"VALUE victim 0 6\r\nserved\r\nEND\r\n"
    gone = wait_until(lambda: tb.telemetry(1)["tcp_half_open"] <= base, IDLE_S + 5, 0.2)
    assert gone, "half-open connections from the flood still held: tcp_half_open %d, " \
        "base %d" % (tb.telemetry(1)["tcp_half_open"], base)
    with McTcp(node_ip(1), PORT, timeout=5) as c:
        assert c.cmd("mn") == b"MN\r\n"


# ---- a half-open peer ----

def test_half_open_peer_is_freed(tb):
    before = _counters(tb, "tcp_retransmits", "tcp_idle_closed", "tcp_aborted")
    base = tb.telemetry(1)["tcp_half_open"]
    br_mac = rawpkt.if_mac("wcbr")        # the node's SYN-ACKs come to the bridge, and die
    sport, isn = 40001, 0x1000
    syn = rawpkt.tcp_frame(br_mac, tb.macs[1], HALF_OPEN_SRC, node_ip(1), sport, PORT, isn,
                           options=b"\x02\x04\x05\xb4")          # MSS 1460
    synacks, seen_at, gone_at = [], None, None
    with rawpkt.Wire("wcbr") as w:
        # an ARP request from the peer first: the node learns it, so its first SYN-ACK
        # goes out at once instead of waiting on its own ARP
        w.send(rawpkt.arp_request(br_mac, HALF_OPEN_SRC, node_ip(1)))
        time.sleep(0.05)
        w.send(syn)
        t0 = time.monotonic()
        w.sock.settimeout(0.1)
        while time.monotonic() - t0 < IDLE_S + 6:
            try:
                f = w.sock.recv(65535)
            except socket.timeout:
                f = None
            if f:
                asked = rawpkt.arp_request_for(f, HALF_OPEN_SRC)
                if asked:
                    w.send(rawpkt.arp_reply(br_mac, HALF_OPEN_SRC, asked[0], asked[1]))
                t = rawpkt.tcp_of(f)
                if t and t[0] == node_ip(1) and t[1] == HALF_OPEN_SRC and t[3] == sport and \
                        t[6] & (rawpkt.TCP_SYN | rawpkt.TCP_ACK) == rawpkt.TCP_SYN | rawpkt.TCP_ACK:
                    assert t[5] == isn + 1, "SYN-ACK acknowledges %d, not %d" % (t[5], isn + 1)
                    synacks.append(time.monotonic() - t0)
            cur = tb.telemetry(1)["tcp_half_open"]    # (curr_connections counts open ones)
            if seen_at is None and cur > base:
                seen_at = time.monotonic() - t0
            if seen_at is not None and cur <= base:
                gone_at = time.monotonic() - t0
                break
    after = _counters(tb, "tcp_retransmits", "tcp_idle_closed", "tcp_aborted")
    info = "SYN-ACKs at %s; held from %s s to %s s; counters %s -> %s" % (
        ["%.2f" % x for x in synacks], seen_at, gone_at, before, after)
    print(info)
    assert synacks, "no SYN-ACK for the half-open peer: %s" % info
    assert seen_at is not None, "the half-open connection was never counted: %s" % info
    assert gone_at is not None and gone_at <= IDLE_S + 3, \
        "the half-open connection was held past the %d s idle timeout: %s" % (IDLE_S, info)
    assert len(synacks) >= 2, "the SYN-ACK was never retransmitted: %s" % info
    assert after["tcp_retransmits"] >= before["tcp_retransmits"] + len(synacks) - 1, \
        "SYN-ACK retransmissions not counted: %s" % info
    assert after["tcp_idle_closed"] == before["tcp_idle_closed"] + 1, \
        "not counted as closed by the idle timeout: %s" % info
    assert after["tcp_aborted"] == before["tcp_aborted"], "counted twice: %s" % info


# ---- a peer that stops reading ----

def test_peer_that_stops_reading_is_aborted(tb):
    value = os.urandom(500000)
    with McTcp(node_ip(1), PORT, timeout=10) as c:
        assert c.cmd(b"set zw 0 0 %d\r\n%s" % (len(value), value)) == b"STORED\r\n"
    before = _counters(tb, "tcp_zero_window_probes", "tcp_aborted", "tcp_resets_sent")
    base = _settled(tb)
    z = tb.tcp(1, rcvbuf=4096)
    # ask for 6 MB without reading, a request at a time (the node stops reading requests
    # once 4 MiB of replies wait, so they all get in)
    for _ in range(12):
        z.send(b"get zw\r\n")
        time.sleep(0.05)
    t0 = time.monotonic()
    gone = wait_until(lambda: tb.telemetry(1)["curr_connections"] < base + 1, IDLE_S + 7, 0.1)
    t_gone = time.monotonic() - t0
    after = _counters(tb, "tcp_zero_window_probes", "tcp_aborted", "tcp_resets_sent")
    info = "gone after %.1fs: %s; counters %s -> %s" % (t_gone, gone, before, after)
    print(info)
    assert gone, "a peer with a zero window held past %d s: %s" % (IDLE_S + 7, info)
    assert after["tcp_zero_window_probes"] > before["tcp_zero_window_probes"], \
        "no zero-window probes: %s" % info
    assert after["tcp_aborted"] > before["tcp_aborted"], "abort not counted: %s" % info
    # the client reads what its kernel had buffered, then the reset
    z.sock.settimeout(1)
    end, outcome = time.monotonic() + 5, None
    while time.monotonic() < end and outcome is None:
        try:
            if not z.sock.recv(1 << 20):
                outcome = "EOF"
        except ConnectionResetError:
            outcome = "reset"
        except socket.timeout:
            outcome = "still open"
    assert outcome == "reset", "the client saw %s, not a reset: %s" % (outcome, info)
    # what it held is back: a 1 MiB round trip on a new connection works
    big = os.urandom(1 << 20)
    with McTcp(node_ip(1), PORT, timeout=10) as c:
        assert c.cmd(b"set big 0 0 %d\r\n%s" % (len(big), big)) == b"STORED\r\n"
        assert c.cmd("get big") == b"VALUE big 0 %d\r\n%s\r\nEND\r\n" % (len(big), big)


# ---- idle connections ----

def test_idle_connection_closed_chatty_one_kept(tb):
    before = _counters(tb, "tcp_idle_closed")
    idle = tb.tcp(1)
    chatty = tb.tcp(1)
    assert idle.cmd("mn") == b"MN\r\n" and chatty.cmd("mn") == b"MN\r\n"
    t0 = time.monotonic()
    closed_at = None
    while time.monotonic() - t0 < IDLE_S + 4:
        assert chatty.cmd("mn", timeout=2) == b"MN\r\n", "the chatty connection was closed"
        if closed_at is None:
            idle.sock.settimeout(0.01)
            try:
                d = idle.sock.recv(10)
                if not d:
                    closed_at = time.monotonic() - t0
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed_at = time.monotonic() - t0
        time.sleep(0.5)
    after = _counters(tb, "tcp_idle_closed")
    assert closed_at is not None, "an idle connection was still open after %d s" % (IDLE_S + 4)
    assert IDLE_S - 0.5 <= closed_at <= IDLE_S + 2, \
        "the idle connection closed after %.1fs, idle timeout %d s" % (closed_at, IDLE_S)
    assert after["tcp_idle_closed"] > before["tcp_idle_closed"]
    assert chatty.cmd("mn") == b"MN\r\n"


# ---- --max-connections ----

@pytest.mark.testbed("tcp-limit")
def test_connections_beyond_the_limit_refused(tb):
    base = _settled(tb)
    assert base == 0, "connections open before the test: %d" % base
    before = tb.telemetry(1)["rejected_connections"]
    conns = [tb.tcp(1) for _ in range(4)]
    for c in conns:
        assert c.cmd("mn") == b"MN\r\n"
    refused = 0
    for _ in range(3):
        s = tb.track(socket.socket())
        s.settimeout(5)
        try:
            s.connect((node_ip(1), PORT))
        except ConnectionRefusedError:
            refused += 1
        except ConnectionResetError:
            refused += 1
        else:
            s.settimeout(2)
            try:
                s.sendall(b"mn\r\n")
                got = s.recv(10)
            except OSError as e:
                got = e
            pytest.fail("a 5th connection was accepted past --max-connections 4 (it answered "
                        "%r)" % (got,))
    assert refused == 3
    after = tb.wait_telemetry(1, "rejected_connections", before + 3)
    assert after >= before + 3, "rejected_connections rose by %d for 3 refusals" % (
        after - before)
    # the four still work; a slot freed is a slot to use
    for c in conns:
        assert c.cmd("mn") == b"MN\r\n"
    conns[0].close()
    assert wait_until(lambda: tb.telemetry(1)["curr_connections"] <= 3, 5), \
        "a closed connection still counted"
    with McTcp(node_ip(1), PORT, timeout=5) as c:
        assert c.cmd("mn") == b"MN\r\n"
