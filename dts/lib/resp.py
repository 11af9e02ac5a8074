"""resp.py - a raw RESP2/RESP3 client over TCP for the Redis suites: it sends any
bytes (multibulk or inline commands, pipelined, cut anywhere) and reads back
whole replies as the exact bytes the server sent, because it knows where
every reply type of RESP2 and RESP3 ends. Every wait is bounded.

Also: decode() turns one reply's bytes into Python values (for tests that
check meaning rather than bytes), has_command() tells whether a server knows a
command (a feature another branch adds), and RedisServer runs Debian's
redis-server on loopback in the host's namespace for side-by-side replies.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from .testbed import in_root_ns, node_ip

PORT = 6379


def encode(*args):
    """A multibulk command of args (str, bytes or int)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _line_end(buf, i):
    j = buf.find(b"\r\n", i)
    return None if j < 0 else j


def reply_end(buf, i=0):
    """The index just past the one whole reply that starts at buf[i], or None while
    it is incomplete (RESP2 and RESP3; an attribute is read with the reply it precedes)."""
    if i >= len(buf):
        return None
    t = buf[i:i + 1]
    j = _line_end(buf, i)
    if j is None:
        return None
    head = buf[i + 1:j]
    if t in b"+-:_#,(":
        return j + 2
    if t in b"$!=":
        n = int(head)
        if n < 0:
            return j + 2
        end = j + 2 + n + 2
        return end if len(buf) >= end else None
    if t in b"*~>%|":
        n = int(head)
        if n < 0:
            return j + 2
        if t in b"%|":
            n *= 2
        k = j + 2
        for _ in range(n):
            k = reply_end(buf, k)
            if k is None:
                return None
        if t == b"|":
            return reply_end(buf, k)
        return k
    raise ValueError("not a RESP reply at %d: %r" % (i, buf[i:i + 40]))


class RespError(Exception):
    """An error reply, as decode() returns it (the text without the '-')."""

    def __eq__(self, other):
        return isinstance(other, RespError) and self.args == other.args

    def __hash__(self):
        return hash(self.args)


def decode(raw):
    """One reply's bytes as Python values: str for simple strings, bytes for bulk,
    int, None, float, bool, list, set (a frozenset of its members where they hash),
    dict, RespError; verbatim strings as (format, bytes); push as ('push', list)."""
    v, k = _decode(raw, 0)
    if k != len(raw):
        raise ValueError("trailing bytes after a reply: %r" % raw[k:k + 40])
    return v


def _decode(buf, i):
    t = buf[i:i + 1]
    j = buf.index(b"\r\n", i)
    head = buf[i + 1:j]
    k = j + 2
    if t == b"+":
        return head.decode(), k
    if t == b"-":
        return RespError(head.decode()), k
    if t == b":":
        return int(head), k
    if t == b"_":
        return None, k
    if t == b"#":
        return head == b"t", k
    if t == b",":
        return float(head), k
    if t == b"(":
        return int(head), k
    if t in b"$!=":
        n = int(head)
        if n < 0:
            return None, k
        data = buf[k:k + n]
        if t == b"=":
            return (data[:3].decode(), data[4:]), k + n + 2
        if t == b"!":
            return RespError(data.decode()), k + n + 2
        return data, k + n + 2
    if t in b"*~>":
        n = int(head)
        if n < 0:
            return None, k
        items = []
        for _ in range(n):
            v, k = _decode(buf, k)
            items.append(v)
        if t == b"~":
            try:
                return frozenset(items), k
            except TypeError:
                return items, k
        if t == b">":
            return ("push", items), k
        return items, k
    if t in b"%|":
        n = int(head)
        d = {}
        for _ in range(n):
            key, k = _decode(buf, k)
            val, k = _decode(buf, k)
            d[key] = val
        if t == b"|":
            return _decode(buf, k)
        return d, k
    raise ValueError("not a RESP reply at %d: %r" % (i, buf[i:i + 40]))


class RespTimeout(AssertionError):
    pass


class Resp:
    """One TCP connection to a Redis server (by default node 1 of the testbed)."""

    def __init__(self, host=None, port=PORT, timeout=10.0, sock=None):
        self.host = host or node_ip(1)
        self.port = port
        self.timeout = timeout
        self.buf = b""
        self.sock = sock or socket.create_connection((self.host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise RespTimeout("no whole reply within %.1fs; have %r" % (self.timeout,
                                                                      self.buf[:200]))
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(1 << 20)
        except socket.timeout:
            raise RespTimeout("no whole reply within %.1fs; have %r" % (
                self.timeout, self.buf[:200])) from None
        if not d:
            raise ConnectionError("closed by the server; have %r" % self.buf[:200])
        self.buf += d

    def reply(self, timeout=None):
        """The next whole reply's bytes."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            end = reply_end(self.buf) if self.buf else None
            if end is not None:
                r, self.buf = self.buf[:end], self.buf[end:]
                return r
            self._fill(deadline)

    def replies(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        out = []
        while len(out) < n:
            out.append(self.reply(max(0.001, deadline - time.monotonic())))
        return out

    def raw(self, *args):
        """Send one multibulk command, return its reply's bytes."""
        self.send(encode(*args))
        return self.reply()

    def __call__(self, *args):
        """Send one command, return its decoded reply."""
        return decode(self.raw(*args))

    def inline(self, line):
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def wait_closed(self, timeout=None):
        """Read until the server closes (EOF or RST); returns (closed, bytes read)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        got = self.buf
        self.buf = b""
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                return True, got
            if not d:
                return True, got
            got += d
        return False, got


UNKNOWN = (b"-ERR unknown command", b"-ERR unknown subcommand")


def exchange(c, data, tag, timeout=60.0):
    """Send data on Resp c, then PING tag: every byte the server sends up to PING's answer."""
    c.send(data + encode("PING", tag))
    end = tag.encode() + b"\r\n"
    deadline = time.monotonic() + timeout
    while not c.buf.endswith(end):
        c._fill(deadline)
    out, c.buf = c.buf, b""
    return out


def read_exactly(c, n, timeout=60.0):
    """The next n bytes Resp c receives."""
    deadline = time.monotonic() + timeout
    while len(c.buf) < n:
        c._fill(deadline)
    out, c.buf = c.buf[:n], c.buf[n:]
    return out


def knows(conn, *probe):
    """Whether the server answers probe (a harmless command) other than 'unknown
    command' / 'unknown subcommand'."""
    return not conn.raw(*probe).startswith(UNKNOWN)


# A harmless command per feature that another branch adds; skips end when it merges.
FEATURES = {
    "hash": ("HLEN", "wc:probe"),
    "set": ("SCARD", "wc:probe"),
    "info": ("INFO", "server"),
    "config": ("CONFIG", "GET", "port"),
    "command": ("COMMAND", "COUNT"),
    "client-list": ("CLIENT", "LIST"),
    "client-info": ("CLIENT", "INFO"),
    "client-kill": ("CLIENT", "KILL", "ID", "999999999"),
    "slowlog": ("SLOWLOG", "LEN"),
    "memory": ("MEMORY", "USAGE", "wc:probe"),
    "acl": ("ACL", "WHOAMI"),
    "cluster": ("CLUSTER", "INFO"),
    "object": ("OBJECT", "ENCODING", "wc:probe"),
}


def need(conn, *features):
    """Skip the test while the node lacks a feature (it answers 'unknown command'): the
    skip goes away by itself once the family is merged."""
    for f in features:
        if not knows(conn, *FEATURES[f]):
            pytest.skip("%s is not on this build yet (%s answers unknown command); this "
                        "test runs once it is merged" % (f, " ".join(FEATURES[f][:2])))


class RedisServer:
    """Debian's redis-server on the host's loopback (root namespace), nothing saved;
    connect() makes a socket there whatever namespace the test process is in."""

    def __init__(self, port=26380):
        self.port = self._free_port(port)
        self.dir = tempfile.mkdtemp(prefix="wc-redis-ref-")
        with in_root_ns():
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", self.dir,
                 "--logfile", os.path.join(self.dir, "log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with self.connect(timeout=1) as c:
                    if c.raw("PING") == b"+PONG\r\n":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("redis-server did not start on 127.0.0.1:%d" % self.port)
            time.sleep(0.05)

    @staticmethod
    def _free_port(first):
        with in_root_ns():
            for p in range(first, first + 100):
                s = socket.socket()
                try:
                    s.bind(("127.0.0.1", p))
                    return p
                except OSError:
                    continue
                finally:
                    s.close()
        raise RuntimeError("no free port from %d" % first)

    def connect(self, timeout=10.0):
        with in_root_ns():
            s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return Resp("127.0.0.1", self.port, timeout=timeout, sock=s)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def run(cmd, timeout, root_ns=False, **kw):
    """Run a client program, bounded in time: in namespace wc (as the test process is),
    or in the host's (root_ns, for the redis-server on loopback). A program that runs
    past timeout fails the test with what it printed."""
    try:
        if root_ns:
            with in_root_ns():
                return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      timeout=timeout, check=False, **kw)
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, check=False, **kw)
    except subprocess.TimeoutExpired as e:
        pytest.fail("%s did not finish within %ds; output:\n%s" % (
            " ".join(map(str, cmd)), timeout, (e.stdout or b"").decode(errors="replace")[-3000:]))


def _split(buf, i):
    """(type byte, header line, [children (start, end)], end) of the reply at buf[i]."""
    t = buf[i:i + 1]
    j = buf.index(b"\r\n", i)
    end = reply_end(buf, i)
    kids = []
    if t in b"*~>%|" and int(buf[i + 1:j]) > 0:
        n = int(buf[i + 1:j]) * (2 if t in b"%|" else 1)
        k = j + 2
        for _ in range(n):
            e = reply_end(buf, k)
            kids.append((k, e))
            k = e
    return t, buf[i:j + 2], kids, end


def canon(raw, flat=None):
    """raw with the members of every set (~) and the pairs of every map (%) in byte order,
    everything else as it was: two servers' replies compare byte for byte though their
    hash tables order members differently. RESP2 sends sets and maps as arrays: flat="set"
    sorts a top-level array's members, flat="map" its pairs."""
    def walk(i, top=False):
        t, head, kids, end = _split(raw, i)
        if not kids:
            return raw[i:end]
        parts = [walk(s) for s, _ in kids]
        if t == b"~" or (top and t == b"*" and flat == "set"):
            parts.sort()
        elif t in b"%" or (top and t == b"*" and flat == "map"):
            pairs = sorted(zip(parts[0::2], parts[1::2]))
            parts = [x for p in pairs for x in p]
        return head + b"".join(parts)
    out = walk(0, True)
    if len(out) != len(raw):
        raise ValueError("trailing bytes after a reply: %r" % raw[:80])
    return out
