"""test_cluster_pubsub.py - Pub/Sub across a three-node cluster formed through etcd
(`tools/testbed up --nodes 3`, node links with a cluster secret), as in Redis
Cluster: a PUBLISH on node 1 reaches the channel's subscribers and the pattern
subscribers on nodes 2 and 3 (redis-py), its reply counting node 1's receivers
only; one connection's messages arrive in order; SPUBLISH reaches the shard
channel's subscribers on its shard's node alone and is not sent to the others
(their plain subscribers of the same name hear nothing, the link counters do not
move). The counters: memcached stats and INFO's cluster_bus_publish_*.
"""
import time

import pytest
import redis
from pymemcache.client.base import Client as McClient
from redis.crc import key_slot

from lib import resp
from lib.testbed import node_ip

pytestmark = pytest.mark.testbed("cluster")

NODES = (1, 2, 3)
RPORT = 6379
MCPORT = 11211


def direct(i):
    return redis.Redis(host=node_ip(i), port=RPORT, socket_timeout=5, decode_responses=True)


def raw(i, *args):
    with resp.Resp(node_ip(i), RPORT, timeout=5) as c:
        return c(*args)


def stats(i):
    c = McClient((node_ip(i), MCPORT), timeout=5)
    try:
        return {k.decode(): int(v) for k, v in c.stats().items()
                if k.decode().startswith("cluster_")}
    finally:
        c.close()


_UP = []


@pytest.fixture(autouse=True)
def links_up(tb):
    """Every node's links to the two others are up (they come up once the map is in)."""
    if _UP:
        return tb
    deadline = time.time() + 30
    while True:
        opened = [stats(i).get("cluster_links_open", 0) for i in NODES]
        if opened == [2, 2, 2]:
            _UP.append(True)
            return tb
        assert time.time() < deadline, "links not up: %s" % opened
        time.sleep(0.5)


def next_msg(p, timeout=5.0):
    """The next message of a PubSub (confirmations included), within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = p.get_message(timeout=0.2)
        if m is not None:
            return (m["type"], m["pattern"], m["channel"], m["data"])
    raise AssertionError("no Pub/Sub message within %.1fs" % timeout)


def nothing_within(p, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        m = p.get_message(timeout=0.1)
        assert m is None, "unexpected %r" % (m,)


def listen(i, channels=(), patterns=()):
    """A PubSub on node i, its confirmations read."""
    c = direct(i)
    p = c.pubsub()
    if channels:
        p.subscribe(*channels)
    if patterns:
        p.psubscribe(*patterns)
    for _ in range(len(channels) + len(patterns)):
        kind = next_msg(p)[0]
        assert kind in ("subscribe", "psubscribe"), kind
    return c, p


def info_stats(i):
    text = raw(i, "INFO", "stats").decode()
    return {k: v for k, v in (line.split(":", 1) for line in text.split("\r\n") if ":" in line)}


def test_publish_reaches_subscribers_on_every_node():
    subs = {i: listen(i, channels=["news"], patterns=["n*"]) for i in (2, 3)}
    local = listen(1, channels=["news"])
    sent, recv = stats(1)["cluster_publish_sent"], [stats(i)["cluster_publish_received"]
                                                    for i in (2, 3)]
    try:
        # Redis Cluster: the reply counts the receivers of the node published on
        assert direct(1).publish("news", "hello") == 1
        assert next_msg(local[1]) == ("message", None, "news", "hello")
        for i in (2, 3):
            p = subs[i][1]
            got = sorted([next_msg(p), next_msg(p)], key=str)
            assert got == sorted([("message", None, "news", "hello"),
                                  ("pmessage", "n*", "news", "hello")], key=str), (i, got)
        # a channel only a pattern matches: node 1 counts nobody, the others deliver
        assert direct(1).publish("nothing-here", "x") == 0
        for i in (2, 3):
            assert next_msg(subs[i][1]) == ("pmessage", "n*", "nothing-here", "x")
        assert stats(1)["cluster_publish_sent"] == sent + 4
        assert [stats(i)["cluster_publish_received"] for i in (2, 3)] == [r + 2 for r in recv]
        assert int(info_stats(1)["cluster_bus_publish_sent"]) >= sent + 4
        # no loop: nothing comes back to node 1's subscriber
        nothing_within(local[1], 0.5)
    finally:
        for c, p in list(subs.values()) + [local]:
            p.close()
            c.close()


def test_one_connections_messages_arrive_in_order():
    c3, p3 = listen(3, channels=["seq"])
    pub = direct(1)
    try:
        pipe = pub.pipeline(transaction=False)
        for n in range(300):
            pipe.publish("seq", str(n))
        assert pipe.execute() == [0] * 300
        got = [next_msg(p3)[3] for _ in range(300)]
        assert got == [str(n) for n in range(300)]
    finally:
        p3.close()
        c3.close()
        pub.close()


def test_spublish_stays_within_the_shard():
    # a shard channel of node 2's slots
    owner = {}
    for lo, hi, master, *_ in raw(1, "CLUSTER", "SLOTS"):
        for s in range(lo, hi + 1):
            owner[s] = master[0].decode()
    ch = next("sh%d" % n for n in range(100000) if owner[key_slot(b"sh%d" % n)] == node_ip(2))
    # (redis-py 4.3's PubSub knows no shard channels: a plain connection listens)
    shard_sub = resp.Resp(node_ip(2), RPORT, timeout=5)
    assert shard_sub("SSUBSCRIBE", ch) == [b"ssubscribe", ch.encode(), 1]
    # the same name on the other nodes, as a plain channel and through a pattern
    others = {i: listen(i, channels=[ch], patterns=["*"]) for i in (1, 3)}
    before = {i: stats(i) for i in NODES}
    try:
        assert direct(2).execute_command("SPUBLISH", ch, "only-here") == 1
        assert resp.decode(shard_sub.reply()) == [b"smessage", ch.encode(), b"only-here"]
        # another node's shard channel is MOVED, not published
        with pytest.raises(redis.exceptions.ResponseError) as e:
            direct(1).execute_command("SPUBLISH", ch, "moved")
        assert str(e.value).startswith("MOVED %d " % key_slot(ch.encode()))
        for i in (1, 3):
            nothing_within(others[i][1], 0.5)
        after = {i: stats(i) for i in NODES}
        assert after[2]["cluster_publish_sent"] == before[2]["cluster_publish_sent"]
        assert after[2]["cluster_publish_dropped"] == before[2]["cluster_publish_dropped"]
        for i in (1, 3):
            assert after[i]["cluster_publish_received"] == before[i]["cluster_publish_received"]
        # a PUBLISH of that name from node 2 does go everywhere
        assert direct(2).publish(ch, "everywhere") == 0
        for i in (1, 3):
            got = sorted([next_msg(others[i][1]), next_msg(others[i][1])], key=str)
            assert got == sorted([("message", None, ch, "everywhere"),
                                  ("pmessage", "*", ch, "everywhere")], key=str), (i, got)
    finally:
        shard_sub.close()
        for c, p in others.values():
            p.close()
            c.close()
