"""mcudp.py - a small memcached-over-UDP client for the end-to-end suites.

memcached's UDP framing: every datagram starts with an 8-byte header of four
big-endian u16 (request id, sequence number, total datagrams, reserved 0).
A request is one datagram (seq 0 of 1); a reply is split into datagrams of
at most 1400 bytes of UDP payload, each echoing the request id, numbered
0..total-1. This client sends one request, collects the datagrams that carry
its request id (ignoring late replies to earlier requests), checks that the
framing is consistent, and returns the reassembled reply bytes. Every wait is
bounded by a deadline; a missing reply raises McTimeout.
"""
import socket
import struct
import time

HDR = struct.Struct(">HHHH")
HDR_LEN = HDR.size
MAX_DGRAM = 1400                # UDP payload per reply datagram, header included
MAX_DATA = MAX_DGRAM - HDR_LEN  # memcached bytes per reply datagram
SO_RCVBUFFORCE = 33             # not in Python's socket module everywhere


class McTimeout(AssertionError):
    """No complete reply arrived in time (an AssertionError, so pytest shows it plainly)."""


class McFrameError(AssertionError):
    """A reply datagram broke memcached's UDP framing."""


def frame(req_id, payload, seq=0, total=1, reserved=0):
    """One request datagram: header plus memcached bytes."""
    return HDR.pack(req_id & 0xFFFF, seq & 0xFFFF, total & 0xFFFF, reserved & 0xFFFF) + payload


class Reply(bytes):
    """Reassembled reply bytes, with the datagrams' headers and sizes kept for checks."""

    headers = ()        # (req_id, seq, total, reserved) per datagram, in arrival order
    sizes = ()          # UDP payload size of each datagram, in sequence order

    @property
    def datagrams(self):
        return len(self.sizes)


class McUdp:
    """A UDP socket talking to one memcached-over-UDP server."""

    def __init__(self, host, port=11211, source=None, timeout=2.0, rcvbuf=32 << 20):
        self.addr = (host, port)
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind((source or "", 0))
        self.next_id = 1
        self.stray = 0      # datagrams that belonged to no request we were waiting for
        self.stray_log = []  # (request id, first bytes) of the latest of them

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def new_id(self):
        rid = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFF or 1
        return rid

    # ---- raw datagrams ----

    def send_raw(self, datagram):
        self.sock.sendto(datagram, self.addr)

    def recv_any(self, timeout):
        """Every datagram arriving within timeout seconds (for 'no reply at all' checks)."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < 100000:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                break
            got.append((data, src))
        return got

    def drain(self):
        """Discard whatever is queued now (late replies of earlier requests)."""
        self.sock.setblocking(False)
        try:
            for _ in range(100000):
                try:
                    self.sock.recvfrom(65535)
                except BlockingIOError:
                    break
                self.stray += 1
        finally:
            self.sock.setblocking(True)

    # ---- requests ----

    def collect(self, req_id, timeout=None):
        """Wait for every datagram of the reply to req_id; return the reassembled Reply."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        parts = {}
        headers = []
        total = None
        while total is None or len(parts) < total:
            left = deadline - time.monotonic()
            if left <= 0:
                raise McTimeout("no complete reply to request id %d within %.1fs to %s:%d "
                                "(got %d of %s datagrams)" % (req_id, timeout, self.addr[0],
                                                             self.addr[1], len(parts),
                                                             total if total else "?"))
            self.sock.settimeout(left)
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            if src != self.addr or len(data) < HDR_LEN:
                self.stray += 1
                continue
            rid, seq, tot, res = HDR.unpack_from(data)
            if rid != req_id:
                self.stray += 1     # a late reply to an earlier request
                self.stray_log = self.stray_log[-999:] + [(rid, data[HDR_LEN:HDR_LEN + 200])]
                continue
            headers.append((rid, seq, tot, res))
            if len(data) > MAX_DGRAM:
                raise McFrameError("reply datagram of %d bytes, more than %d" %
                                   (len(data), MAX_DGRAM))
            if tot == 0 or seq >= tot:
                raise McFrameError("reply datagram seq %d of total %d" % (seq, tot))
            if total is not None and tot != total:
                raise McFrameError("reply datagrams disagree on the total: %d then %d" %
                                   (total, tot))
            if res != 0:
                raise McFrameError("reply datagram with reserved field %d" % res)
            if seq in parts:
                raise McFrameError("reply datagram seq %d arrived twice" % seq)
            total = tot
            parts[seq] = data
        for seq in range(total - 1):
            if len(parts[seq]) != MAX_DGRAM:
                raise McFrameError("reply datagram %d of %d has %d bytes; all but the last "
                                   "should be full (%d)" % (seq, total, len(parts[seq]),
                                                            MAX_DGRAM))
        reply = Reply(b"".join(parts[s][HDR_LEN:] for s in range(total)))
        reply.headers = tuple(headers)
        reply.sizes = tuple(len(parts[s]) for s in range(total))
        return reply

    def request(self, payload, req_id=None, timeout=None):
        """Send payload (bytes or str) as one request; return the reply bytes."""
        if isinstance(payload, str):
            payload = payload.encode()
        rid = self.new_id() if req_id is None else req_id
        self.send_raw(frame(rid, payload))
        return self.collect(rid, timeout)

    def cmd(self, text, timeout=None):
        """A request given as text; '\\n' need not be spelled '\\r\\n' (it is added)."""
        if isinstance(text, str):
            text = text.encode()
        if not text.endswith(b"\n"):
            text += b"\r\n"
        return self.request(text, timeout=timeout)

    def silent(self, payload, req_id=None, wait=0.3):
        """Send payload and assert that nothing answers within wait seconds."""
        if isinstance(payload, str):
            payload = payload.encode()
        rid = self.new_id() if req_id is None else req_id
        self.send_raw(frame(rid, payload))
        return self.expect_nothing(rid, wait)

    def noreply(self, payload, fence=b"mn\r\n", fence_reply=b"MN\r\n"):
        """Send payload, which must get no reply, then a fence request.

        The node answers the requests of one client in order (one worker), so
        a reply to payload would arrive before the fence's; none may. Faster
        than waiting out a timeout.
        """
        if isinstance(payload, str):
            payload = payload.encode()
        rid = self.new_id()
        self.stray_log = []
        self.send_raw(frame(rid, payload))
        got = self.request(fence)
        if got != fence_reply:
            raise AssertionError("fence %r after %r answered %r" % (fence, payload[:80], got))
        late = [d for r, d in self.stray_log if r == rid]
        if late:
            raise AssertionError("expected no reply to %r, got %r" % (payload[:80], late[0]))
        return True

    def expect_nothing(self, req_id, wait=0.3):
        got = [d for d, src in self.recv_any(wait)
               if src == self.addr and len(d) >= HDR_LEN and HDR.unpack_from(d)[0] == req_id]
        if got:
            raise AssertionError("expected no reply to request id %d, got %r" %
                                 (req_id, b"".join(d[HDR_LEN:] for d in got)[:300]))
        return True

    # ---- conveniences ----

    def get(self, key):
        """The value of key (bytes) or None, via a classic get."""
        r = self.cmd("get %s" % key)
        if r == b"END\r\n":
            return None
        head, _, rest = r.partition(b"\r\n")
        parts = head.split()
        if len(parts) < 4 or parts[0] != b"VALUE":
            raise AssertionError("unexpected get reply %r" % r[:200])
        n = int(parts[3])
        if rest[n:] != b"\r\nEND\r\n":
            raise AssertionError("get reply does not end with END: %r" % r[-50:])
        return rest[:n]

    def stats(self, arg=""):
        """'stats [arg]' parsed into a dict of str -> str."""
        r = self.cmd(("stats " + arg).strip())
        if not r.endswith(b"END\r\n"):
            raise AssertionError("stats reply does not end with END: %r" % r[-100:])
        out = {}
        for ln in r[:-5].split(b"\r\n"):
            if not ln:
                continue
            parts = ln.decode().split(" ", 2)
            if parts[0] != "STAT" or len(parts) != 3:
                raise AssertionError("bad stats line %r" % ln)
            out[parts[1]] = parts[2]
        return out
