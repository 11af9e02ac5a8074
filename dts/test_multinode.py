"""test_multinode.py - three nodes of two worker lcores each
(`tools/testbed up --nodes 3 --workers 2`): every node answers on its own
address with its own MAC and keeps its own data and counters; within a node,
keys spread over both workers' partitions, so writes cross lcores through
the mailbox, and multi-key commands (get, gat, flush_all) cover them all.
"""
import random

import pytest

from lib import mcudp, rawpkt
from lib.expect import reply
from lib.testbed import CLIENT_IP, PORT, node_ip

pytestmark = pytest.mark.testbed("multi")

NODES = (1, 2, 3)


@pytest.fixture
def clients(tb):
    cs = {i: tb.client(i) for i in NODES}
    for i, c in cs.items():
        assert c.cmd("flush_all") == b"OK\r\n", "flush_all on node %d" % i
    return cs


def test_each_node_answers(tb, clients):
    assert len(set(tb.macs.values())) == 3, "nodes share a MAC: %s" % tb.macs
    for i, c in clients.items():
        reply(c, "version", "VERSION #.#.#-wirecache-#.#\r\n")
        st = c.stats("settings")
        assert st["num_threads"] == "2", "node %d runs %s workers" % (i, st["num_threads"])
        assert int(st["partitions"]) >= 2


def test_nodes_are_independent(tb, clients):
    for i, c in clients.items():
        reply(c, "set who 0 0 5\r\nnode%d" % i, "STORED\r\n")
    for i, c in clients.items():
        reply(c, "get who", "VALUE who 0 5\r\nnode%d\r\nEND\r\n" % i)
    reply(clients[2], "flush_all", "OK\r\n")
    reply(clients[2], "get who", "END\r\n")
    reply(clients[1], "get who", "VALUE who 0 5\r\nnode1\r\nEND\r\n")
    reply(clients[3], "get who", "VALUE who 0 5\r\nnode3\r\nEND\r\n")
    reply(clients[3], "delete who", "DELETED\r\n")
    reply(clients[1], "get who", "VALUE who 0 5\r\nnode1\r\nEND\r\n")
    before = {i: tb.telemetry(i)["udp_requests"] for i in NODES}
    for _ in range(5):
        reply(clients[2], "mn", "MN\r\n")
    after = {i: tb.telemetry(i)["udp_requests"] for i in NODES}
    assert after[2] - before[2] == 5 and after[1] == before[1] and after[3] == before[3], \
        "5 requests to node 2 moved the counters by %s" % {
            i: after[i] - before[i] for i in NODES}


def test_a_node_ignores_traffic_for_another(tb, clients):
    """A datagram for node 1's address, sent to node 2's MAC, is not node 2's to answer."""
    c = clients[1]
    port = c.sock.getsockname()[1]
    before = tb.telemetry(2)["ignored_ip_not_us"]
    f = rawpkt.udp_frame(rawpkt.if_mac("wcbr"), tb.macs[2], CLIENT_IP, node_ip(1), port,
                         PORT, mcudp.frame(5, b"mn\r\n"))
    with rawpkt.Wire("wcbr") as w:
        w.send(f)
    c.expect_nothing(5, 0.3)
    after = tb.wait_telemetry(2, "ignored_ip_not_us", before + 1)
    assert after == before + 1, "node 2's ignored_ip_not_us rose by %d" % (after - before)


def test_keys_across_workers(clients):
    c = clients[1]
    keys = ["k%03d" % i for i in range(120)]
    for i, k in enumerate(keys):
        reply(c, "set %s %d 0 %d\r\n%s" % (k, i, len(k), k), "STORED\r\n")
    assert c.stats()["curr_items"] == str(len(keys))
    want = b"".join(b"VALUE %s %d 4\r\n%s\r\n" % (k.encode(), i, k.encode())
                    for i, k in enumerate(keys)) + b"END\r\n"
    got = c.cmd("get " + " ".join(keys))
    assert got == want, "multi-get over both workers' partitions differs"
    for k in keys[:40]:
        reply(c, "append %s 0 0 1\r\n+" % k, "STORED\r\n")
        reply(c, "ma %s N0 J7 v" % ("n" + k), "VA 1\r\n7\r\n")
        reply(c, "ma %s v" % ("n" + k), "VA 1\r\n8\r\n")
    got = c.cmd("gat 500 " + " ".join(keys[:40]))
    assert got.count(b"+\r\n") == 40, "gat over 40 keys: %r" % got[:200]
    for k in keys[:40]:
        reply(c, "mg %s t v" % k, "VA 5 t~500\r\n%s+\r\n" % k)
    reply(c, "flush_all", "OK\r\n")
    reply(c, "get " + " ".join(keys), "END\r\n")


def test_large_value_on_each_node(tb, clients):
    for i, c in clients.items():
        value = random.Random(i).randbytes(30000 + i)
        first = value[:1300]
        assert c.request(b"set v 0 0 1300\r\n" + first + b"\r\n") == b"STORED\r\n"
        for off in range(1300, len(value), 1300):
            part = value[off:off + 1300]
            got = c.request(b"append v 0 0 %d\r\n%s\r\n" % (len(part), part))
            assert got == b"STORED\r\n", "node %d append: %r" % (i, got)
    for i, c in clients.items():
        value = random.Random(i).randbytes(30000 + i)
        got = c.cmd("get v")
        assert got == b"VALUE v 0 %d\r\n%s\r\nEND\r\n" % (len(value), value), \
            "node %d: the 30 KB value differs" % i


def test_concurrent_increments(tb, clients):
    """20 clients (20 flows, spread over both workers' queues) increment one counter 50
    times each, in lockstep: every increment is applied once, each reply is unique."""
    c = clients[1]
    reply(c, "set cnt 0 0 1\r\n0", "STORED\r\n")
    many = [tb.client(1) for _ in range(20)]
    seen = []
    for r in range(50):
        for m in many:
            m.send_raw(mcudp.frame(r, b"incr cnt 1\r\n"))
        for m in many:
            seen.append(int(m.collect(r)))
    reply(c, "get cnt", "VALUE cnt 0 4\r\n1000\r\nEND\r\n")
    assert sorted(seen) == list(range(1, 1001)), \
        "1000 increments returned %d distinct values" % len(set(seen))
