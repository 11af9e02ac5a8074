"""mctcp.py - memcached's text protocol over TCP, for the TCP suites.

McTcp is a thin client over one connection that sends raw bytes and reads
whole replies: it knows where a memcached reply ends (single lines, VALUE
blocks up to END, STAT lists up to END, meta VA blocks), so a test can send
anything, pipelined or cut into pieces, and collect exactly the replies it
expects, every wait bounded by the connection's timeout. stats() reads the
node's counters over a fresh connection (which curr_connections counts).
"""
import re
import socket
import time

PORT = 11211

# single-line replies that end a reply (anything else that is one line does too)
_BLOCK = re.compile(rb"^(VALUE \S+ \d+ (\d+)(?: \d+)?|VA (\d+)(?: .*)?)$")


class Closed(Exception):
    """The node closed the connection (EOF or RST) before a whole reply arrived."""


def reply_end(buf, start=0):
    """The offset just past the first whole reply in buf[start:], or None."""
    i = start
    multi = False
    while True:
        nl = buf.find(b"\r\n", i)
        if nl < 0:
            return None
        line = bytes(buf[i:nl])
        i = nl + 2
        m = _BLOCK.match(line)
        if m:
            n = int(m.group(2) if m.group(2) is not None else m.group(3))
            if len(buf) < i + n + 2:
                return None
            i += n + 2
            if line.startswith(b"VA "):
                return i
            multi = True
            continue
        if line.startswith(b"STAT "):
            multi = True
            continue
        if multi and line != b"END":
            continue
        return i


class McTcp:
    def __init__(self, host, port=PORT, timeout=10.0, nodelay=True, connect=True, rcvbuf=None):
        self.addr = (host, port)
        self.timeout = timeout
        self.buf = bytearray()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if nodelay:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        if connect:
            self.sock.connect(self.addr)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no whole reply within %.1fs (have %d bytes: %r)" % (
                self.timeout, len(self.buf), bytes(self.buf[:200])))
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(1 << 20)
        except ConnectionResetError as e:
            raise Closed("reset by the node after %d bytes: %r" % (
                len(self.buf), bytes(self.buf[:200]))) from e
        if not d:
            raise Closed("closed by the node after %d bytes: %r" % (
                len(self.buf), bytes(self.buf[:200])))
        self.buf += d

    def replies(self, n, timeout=None):
        """The next n whole replies (a list of bytes)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        out = []
        while len(out) < n:
            end = reply_end(self.buf)
            if end is None:
                self._fill(deadline)
                continue
            out.append(bytes(self.buf[:end]))
            del self.buf[:end]
        return out

    def reply(self, timeout=None):
        return self.replies(1, timeout)[0]

    def cmd(self, request, timeout=None):
        """Send request (CRLF added when missing) and return its one reply."""
        if isinstance(request, str):
            request = request.encode()
        if not request.endswith(b"\n"):
            request += b"\r\n"
        self.send(request)
        return self.reply(timeout)

    def read_exact(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def wait_closed(self, timeout=None):
        """Read until the node closes; return what came before. Raises socket.timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                self._fill(deadline)
            except Closed:
                out = bytes(self.buf)
                self.buf.clear()
                return out

    def stats(self, arg=""):
        got = self.cmd("stats %s" % arg if arg else "stats")
        out = {}
        for line in got.split(b"\r\n"):
            if line.startswith(b"STAT "):
                parts = line.decode(errors="replace").split(" ", 2)
                out[parts[1]] = parts[2] if len(parts) > 2 else ""
        return out


def stats(host, port=PORT, timeout=10.0):
    """The node's `stats` over a connection of its own (numbers as ints where they are)."""
    with McTcp(host, port, timeout) as c:
        st = c.stats()
    return {k: int(v) if re.fullmatch(r"-?\d+", v) else v for k, v in st.items()}


def wait_until(pred, timeout, interval=0.05):
    """Poll pred() until it is true or timeout seconds passed; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)
