"""test_redis_pubsub.py - Pub/Sub with real clients (issue 12, part P).

redis-py (RESP2) through its PubSub API: channels, patterns, shard
channels, PUBSUB's counts and subscribed-mode errors, each scenario played
the same way against Debian's redis-server on loopback (same values, same
exception texts). Then load on the two-worker "redis" layout: 1,000
subscribers spread over the lcores and 100,000 messages from 4 publisher
connections arrive complete and in each publisher's order; and a subscriber
that does not read is cut at client-output-buffer-limit (counted in INFO)
while the node keeps serving. Introspection over both lcores: 5,000
channels and shard channels, each held by two connections, are counted once
by INFO and listed whole, each once. Subscribers are exempt from CONFIG
timeout while they listen to anything. Every loop is bounded in count and
in time.
"""
import resource
import selectors
import socket
import time

import pytest
import redis

from conftest import redis_password
from lib.resp import RedisServer, Resp, encode, exchange, read_exactly
from lib.testbed import in_root_ns, node_ip

pytestmark = pytest.mark.testbed("redis")


@pytest.fixture(scope="module")
def ref():
    srv = RedisServer(26392)
    yield srv
    srv.close()


def client(tb):
    c = redis.Redis(host=node_ip(1), port=6379, socket_timeout=10, socket_connect_timeout=5,
                    password=redis_password(tb.config))
    tb.track(c)
    return c


def next_msg(p, timeout=5.0):
    """The next message of a PubSub (confirmations included), within timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = p.get_message(timeout=0.2)
        if m is not None:
            return (m["type"], m["pattern"], m["channel"], m["data"])
    raise AssertionError("no Pub/Sub message within %.1fs" % timeout)


def scenario(c, c2):
    """What redis-py sees of one Pub/Sub session (c2 publishes and asks PUBSUB)."""
    out = []
    p = c.pubsub()
    p.subscribe("news", "sport")
    out += [next_msg(p), next_msg(p)]
    p.psubscribe("n*")
    out.append(next_msg(p))
    out.append(("publish news", c2.publish("news", "hello")))
    out += [next_msg(p), next_msg(p)]
    out.append(("publish nobody", c2.publish("zzz", "x")))
    out.append(("numsub", c2.pubsub_numsub("news", "sport", "nobody")))
    out.append(("numpat", c2.pubsub_numpat()))
    out.append(("channels", sorted(c2.pubsub_channels())))
    out.append(("channels s*", c2.pubsub_channels("s*")))
    # subscribed mode (RESP2): only the (un)subscribe family, PING, QUIT and RESET
    for cmd in (("GET", "k"), ("SET", "k", "v"), ("CLIENT", "ID")):
        p.execute_command(*cmd)
        try:
            out.append(("%s in subscribed mode" % cmd[0], p.parse_response(timeout=5)))
        except redis.ResponseError as e:
            out.append(("%s in subscribed mode" % cmd[0], "ResponseError", str(e)))
    p.execute_command("PING")
    out.append(("ping", p.parse_response(timeout=5)))
    p.execute_command("PING", "there")
    out.append(("ping arg", p.parse_response(timeout=5)))
    p.unsubscribe("sport")
    out.append(next_msg(p))
    p.punsubscribe()
    out.append(next_msg(p))
    out.append(("publish n-something", c2.publish("nx", "y")))
    p.unsubscribe()
    out.append(next_msg(p))
    # shard channels
    p.execute_command("SSUBSCRIBE", "s1", "s2")
    out += [p.parse_response(timeout=5), p.parse_response(timeout=5)]
    out.append(("spublish", c2.execute_command("SPUBLISH", "s1", "m")))
    out.append(("smessage", p.parse_response(timeout=5)))
    out.append(("publish to a shard channel", c2.publish("s1", "m")))
    out.append(("shardnumsub", c2.execute_command("PUBSUB", "SHARDNUMSUB", "s1", "zz")))
    out.append(("shardchannels", sorted(c2.execute_command("PUBSUB", "SHARDCHANNELS"))))
    p.execute_command("SUNSUBSCRIBE")
    r = [p.parse_response(timeout=5), p.parse_response(timeout=5)]
    # (which goes first is the order of Redis's dict: unordered)
    out.append(("sunsubscribe all", sorted(x[1] for x in r), [x[2] for x in r]))
    p.close()
    # confirmations for nothing
    p = c.pubsub()
    p.execute_command("UNSUBSCRIBE")
    out.append(("unsubscribe nothing", p.parse_response(timeout=5)))
    p.execute_command("PUNSUBSCRIBE", "a*")
    out.append(("punsubscribe nothing", p.parse_response(timeout=5)))
    p.close()
    return out


def test_redis_py_pubsub_like_redis(tb, rd, ref):
    node, node2 = client(tb), client(tb)
    got = scenario(node, node2)
    with in_root_ns():
        rc = redis.Redis(host="127.0.0.1", port=ref.port, socket_timeout=10)
        rc2 = redis.Redis(host="127.0.0.1", port=ref.port, socket_timeout=10)
        try:
            want = scenario(rc, rc2)
        finally:
            rc.close()
            rc2.close()
    diffs = ["  %d: node %r\n     redis %r" % (i, g, w)
             for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert len(got) == len(want) and not diffs, "differences from redis-server:\n" + \
        "\n".join(diffs)


def test_subscribed_client_info(tb, rd):
    c = client(tb)
    p = c.pubsub()
    p.subscribe("a", "b")
    p.psubscribe("x*")
    for _ in range(3):
        next_msg(p)
    mine = [l for l in c.client_list() if l.get("sub") == "2"]
    assert len(mine) == 1 and mine[0]["psub"] == "1" and "P" in mine[0]["flags"], mine
    assert len(c.client_list(_type="pubsub")) >= 1
    info = c.info("stats")
    assert info["pubsub_channels"] >= 2 and info["pubsub_patterns"] >= 1, info
    p.close()


# ---- load ----

NSUB = 1000
NCHAN = 100                 # subscriber i listens to channel i % NCHAN: 10 per channel
NPUB = 4
NMSG = 100000               # over all publishers
BATCH = 200                 # PUBLISH commands per pipelined send
LOAD_S = 120                # the whole exchange, at most


def _raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip("RLIMIT_NOFILE hard limit %d < %d" % (hard, need))
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def _connect(tb):
    s = socket.create_connection((node_ip(1), 6379), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pw = redis_password(tb.config)
    if pw:
        s.sendall(encode("AUTH", pw))
        assert s.recv(100) == b"+OK\r\n"
    return s


class Parser:
    """Splits a RESP2 stream of Pub/Sub arrays of bulk strings (and integers)."""

    def __init__(self):
        self.buf = b""

    def feed(self, d):
        self.buf += d
        out = []
        b, i, n = self.buf, 0, len(self.buf)
        while i < n:
            if b[i:i + 1] != b"*":
                raise AssertionError("unexpected reply %r" % b[i:i + 80])
            e = b.find(b"\r\n", i)
            if e < 0:
                break
            cnt = int(b[i + 1:e])
            j, items = e + 2, []
            for _ in range(cnt):
                e2 = b.find(b"\r\n", j)
                if e2 < 0:
                    break
                if b[j:j + 1] == b":":
                    items.append(int(b[j + 1:e2]))
                    j = e2 + 2
                    continue
                ln = int(b[j + 1:e2])
                if e2 + 2 + ln + 2 > n:
                    break
                items.append(b[e2 + 2:e2 + 2 + ln])
                j = e2 + 2 + ln + 2
            if len(items) < cnt:
                break
            out.append(items)
            i = j
        self.buf = b[i:]
        return out


def test_load_1000_subscribers_4_publishers(tb, rd):
    _raise_nofile(NSUB + 64)
    subs, parsers = [], []
    sel = selectors.DefaultSelector()
    deadline = time.monotonic() + LOAD_S
    try:
        for i in range(NSUB):
            s = _connect(tb)
            s.sendall(encode("SUBSCRIBE", "load:%d" % (i % NCHAN)))
            subs.append(s)
            parsers.append(Parser())
        # every confirmation before the first message
        confirmed = 0
        for i, s in enumerate(subs):
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, i)
        got = [[] for _ in range(NSUB)]
        while confirmed < NSUB and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                d = key.fileobj.recv(1 << 16)
                assert d, "subscriber %d closed" % key.data
                for m in parsers[key.data].feed(d):
                    assert m[0] == b"subscribe", m
                    confirmed += 1
        assert confirmed == NSUB, "%d of %d subscriptions confirmed" % (confirmed, NSUB)
        ps = rd("INFO", "stats")
        assert b"pubsub_channels:" in ps
        # 4 publishers, each NMSG/4 messages round-robin over the channels, pipelined
        pubs = [_connect(tb) for _ in range(NPUB)]
        per = NMSG // NPUB
        sent = [0] * NPUB
        counted = [0] * NPUB
        pbuf = [b""] * NPUB
        for k, p in enumerate(pubs):
            p.setblocking(False)
            sel.register(p, selectors.EVENT_READ, NSUB + k)
        received = 0
        want_total = NMSG * (NSUB // NCHAN)
        while (received < want_total or min(counted) < per) and time.monotonic() < deadline:
            for k, p in enumerate(pubs):
                if sent[k] < per and sent[k] - counted[k] < 4 * BATCH:
                    n = min(BATCH, per - sent[k])
                    cmds = b"".join(encode("PUBLISH", "load:%d" % ((sent[k] + j) % NCHAN),
                                           "%d:%d" % (k, sent[k] + j)) for j in range(n))
                    p.setblocking(True)
                    p.sendall(cmds)
                    p.setblocking(False)
                    sent[k] += n
            for key, _ in sel.select(timeout=0.5):
                d = key.fileobj.recv(1 << 20)
                assert d, "connection %d closed" % key.data
                if key.data >= NSUB:
                    k = key.data - NSUB
                    pbuf[k] += d
                    lines = pbuf[k].split(b"\r\n")
                    pbuf[k] = lines.pop()
                    for ln in lines:
                        assert ln == b":%d" % (NSUB // NCHAN), ln
                        counted[k] += 1
                    continue
                for m in parsers[key.data].feed(d):
                    assert m[0] == b"message", m
                    got[key.data].append(m[2])
                    received += 1
        assert min(counted) == per, "PUBLISH replies %r of %d each" % (counted, per)
        assert received == want_total, "%d of %d messages delivered within %ds" % (
            received, want_total, LOAD_S)
        # complete, and in each publisher's order
        for i in range(NSUB):
            last = [-1] * NPUB
            n = 0
            for m in got[i]:
                k, seq = map(int, m.split(b":"))
                assert seq % NCHAN == i % NCHAN and seq > last[k], (i, m, last[k])
                last[k] = seq
                n += 1
            assert n == NMSG // NCHAN, (i, n)
        for p in pubs:
            sel.unregister(p)
            p.close()
    finally:
        sel.close()
        for s in subs:
            s.close()
    # the subscribers went with their connections
    end = time.monotonic() + 10
    while time.monotonic() < end and rd("PUBSUB", "NUMSUB", "load:0") != [b"load:0", 0]:
        time.sleep(0.1)
    assert rd("PUBSUB", "NUMSUB", "load:0") == [b"load:0", 0]


def test_non_reading_subscriber_is_cut(tb, rd):
    before = int(rd("INFO", "stats").split(b"client_output_buffer_limit_disconnections:")[1]
                 .split(b"\r\n")[0])
    assert rd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 256kb 0 0") == "OK"
    slow = _connect(tb)
    fast = Resp(node_ip(1))
    try:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(encode("SUBSCRIBE", "slowch"))
        fast.send(encode("SUBSCRIBE", "slowch"))
        assert fast.reply().startswith(b"*3\r\n$9\r\nsubscribe")
        time.sleep(0.2)
        msg = "x" * 4000
        cut = False
        deadline = time.monotonic() + 30
        for i in range(20000):                   # at most 80 MB: far past the bound
            if time.monotonic() > deadline:
                break
            n = rd("PUBLISH", "slowch", msg)
            assert fast.reply(timeout=10).endswith(msg.encode() + b"\r\n")
            if n == 1:
                cut = True
                break
        assert cut, "the non-reading subscriber still counted after %d messages" % i
        after = int(rd("INFO", "stats").split(b"client_output_buffer_limit_disconnections:")[1]
                    .split(b"\r\n")[0])
        assert after == before + 1
        # the node serves on: the reader, new commands, new connections
        assert rd("PUBLISH", "slowch", "after") == 1
        assert b"after" in fast.reply(timeout=5)
        with Resp(node_ip(1)) as c:
            assert c.raw("PING") == b"+PONG\r\n"
    finally:
        rd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")
        slow.close()
        fast.close()


# ---- introspection over both lcores, idle timeout ----

def _authed(tb):
    c = Resp(node_ip(1))
    pw = redis_password(tb.config)
    if pw:
        assert c.raw("AUTH", pw) == b"+OK\r\n"
    return c


def _stat(info, name):
    return int(info.split(name.encode() + b":")[1].split(b"\r\n")[0])


NINTRO = 5000               # distinct channels (and shard channels)
NCONN = 8                   # connections, spread over the two workers


def test_introspection_counts_distinct_names(tb, rd):
    """Each name is listened to by two of 8 connections (over both lcores): INFO,
    NUMPAT, CHANNELS and SHARDCHANNELS count it once; every one of 5,000 is listed."""
    base = rd("INFO", "stats")
    conns = [_authed(tb) for _ in range(NCONN)]
    try:
        per = 2 * NINTRO // NCONN
        for j, c in enumerate(conns):
            mine = [(j * NINTRO // NCONN + k) % NINTRO for k in range(per)]
            for part in range(0, per, 250):
                c.send(encode("SUBSCRIBE", *("many:%d" % k for k in mine[part:part + 250])))
                c.send(encode("SSUBSCRIBE", *("shard:%d" % k for k in mine[part:part + 250])))
            c.send(encode("PSUBSCRIBE", "pat:*"))
            got = c.replies(2 * per + 1, timeout=30)
            assert got[-1].startswith(b"*3\r\n$10\r\npsubscribe"), got[-1]
        info = rd("INFO", "stats")
        assert _stat(info, "pubsub_channels") - _stat(base, "pubsub_channels") == NINTRO, info
        assert _stat(info, "pubsubshard_channels") - _stat(base, "pubsubshard_channels") == \
            NINTRO, info
        assert _stat(info, "pubsub_patterns") - _stat(base, "pubsub_patterns") == 1, info
        names = rd("PUBSUB", "CHANNELS", "many:*")
        assert len(names) == NINTRO and set(names) == {b"many:%d" % k for k in range(NINTRO)}
        names = rd("PUBSUB", "SHARDCHANNELS", "shard:*")
        assert len(names) == NINTRO and set(names) == {b"shard:%d" % k for k in range(NINTRO)}
        assert rd("PUBSUB", "CHANNELS", "many:4999") == [b"many:4999"]
        assert rd("PUBSUB", "NUMSUB", "many:0", "many:4999") == [b"many:0", 2, b"many:4999", 2]
        assert rd("PUBLISH", "many:7", "x") == 2
        assert rd("PUBLISH", "pat:x", "x") == NCONN
    finally:
        for c in conns:
            c.close()


def test_subscribers_exempt_from_idle_timeout(tb, rd):
    """CONFIG SET timeout 2: a quiet connection is closed, one subscribed to a channel,
    a pattern (RESP3) or a shard channel is not, until it unsubscribes and stays quiet."""
    old = rd("CONFIG", "GET", "timeout")[1]
    plain, sub, psub, ssub = (_authed(tb) for _ in range(4))
    try:
        assert rd("CONFIG", "SET", "timeout", "2") == "OK"
        # (a connection's idle timer is armed by its last activity, with the timeout then)
        assert plain.raw("PING") == b"+PONG\r\n"
        assert sub.raw("SUBSCRIBE", "idle:c").startswith(b"*3\r\n$9\r\nsubscribe")
        assert psub.raw("HELLO", "3").startswith(b"%")
        assert psub.raw("PSUBSCRIBE", "idle:*").startswith(b">3\r\n$10\r\npsubscribe")
        assert ssub.raw("SSUBSCRIBE", "idle:s").startswith(b"*3\r\n$10\r\nssubscribe")
        closed, _ = plain.wait_closed(timeout=6)
        assert closed, "a quiet connection outlived timeout 2"
        time.sleep(1)
        with _authed(tb) as pub:
            assert pub("PUBLISH", "idle:c", "late") == 2      # sub and psub's pattern
            assert pub("SPUBLISH", "idle:s", "late") == 1
        assert sub.reply(timeout=5).endswith(b"$4\r\nlate\r\n")
        assert psub.reply(timeout=5).endswith(b"$4\r\nlate\r\n")
        assert ssub.reply(timeout=5).endswith(b"$4\r\nlate\r\n")
        # no subscription left: quiet for the timeout, then closed
        assert sub.raw("UNSUBSCRIBE").startswith(b"*3\r\n$11\r\nunsubscribe")
        closed, _ = sub.wait_closed(timeout=6)
        assert closed, "an unsubscribed quiet connection outlived timeout 2"
        closed, _ = ssub.wait_closed(timeout=0.5)
        assert not closed, "a shard subscriber was timed out"
    finally:
        with _authed(tb) as c:
            assert c("CONFIG", "SET", "timeout", old) == "OK"
        for c in (plain, sub, psub, ssub):
            c.close()


# ---- Pub/Sub inside transactions on a node of two lcores (issue 12) ----
#
# A transaction runs on the lcore that owns its keys' partition, often not the
# connection's. Each scenario below is played over several keys (so some
# transactions run on the connection's lcore and some on the other) with
# several connections (spread over both lcores), against the node and against
# Debian's redis-server, and the bytes must be the same.

def message(ch, data):
    return b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(ch), ch, len(data), data)


ALPHABET = bytes(range(97, 123)) * (1 << 16)


def tx_publish_scenario(connect, keys, nsubs):
    """PUBLISHes of 100 KB and 1 MB inside transactions, between plain ones: what the
    publisher and each subscriber get."""
    subs = [connect() for _ in range(nsubs)]
    for s in subs:
        assert s.raw("SUBSCRIBE", "txch") == b"*3\r\n$9\r\nsubscribe\r\n$4\r\ntxch\r\n:1\r\n"
    pub = connect()
    replies, sent = [], []
    for i, k in enumerate(keys):
        big = ALPHABET[i:i + (1 << 20)]
        mid = ALPHABET[i + 7:i + 7 + 100 * 1024]
        batch = [b"before%d" % i, mid, big, b"after%d" % i]
        replies.append(exchange(pub, encode("PUBLISH", "txch", batch[0]) + encode("MULTI") +
                                encode("SET", k, "1") + encode("PUBLISH", "txch", mid) +
                                encode("PUBLISH", "txch", big) + encode("EXEC") +
                                encode("PUBLISH", "txch", batch[3]), "tx%d" % i))
        sent += batch
        want = b"".join(message(b"txch", m) for m in batch)
        for j, s in enumerate(subs):
            got = read_exactly(s, len(want))
            assert got == want, "subscriber %d, transaction on %s: %d bytes differ" % (
                j, k, sum(a != b for a, b in zip(got, want)))
    for s in subs + [pub]:
        s.close()
    return replies


def test_publish_in_transactions_any_size(tb, rd, ref):
    keys = ["{t%d}k" % i for i in range(6)]

    def node_conn():
        c = tb.track(Resp(node_ip(1), timeout=60))
        pw = redis_password(tb.config)
        if pw:
            assert c.raw("AUTH", pw) == b"+OK\r\n"
        return c

    got = tx_publish_scenario(node_conn, keys, 4)
    want = tx_publish_scenario(lambda: ref.connect(timeout=60), keys, 4)
    assert want[0].count(b":4\r\n") == 4     # (every PUBLISH reached the 4 subscribers)
    assert got == want


def tx_subscribe_scenario(connect, keys):
    """SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE... inside transactions on each key's partition,
    RESP2 and RESP3; then a PUBLISH reaches them."""
    out = []
    pub = connect()
    for proto in (2, 3):
        for i, k in enumerate(keys):
            c = connect()
            if proto == 3:
                c.raw("HELLO", "3")
            out.append(exchange(c, encode("MULTI") + encode("SUBSCRIBE", "ta%d-%d" % (proto, i), "tb") +
                                encode("PSUBSCRIBE", "tp*") + encode("SET", k, "1") +
                                encode("SSUBSCRIBE", "s%d" % i) + encode("EXEC"),
                                "sub%d" % i))
            out.append(("publish", pub.raw("PUBLISH", "ta%d-%d" % (proto, i), "m%d" % i)))
            out.append(exchange(c, b"", "got%d" % i))
            if proto == 3:
                out.append(exchange(c, encode("MULTI") + encode("UNSUBSCRIBE", "ta%d-%d" % (proto, i)) +
                                    encode("SET", k, "2") + encode("PUNSUBSCRIBE") +
                                    encode("GET", k) + encode("EXEC"), "unsub%d" % i))
                out.append(("publish after", pub.raw("PUBLISH", "ta%d-%d" % (proto, i), "x")))
            c.close()
    pub.close()
    return out


def test_subscribe_in_transactions(tb, rd, ref):
    keys = ["{t%d}k" % i for i in range(6)]

    def node_conn():
        c = tb.track(Resp(node_ip(1)))
        pw = redis_password(tb.config)
        if pw:
            assert c.raw("AUTH", pw) == b"+OK\r\n"
        return c

    got = tx_subscribe_scenario(node_conn, keys)
    want = tx_subscribe_scenario(ref.connect, keys)
    diffs = ["  %d: node %r\n     redis %r" % (i, g, w)
             for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert len(got) == len(want) and not diffs, "differences from redis-server:\n" + \
        "\n".join(diffs)
