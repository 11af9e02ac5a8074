"""test_cluster_forward.py - memcached clients served by any node of a three-node
cluster formed through etcd (`tools/testbed up --nodes 3`, every dataplane with a
cluster secret): a request for a key another node owns goes over the node-to-node
link to its owner and the owner's reply comes back unchanged. pymemcache's Client
against each node and its HashClient over all three, classic and meta commands,
UDP, memccapable against a node; every key written through one node is readable
through every other, and the owner holds it; the forwarding counters move.
"""
import socket
import subprocess
import time

import pytest
from pymemcache.client.base import Client
from pymemcache.client.hash import HashClient
from redis.crc import key_slot

from lib import resp
from lib.mcudp import McUdp
from lib.testbed import node_ip

pytestmark = pytest.mark.testbed("cluster")

NODES = (1, 2, 3)
RPORT = 6379
MCPORT = 11211


@pytest.fixture(autouse=True)
def _inside(tb, links_up):
    return tb


_LINKS = []


@pytest.fixture
def links_up(tb):
    """Every node's links to the two others are up (they come up once the map is in)."""
    if _LINKS:
        return
    deadline = time.time() + 30
    while True:
        opened = [int(stats(i).get("cluster_links_open", 0)) for i in NODES]
        if opened == [2, 2, 2]:
            _LINKS.append(True)
            return
        assert time.time() < deadline, "links not up: %s" % opened
        time.sleep(0.5)


def raw(i, *args):
    """A command's decoded reply from node i over Redis (never forwarded)."""
    with resp.Resp(node_ip(i), RPORT, timeout=5) as c:
        return c(*args)


def slot_owners():
    """slot -> node number, from node 1's CLUSTER SLOTS."""
    by_ip = {node_ip(i): i for i in NODES}
    owner = {}
    for lo, hi, master, *_ in raw(1, "CLUSTER", "SLOTS"):
        for s in range(lo, hi + 1):
            owner[s] = by_ip[master[0].decode()]
    return owner


def client(i):
    return Client((node_ip(i), MCPORT), connect_timeout=5, timeout=10, no_delay=True)


def stats(i):
    c = client(i)
    try:
        return {k.decode() if isinstance(k, bytes) else k: v for k, v in c.stats().items()}
    finally:
        c.close()


def test_every_key_readable_through_every_node():
    owner = slot_owners()
    keys = ["fw:%d" % n for n in range(600)]
    assert {owner[key_slot(k.encode())] for k in keys} == set(NODES)
    clients = {i: client(i) for i in NODES}
    try:
        for n, k in enumerate(keys):
            w = NODES[n % 3]	# written through each node in turn
            assert clients[w].set(k, ("v%d" % n).encode(), noreply=False) is True
        for i in NODES:
            got = clients[i].get_many(keys[:100])	# several nodes' keys: node by node
            assert got == {k: ("v%d" % n).encode() for n, k in enumerate(keys[:100])}, i
            for n, k in enumerate(keys):
                assert clients[i].get(k) == ("v%d" % n).encode(), (i, k)
        # the owner holds each key itself: over Redis, which is never forwarded
        for n, k in enumerate(keys[:60]):
            assert raw(owner[key_slot(k.encode())], "GET", k) == ("v%d" % n).encode()
    finally:
        for c in clients.values():
            c.close()


def test_classic_commands_through_a_non_owner():
    owner = slot_owners()
    k = next("cl:%d" % n for n in range(1000) if owner[key_slot(b"cl:%d" % n)] != 1)
    c = client(1)
    try:
        c.delete(k, noreply=False)
        assert c.add(k, b"10", noreply=False) is True
        assert c.add(k, b"11", noreply=False) is False
        assert c.incr(k, 5) == 15
        assert c.decr(k, 3) == 12
        assert c.append(k, b"0", noreply=False) is True
        assert c.prepend(k, b"1", noreply=False) is True
        assert c.get(k) == b"1120"
        value, cas = c.gets(k)
        assert value == b"1120"
        assert c.cas(k, b"new", cas, noreply=False) is True
        assert c.cas(k, b"newer", cas, noreply=False) is False
        assert c.replace(k, b"r", noreply=False) is True
        assert c.touch(k, 100, noreply=False) is True
        assert c.touch(k, 200, noreply=False) is True
        with socket.create_connection((node_ip(1), MCPORT), timeout=5) as s:
            s.sendall(("gat 300 %s\r\n" % k).encode())
            got = b""
            while not got.endswith(b"END\r\n"):
                chunk = s.recv(4096)
                assert chunk, got
                got += chunk
            assert got == ("VALUE %s 0 1\r\nr\r\nEND\r\n" % k).encode()
        c.set(k, b"quiet", noreply=True)
        assert c.get(k) == b"quiet"	# noreply, then a reply: still in order
        assert c.delete(k, noreply=False) is True
        assert c.get(k) is None
    finally:
        c.close()


def test_meta_and_pipeline_in_order():
    owner = slot_owners()
    mine = next("m:%d" % n for n in range(1000) if owner[key_slot(b"m:%d" % n)] == 2)
    other = next("m:%d" % n for n in range(1000) if owner[key_slot(b"m:%d" % n)] == 3)
    with socket.create_connection((node_ip(2), MCPORT), timeout=5) as s:
        s.sendall(("ms %s 2 T0\r\naa\r\nms %s 2\r\nbb\r\nmg %s v\r\nmg %s v k\r\n"
                   "mn\r\n" % (mine, other, mine, other)).encode())
        want = "HD\r\nHD\r\nVA 2\r\naa\r\nVA 2 k%s\r\nbb\r\nMN\r\n" % other
        got = b""
        while not got.endswith(b"MN\r\n"):
            chunk = s.recv(65536)
            assert chunk, got
            got += chunk
        assert got.decode() == want
        s.sendall(("md %s q\r\nmd %s\r\nmg %s\r\n" % (other, other, other)).encode())
        got = b""
        while got.count(b"\r\n") < 2:
            chunk = s.recv(65536)
            assert chunk, got
            got += chunk
        assert got == b"NF\r\nEN\r\n"


def test_udp_is_forwarded():
    owner = slot_owners()
    k = next("u:%d" % n for n in range(1000) if owner[key_slot(b"u:%d" % n)] == 3)
    c = client(3)
    try:
        assert c.set(k, b"udp-value", noreply=False) is True
    finally:
        c.close()
    with McUdp(node_ip(1)) as u:
        assert u.cmd("get %s" % k) == ("VALUE %s 0 9\r\nudp-value\r\nEND\r\n" % k).encode()
        assert u.cmd("mg %s v" % k) == b"VA 9\r\nudp-value\r\n"


def test_hash_client_over_all_nodes():
    servers = [(node_ip(i), MCPORT) for i in NODES]
    hc = HashClient(servers, connect_timeout=5, timeout=10, use_pooling=False)
    try:
        values = {"hc:%d" % n: ("h%d" % n).encode() for n in range(500)}
        assert hc.set_many(values, noreply=False) == []
        got = hc.get_many(list(values))
        assert {(k.decode() if isinstance(k, bytes) else k): v for k, v in got.items()} == values
    finally:
        hc.close()
    for i in NODES:	# whichever node the ring picked, every node serves every key
        c = client(i)
        try:
            for k, v in list(values.items())[:150]:
                assert c.get(k) == v, (i, k)
        finally:
            c.close()


def test_memccapable_against_a_node():
    r = subprocess.run(["memccapable", "-a", "-h", node_ip(2), "-p", str(MCPORT), "-t", "10"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
                       check=False)
    out = r.stdout.decode(errors="replace")
    failed = [ln for ln in out.splitlines() if "[pass]" not in ln and ln.startswith("ascii")]
    assert r.returncode == 0 and "All tests passed" in out and not failed, (
        "memccapable -a exited %d; tests not passed: %s\n%s" % (r.returncode, failed, out))


def test_forwarding_is_counted():
    before = stats(1)
    owner = slot_owners()
    keys = [k for k in ("cnt:%d" % n for n in range(200)) if owner[key_slot(k.encode())] != 1]
    c = client(1)
    try:
        for k in keys[:50]:
            c.set(k, b"x", noreply=False)
    finally:
        c.close()
    after = stats(1)
    assert int(after["mc_forwarded"]) - int(before["mc_forwarded"]) >= 50
    assert int(after["mc_forward_failed"]) == int(before["mc_forward_failed"])
    assert int(after["mc_forward_answered"]) - int(before["mc_forward_answered"]) >= 50
    assert int(after["mc_forward_latency_us_sum"]) > int(before["mc_forward_latency_us_sum"])
    assert int(after["cluster_links_open"]) == 2	# one worker, two other nodes
    served = sum(int(stats(i)["mc_forward_served"]) for i in (2, 3))
    assert served >= 50
