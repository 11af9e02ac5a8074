"""uploads.py - stalled uploads, for the suites that check a node is not starved by them
(test_tcp_uploads.py on the memcached port, test_redis_robust.py on the Redis port).

open_stalled opens many non-blocking connections, a bounded number of handshakes at a
time, and pushes into each socket's kernel buffer a request head and then part of a large
value, and leaves them silent; fate says afterwards what became of one of them (reset by
the node, closed, still open).
"""
import selectors
import socket
import time


def open_stalled(ip, port, n, head, sent, in_flight, deadline):
    """Open n connections to ip:port (in_flight handshakes at a time) and give each one's
    kernel head(i) and then sent bytes of a value, before deadline (time.monotonic()).
    Returns (sockets, bytes accepted per socket, errors)."""
    payload = memoryview(b"h" * sent)
    sel = selectors.DefaultSelector()
    socks, done, errors = [], {}, []
    pending, started = 0, 0
    try:
        while time.monotonic() < deadline:
            while started < n and pending < in_flight:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2 << 20)
                s.setblocking(False)
                rc = s.connect_ex((ip, port))
                if rc not in (0, 115):      # EINPROGRESS
                    errors.append("connect %d: errno %d" % (started, rc))
                    s.close()
                else:
                    sel.register(s, selectors.EVENT_WRITE, [head(started), 0])
                    socks.append(s)
                    done[s] = 0
                    pending += 1
                started += 1
            if pending == 0 and started == n:
                break
            for key, _ in sel.select(timeout=0.2):
                s, (first, off) = key.fileobj, key.data
                try:
                    if off < len(first):
                        off += s.send(first[off:])
                    if off >= len(first):
                        while done[s] < sent:
                            done[s] += s.send(payload[done[s]:])
                except BlockingIOError:
                    key.data[1] = off
                    continue
                except OSError as e:
                    errors.append("send: %s" % e)
                sel.unregister(s)
                pending -= 1
    finally:
        sel.close()
    return socks, done, errors


def fate(s):
    """What became of a stalled upload: 'reset', 'eof', 'answered' or 'open'."""
    s.setblocking(False)
    try:
        return "eof" if s.recv(4096) == b"" else "answered"
    except ConnectionResetError:
        return "reset"
    except BlockingIOError:
        return "open"
    except OSError as e:
        return "error %s" % e
