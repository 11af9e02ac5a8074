"""test_tcp_http.py - HTTP sent to the memcached TCP port is hung up on in silence
(layout "tcp"), as memcached and Redis do: a browser or a server tricked into
fetching a URL (SSRF) must not get each line of its request run as a cache
command.

Each of "GET / HTTP/1.0", "PUT /asdf/asd/fasdfasdf/sadf HTTP/1.1",
"DELETE HTTP/1.1", "POST /x" and "Host: a" on a fresh connection gets not a
byte back, and the node closes the connection within 5 s; a whole browser
request (request line, headers, blank line) too. `cross_protocol_closed`
counts each hang-up, a connection opened before them is served throughout,
and memcached commands that merely look like paths or HTTP versions
(`get /path`, `set /x ...`, `get HTTP/1.1`, a key named GET) are answered as
usual.
"""
import socket

import pytest

from lib.mctcp import McTcp
from lib.testbed import PORT, node_ip

pytestmark = pytest.mark.testbed("tcp")

HANG_UP_S = 5
HTTP_LINES = [
    b"GET / HTTP/1.0",
    b"PUT /asdf/asd/fasdfasdf/sadf HTTP/1.1",
    b"DELETE HTTP/1.1",
    b"POST /x",
    b"Host: a",
]


def _hung_up_on(request):
    """Send request on a new connection; return (bytes that came back, how it ended)."""
    with McTcp(node_ip(1), PORT, timeout=HANG_UP_S) as c:
        c.send(request)
        try:
            return c.wait_closed(HANG_UP_S), "closed"
        except socket.timeout:
            return bytes(c.buf), "still open after %d s" % HANG_UP_S


@pytest.mark.parametrize("line", HTTP_LINES, ids=[ln.decode() for ln in HTTP_LINES])
def test_http_line_hung_up_on(tb, mct, line):
    assert mct.cmd(b"set bystander 0 0 2\r\nok") == b"STORED\r\n"
    before = tb.telemetry(1)["cross_protocol_closed"]
    got, how = _hung_up_on(line + b"\r\n")
    assert how == "closed", "%r: the connection was %s" % (line, how)
    assert got == b"", "%r was answered %r; HTTP gets not a byte" % (line, got[:200])
    after = tb.wait_telemetry(1, "cross_protocol_closed", before + 1)
    assert after == before + 1, "cross_protocol_closed rose by %d for %r" % (after - before, line)
    # the connection opened before is unaffected
    assert mct.cmd("get bystander", timeout=2) == b"VALUE bystander 0 2\r\nok\r\nEND\r\n"


def test_browser_request_hung_up_on(tb, mct):
    """A whole request as a browser sends it: nothing of it runs, not a byte comes back."""
    before = tb.tcp_stats(1)
    req = (b"GET /stats HTTP/1.1\r\nHost: 198.18.0.11:11211\r\nUser-Agent: Mozilla/5.0\r\n"
           b"Accept: */*\r\nConnection: keep-alive\r\n\r\n")
    got, how = _hung_up_on(req)
    assert (got, how) == (b"", "closed"), "a browser request got %r (%s)" % (got[:200], how)
    after = tb.tcp_stats(1)
    assert after["cross_protocol_closed"] == before["cross_protocol_closed"] + 1
    # nothing of it ran: the store saw no command
    for k in ("cmd_get", "cmd_set", "cmd_touch", "delete_misses", "delete_hits"):
        assert after[k] == before[k], "%s moved from %d to %d" % (k, before[k], after[k])


def test_http_hang_ups_counted_together(tb, mct):
    """All five lines, each on its own connection: five hang-ups counted, the bystander
    served between each of them."""
    before = tb.tcp_stats(1)["cross_protocol_closed"]
    for line in HTTP_LINES:
        got, how = _hung_up_on(line + b"\r\n")
        assert (got, how) == (b"", "closed"), "%r: %r (%s)" % (line, got[:100], how)
        assert mct.cmd("mn", timeout=2) == b"MN\r\n"
    after = tb.tcp_stats(1)["cross_protocol_closed"]
    assert after == before + len(HTTP_LINES), "cross_protocol_closed rose by %d for %d " \
        "hang-ups" % (after - before, len(HTTP_LINES))


def test_path_like_memcached_commands_still_work(tb, mct):
    before = tb.tcp_stats(1)["cross_protocol_closed"]
    assert mct.cmd("get /path") == b"END\r\n"
    assert mct.cmd("set /x/y 0 0 4\r\nslug") == b"STORED\r\n"
    assert mct.cmd("get /x/y") == b"VALUE /x/y 0 4\r\nslug\r\nEND\r\n"
    assert mct.cmd("get HTTP/1.1") == b"END\r\n"
    assert mct.cmd("set GET 0 0 1\r\n1") == b"STORED\r\n"
    assert mct.cmd("get GET /index.html") == b"VALUE GET 0 1\r\n1\r\nEND\r\n"
    assert mct.cmd("delete /path") == b"NOT_FOUND\r\n"
    assert mct.cmd("mg /x/y v") == b"VA 4\r\nslug\r\n"
    # an unknown command that is not HTTP is an ERROR, and the connection goes on
    assert mct.cmd("FETCH /x") == b"ERROR\r\n"
    assert mct.cmd("mn") == b"MN\r\n"
    assert tb.tcp_stats(1)["cross_protocol_closed"] == before, "a memcached line was taken " \
        "for HTTP"
