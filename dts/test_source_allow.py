"""test_source_allow.py - the UDP source allow-list, on a node started with
--udp-allow 198.18.0.128/25: requests from 198.18.0.1 get no reply at all and
are counted as drop_memcached_udp_source_refused (read over DPDK telemetry,
since `stats` cannot reach the node from there); a client in the allowed half
(198.18.0.200, added to wcbr) is served. ICMP is not affected.
"""
import subprocess

import pytest

from lib import mcudp
from lib.expect import reply
from lib.testbed import CLIENT_IP, node_ip

pytestmark = pytest.mark.testbed("refused")

ALLOWED = "198.18.0.200"


@pytest.fixture
def allowed_source(tb):
    r = subprocess.run(["ip", "addr", "add", ALLOWED + "/24", "dev", "wcbr"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10, check=False)
    assert r.returncode == 0, "ip addr add %s: %s" % (ALLOWED, r.stdout)
    try:
        yield ALLOWED
    finally:
        subprocess.run(["ip", "addr", "del", ALLOWED + "/24", "dev", "wcbr"], timeout=10,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def test_refused_source_gets_nothing(tb):
    c = tb.client(1)
    assert c.sock.getsockname()[0] in ("0.0.0.0", CLIENT_IP)
    before = tb.telemetry(1)
    reqs = [b"version\r\n", b"get foo\r\n", b"set foo 0 0 1\r\nx\r\n", b"stats\r\n"]
    for i, r in enumerate(reqs):
        c.send_raw(mcudp.frame(100 + i, r))
    got = c.recv_any(0.5)
    assert not got, "a refused source got %d datagram(s): %r" % (len(got), got[0][0][:80])
    after = tb.wait_telemetry(1, "drop_memcached_udp_source_refused",
                              before["drop_memcached_udp_source_refused"] + len(reqs))
    rose = after - before["drop_memcached_udp_source_refused"]
    assert rose == len(reqs), "drop_memcached_udp_source_refused rose by %d for %d requests" % (
        rose, len(reqs))
    assert tb.telemetry(1)["udp_requests"] == before["udp_requests"], \
        "refused requests were counted as served"


def test_allowed_source_served(tb, allowed_source):
    before = tb.telemetry(1)["drop_memcached_udp_source_refused"]
    c = tb.client(1, source=allowed_source)
    reply(c, "version", "VERSION #.#.#-wirecache-#.#\r\n")
    reply(c, "set foo 0 0 2\r\nok", "STORED\r\n")
    reply(c, "get foo", "VALUE foo 0 2\r\nok\r\nEND\r\n")
    # the refused requests of the other test stored nothing
    st = c.stats()      # trusted (198.18.0.0/24): the full stats reply is allowed
    assert st["curr_items"] == "1"
    assert int(st["drop_memcached_udp_source_refused"]) >= before
    assert tb.telemetry(1)["drop_memcached_udp_source_refused"] == before, \
        "an allowed source was counted as refused"


def test_icmp_unaffected(tb):
    r = subprocess.run(["ping", "-c", "1", "-W", "2", node_ip(1)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=10, check=False)
    assert r.returncode == 0, "ping from a refused UDP source failed: %s" % r.stdout
