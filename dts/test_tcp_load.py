"""test_tcp_load.py - 10,000 concurrent client connections to one node (started
with --max-connections 12000): all opened from the client namespace with
non-blocking sockets and epoll (at most 500 handshakes in flight), each sends
a set and reads its reply, curr_connections reaches 10,000 while they are all
open, a sample of them still answers, and after they are all closed the
count drains back within a bounded wait. Everything is bounded in time; if
the node wedges, the layout is brought up afresh for the tests after.
"""
import errno
import resource
import select
import socket
import subprocess
import time

import pytest

from lib.mctcp import McTcp
from lib.testbed import PORT, node_ip

pytestmark = pytest.mark.testbed("tcp")

N = 10000
IN_FLIGHT = 500
OPEN_LIMIT_S = 60
STALL_S = 5
DRAIN_S = 20


def _raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return soft
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip("RLIMIT_NOFILE hard limit %d < %d needed for %d connections" % (
            hard, need, N))
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    return need


def _node_answers(i=1):
    """A fresh connection gets an answer (and ping works): the node is not deaf."""
    ping = subprocess.run(["ping", "-c", "1", "-W", "1", node_ip(i)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, timeout=5, check=False).returncode == 0
    try:
        with McTcp(node_ip(i), PORT, timeout=2) as c:
            tcp = c.cmd("mn") == b"MN\r\n"
    except OSError:
        tcp = False
    return ping, tcp


def _drain(tb, target):
    """Wait until curr_connections <= target: at most DRAIN_S, or STALL_S without any change
    (a node that no longer receives will not get there)."""
    end = time.monotonic() + DRAIN_S
    last, since = None, time.monotonic()
    while time.monotonic() < end:
        cur = tb.telemetry(1)["curr_connections"]
        if cur <= target:
            return True
        if cur != last:
            last, since = cur, time.monotonic()
        elif time.monotonic() - since > STALL_S:
            return False
        time.sleep(0.2)
    return False


class Fleet:
    """N non-blocking connections, each: connect, send one set, read STORED."""

    def __init__(self, n):
        self.n = n
        self.ep = select.epoll()
        self.socks = {}          # fd -> socket
        self.state = {}          # fd -> (index, phase, bytes read)
        self.started = 0
        self.done = []           # indexes of connections that got their reply
        self.errors = {}         # description -> count
        self.first_error = {}

    def _error(self, fd, what):
        self.errors[what] = self.errors.get(what, 0) + 1
        self.first_error.setdefault(what, self.state[fd][0])
        self.ep.unregister(fd)
        self.state[fd] = (self.state[fd][0], "failed", b"")

    def _start(self):
        i = self.started
        self.started += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = s.connect_ex((node_ip(1), PORT))
        fd = s.fileno()
        self.socks[fd] = s
        self.state[fd] = (i, "connecting", b"")
        if err not in (0, errno.EINPROGRESS):
            self.ep.register(fd, 0)
            self._error(fd, "connect: %s" % errno.errorcode.get(err, err))
            return
        self.ep.register(fd, select.EPOLLOUT)

    def pending(self):
        return sum(1 for _, ph, _ in self.state.values() if ph in ("connecting", "sent"))

    def run(self, limit_s, stall_s):
        deadline = time.monotonic() + limit_s
        last_progress = time.monotonic()
        while time.monotonic() < deadline:
            while self.started < self.n and self.pending() < IN_FLIGHT:
                self._start()
            if not self.pending():
                break
            events = self.ep.poll(0.5)
            if events:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > stall_s:
                break
            for fd, ev in events:
                i, phase, got = self.state[fd]
                s = self.socks[fd]
                if phase == "connecting":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        self._error(fd, "connect: %s" % errno.errorcode.get(err, err))
                        continue
                    try:
                        s.send(b"set conn%05d 0 0 5\r\nhello\r\n" % i)
                    except OSError as e:
                        self._error(fd, "send: %s" % errno.errorcode.get(e.errno, e.errno))
                        continue
                    self.state[fd] = (i, "sent", b"")
                    self.ep.modify(fd, select.EPOLLIN)
                elif phase == "sent":
                    try:
                        d = s.recv(64)
                    except OSError as e:
                        self._error(fd, "reply: %s" % errno.errorcode.get(e.errno, e.errno))
                        continue
                    if not d:
                        self._error(fd, "reply: EOF")
                        continue
                    got += d
                    if got == b"STORED\r\n":
                        self.state[fd] = (i, "done", got)
                        self.done.append(i)
                        self.ep.unregister(fd)
                    elif len(got) >= 8:
                        self._error(fd, "reply: %r" % got[:40])
                    else:
                        self.state[fd] = (i, "sent", got)
        return self

    def by_index(self):
        return {st[0]: self.socks[fd] for fd, st in self.state.items() if st[1] == "done"}

    def close(self):
        for s in self.socks.values():
            s.close()
        self.socks = {}
        self.ep.close()


def test_10000_concurrent_connections(tb):
    _raise_nofile(N + 1000)
    base = tb.telemetry(1)["curr_connections"]
    fleet = Fleet(N)
    ok = False
    try:
        t0 = time.monotonic()
        fleet.run(OPEN_LIMIT_S, STALL_S)
        t_open = time.monotonic() - t0
        tel = tb.telemetry(1)
        peak = tel["curr_connections"]
        summary = ("%d of %d connections answered in %.1fs (started %d, still pending %d); "
                   "errors %s (first at connection %s); node: curr_connections %d, "
                   "total_connections %d, rejected %d, tcp_resets_sent %d, drop_no_mbuf %d" % (
                       len(fleet.done), N, t_open, fleet.started, fleet.pending(), fleet.errors,
                       fleet.first_error, peak, tel["total_connections"],
                       tel["rejected_connections"], tel["tcp_resets_sent"], tel["drop_no_mbuf"]))
        print(summary)
        if len(fleet.done) == N:
            # (base: whatever else was open when we started, which may have closed since)
            assert peak >= N, "curr_connections %d with %d connections open (%s)" % (
                peak, N, summary)
            # they are all alive at once: a sample of them answers again
            conns = fleet.by_index()
            for i in range(0, N, 250):
                s = conns[i]
                s.setblocking(True)
                s.settimeout(5)
                s.sendall(b"get conn%05d\r\n" % i)
                want = b"VALUE conn%05d 0 5\r\nhello\r\nEND\r\n" % i
                got = b""
                while len(got) < len(want):
                    d = s.recv(100)
                    if not d:
                        break
                    got += d
                assert got == want, "connection %d of %d answered %r" % (i, N, got)
        fleet.close()
        t1 = time.monotonic()
        drained = _drain(tb, base + 5)
        left = tb.telemetry(1)["curr_connections"]
        ping, tcp = _node_answers()
        after = ("after closing them all: curr_connections %d %s %.1fs; the node answers "
                 "ping: %s, a new TCP connection: %s" % (
                     left, "within" if drained else "still, after", time.monotonic() - t1,
                     ping, tcp))
        print(after)
        assert len(fleet.done) == N, "%s\n%s" % (summary, after)
        assert drained and ping and tcp, "%s\n%s" % (summary, after)
        ok = True
    finally:
        fleet.close()
        if not ok:
            tb.restart_next()      # a wedged node must not fail the tests after this one
