"""test_tcp_clients.py - real memcached clients over the node's TCP: libmemcached's
memccapable (every ASCII test), pymemcache's base Client through its whole API
(every write also noreply, binary-safe and 1 MiB values, 100-key multi-gets,
set_many/get_many), pymemcache's HashClient over three nodes (a fair share on
each, and about a third of the keys move when a node leaves), libmemcached's
command-line tools (memccp, memccat, memcrm, memcstat, memcflush), and
memcslap loading the node for 30 seconds without an error.
"""
import os
import re
import subprocess
import time

import pytest
from pymemcache.client.base import Client
from pymemcache.client.hash import HashClient
from pymemcache.exceptions import MemcacheClientError

from lib.testbed import PORT, node_ip

pytestmark = pytest.mark.testbed("tcp")

SERVER = "%s:%d" % (node_ip(1), PORT)
U64 = (1 << 64) - 1


def run(cmd, timeout, **kw):
    """Run a client program (in namespace wc, as this process is); bounded in time."""
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False, **kw)
    except subprocess.TimeoutExpired as e:
        pytest.fail("%s did not finish within %ds; output:\n%s" % (
            " ".join(cmd), timeout, (e.stdout or b"").decode(errors="replace")[-3000:]))


@pytest.fixture
def pmc(tb):
    c = tb.track(Client((node_ip(1), PORT), connect_timeout=5, timeout=10, no_delay=True))
    assert c.flush_all(noreply=False) is True
    return c


# ---- libmemcached's memccapable ----

def test_memccapable_ascii(tb):
    r = run(["memccapable", "-a", "-h", node_ip(1), "-p", str(PORT), "-t", "10"], 120)
    out = r.stdout.decode(errors="replace")
    failed = [ln for ln in out.splitlines() if "[pass]" not in ln and ln.startswith("ascii")]
    assert r.returncode == 0 and "All tests passed" in out and not failed, (
        "memccapable -a exited %d; tests not passed: %s\n%s" % (r.returncode, failed, out))


# ---- pymemcache: the base client ----

def test_pymemcache_set_get(tb, pmc):
    assert pmc.set("k", b"v", noreply=False) is True
    assert pmc.get("k") == b"v"
    assert pmc.get("missing") is None
    assert pmc.get("missing", default=b"dflt") == b"dflt"
    assert pmc.set("k", b"v2", flags=12345, noreply=False) is True
    assert tb.tcp(1).cmd("get k") == b"VALUE k 12345 2\r\nv2\r\nEND\r\n"
    flagged = tb.track(Client((node_ip(1), PORT), connect_timeout=5, timeout=10,
                              deserializer=lambda key, value, flags: (value, flags)))
    assert flagged.get("k") == (b"v2", 12345)
    assert pmc.set("empty", b"", noreply=False) is True
    assert pmc.get("empty") == b""
    assert pmc.set("k250" + "x" * 246, b"long key", noreply=False) is True
    assert pmc.get("k250" + "x" * 246) == b"long key"
    with pytest.raises(MemcacheClientError):
        pmc.set("k" * 251, b"x")


def test_pymemcache_get_many_gets(pmc):
    pmc.set_many({"a": b"1", "b": b"22", "c": b"333"}, noreply=False)
    assert pmc.get_many(["a", "b", "c", "nope"]) == {"a": b"1", "b": b"22", "c": b"333"}
    assert pmc.get_many([]) == {}
    v, cas = pmc.gets("a")
    assert v == b"1" and cas.isdigit()
    assert pmc.gets("nope") == (None, None)
    many = pmc.gets_many(["a", "b", "nope"])
    assert set(many) == {"a", "b"} and many["b"][0] == b"22"


def test_pymemcache_cas(pmc):
    assert pmc.cas("nokey", b"x", b"1") is None                   # missing: NOT_FOUND
    pmc.set("c", b"first", noreply=False)
    _, cas = pmc.gets("c")
    assert pmc.cas("c", b"second", cas) is True                   # match: STORED
    assert pmc.get("c") == b"second"
    assert pmc.cas("c", b"third", cas) is False                   # stale: EXISTS
    assert pmc.get("c") == b"second"
    _, cas2 = pmc.gets("c")
    assert cas2 != cas
    assert pmc.cas("c", b"quiet", cas2, noreply=True) is True
    assert pmc.get("c") == b"quiet"


def test_pymemcache_add_replace_append_prepend(pmc):
    assert pmc.add("a", b"1", noreply=False) is True
    assert pmc.add("a", b"2", noreply=False) is False
    assert pmc.get("a") == b"1"
    assert pmc.replace("a", b"3", noreply=False) is True
    assert pmc.replace("nope", b"3", noreply=False) is False
    assert pmc.get("nope") is None
    assert pmc.append("a", b"4", noreply=False) is True
    assert pmc.prepend("a", b"0", noreply=False) is True
    assert pmc.get("a") == b"034"
    assert pmc.append("nope", b"x", noreply=False) is False
    assert pmc.prepend("nope", b"x", noreply=False) is False
    assert pmc.get("nope") is None


def test_pymemcache_delete_touch(pmc):
    pmc.set("d", b"x", noreply=False)
    assert pmc.delete("d", noreply=False) is True
    assert pmc.delete("d", noreply=False) is False
    assert pmc.get("d") is None
    pmc.set("t", b"x", expire=100, noreply=False)
    assert pmc.touch("t", expire=1, noreply=False) is True
    assert pmc.touch("nope", expire=1, noreply=False) is False
    time.sleep(2.1)
    assert pmc.get("t") is None, "touch to 1 s did not expire the item"


def test_pymemcache_touch_keeps_value_flags_and_cas(tb, pmc):
    """An item stored without a TTL has no expiry word (store/item.h): touching it writes
    it again, which must not show. As memcached does, the touch keeps the value, the
    flags and the CAS unique (a cas with the unique read before the touch still stores),
    and the TTL it gives holds."""
    pmc.set("tk", b"kept", noreply=False)                      # no TTL, no flags
    value, cas = pmc.gets("tk")
    assert value == b"kept"
    assert pmc.touch("tk", expire=100, noreply=False) is True
    assert pmc.gets("tk") == (b"kept", cas), "the touch changed the value or the CAS"
    assert pmc.touch("tk", expire=1, noreply=False) is True     # now in place
    assert pmc.cas("tk", b"swapped", cas, noreply=False) is True
    assert pmc.get("tk") == b"swapped"
    # client flags survive a touch
    pmc.set("tf", b"42", flags=7, noreply=False)
    _, cas = pmc.gets("tf")
    assert pmc.touch("tf", expire=1, noreply=False) is True
    assert pmc.gets("tf") == (b"42", cas)
    assert tb.tcp(1).cmd("get tf") == b"VALUE tf 7 2\r\n42\r\nEND\r\n"
    time.sleep(2.1)
    assert pmc.get("tf") is None, "the TTL the touch gave did not expire the item"
    assert pmc.get("tk") == b"swapped", "the cas's set (no TTL) should have kept the item"


def test_pymemcache_incr_decr(pmc):
    assert pmc.incr("n", 1) is None                               # missing
    assert pmc.decr("n", 1) is None
    pmc.set("n", b"10", noreply=False)
    assert pmc.incr("n", 5) == 15
    assert pmc.decr("n", 3) == 12
    assert pmc.decr("n", 100) == 0                                # floor at 0
    pmc.set("n", str(U64).encode(), noreply=False)
    assert pmc.incr("n", 1) == 0                                  # wraps at 2^64
    pmc.set("n", str(U64 - 1).encode(), noreply=False)
    assert pmc.incr("n", 3) == 1
    pmc.set("n", b"5", noreply=False)
    assert pmc.incr("n", U64) == 4
    pmc.set("s", b"abc", noreply=False)
    with pytest.raises(MemcacheClientError):
        pmc.incr("s", 1)                  # CLIENT_ERROR cannot increment or decrement
    assert pmc.incr("n", 1, noreply=True) is None
    assert pmc.decr("n", 2, noreply=True) is None
    assert pmc.get("n") == b"3"


def test_pymemcache_noreply_on_every_write(pmc):
    """pymemcache's default: storage commands are sent noreply. Every write that way, then
    its effect read back on the same connection."""
    assert pmc.set("a", b"1") is True
    assert pmc.add("b", b"2") is True
    assert pmc.add("a", b"x") is True          # noreply cannot tell; nothing stored
    assert pmc.replace("a", b"3") is True
    assert pmc.append("a", b"4") is True
    assert pmc.prepend("a", b"0") is True
    assert pmc.get_many(["a", "b"]) == {"a": b"034", "b": b"2"}
    _, cas = pmc.gets("a")
    assert pmc.cas("a", b"5", cas, noreply=True) is True
    assert pmc.get("a") == b"5"
    assert pmc.set_many({"m1": b"x", "m2": b"y"}) == []
    assert pmc.get_many(["m1", "m2"]) == {"m1": b"x", "m2": b"y"}
    assert pmc.touch("a", expire=100) is True
    assert pmc.delete("b") is True
    assert pmc.get("b") is None
    assert pmc.delete_many(["m1", "m2"]) is True
    assert pmc.get_many(["m1", "m2"]) == {}
    pmc.set("n", b"1")
    pmc.incr("n", 9, noreply=True)
    pmc.decr("n", 2, noreply=True)
    assert pmc.get("n") == b"8"
    assert pmc.flush_all() is True
    assert pmc.get("a") is None
    # nothing was answered that the client did not read
    assert pmc.version().startswith(b"1.6.")


def test_pymemcache_flush_version_stats(pmc):
    pmc.set("f", b"x", noreply=False)
    assert pmc.flush_all(noreply=False) is True
    assert pmc.get("f") is None
    assert re.fullmatch(rb"1\.6\.\S+", pmc.version())
    st = pmc.stats()
    for k in (b"curr_connections", b"total_connections", b"cmd_get", b"curr_items",
              b"tcp_retransmits", b"rejected_connections"):
        assert k in st, "stats has no %r" % k
    assert st[b"curr_connections"] >= 1
    assert pmc.stats("settings")[b"maxconns"] == 12000


def test_pymemcache_binary_safe_values(pmc):
    every = bytes(range(256))
    values = {
        "all256": every,
        "all256x4": every * 4,
        "crlf": b"a\r\nb\r\n",
        "end": b"\r\nEND\r\n",
        "value": b"VALUE x 0 1\r\ny\r\nEND\r\n",
        "nul": b"\0" * 100,
        "lf": b"\n",
        "cr": b"\r",
    }
    for k, v in values.items():
        assert pmc.set(k, v, noreply=False) is True
    for k, v in values.items():
        assert pmc.get(k) == v, "%s not byte-exact" % k
    assert pmc.get_many(list(values)) == values


def test_pymemcache_1mib_values(pmc):
    for size in (1 << 20, (1 << 20) - 1, 1000000):
        v = os.urandom(size)
        assert pmc.set("big", v, noreply=False) is True, "%d-byte value not stored" % size
        assert pmc.get("big") == v, "%d-byte value not returned byte-exact" % size
    with pytest.raises(Exception):
        pmc.set("toobig", os.urandom((1 << 20) + 1), noreply=False)   # SERVER_ERROR


def test_pymemcache_multi_get_100_keys(pmc):
    values = {"key:%03d" % i: os.urandom(i * 10 + 1) for i in range(100)}
    assert pmc.set_many(values, noreply=False) == []
    assert pmc.get_many(list(values)) == values
    assert pmc.get_many(list(values) + ["nope%d" % i for i in range(20)]) == values
    got = pmc.gets_many(list(values))
    assert {k: v for k, (v, _) in got.items()} == values


def test_pymemcache_many_clients_interleaved(tb, pmc):
    """Ten clients, each its own connection, taking turns on shared keys."""
    clients = [tb.track(Client((node_ip(1), PORT), connect_timeout=5, timeout=10))
               for _ in range(10)]
    for rnd in range(20):
        for i, c in enumerate(clients):
            assert c.set("shared", b"%d:%d" % (rnd, i), noreply=False)
            assert clients[(i + 1) % 10].get("shared") == b"%d:%d" % (rnd, i)
    assert pmc.get("shared") == b"19:9"


# ---- pymemcache: HashClient over three nodes ----

@pytest.mark.testbed("multi")
def test_pymemcache_hashclient_three_nodes(tb):
    servers = [(node_ip(i), PORT) for i in (1, 2, 3)]
    base = [tb.track(Client(s, connect_timeout=5, timeout=10)) for s in servers]
    for c in base:
        assert c.flush_all(noreply=False)
    hc = tb.track(HashClient(servers, connect_timeout=5, timeout=10, use_pooling=False))
    keys = ["user:%05d" % i for i in range(900)]
    for k in keys:
        assert hc.set(k, k.encode(), noreply=False) is True
    assert hc.get_many(keys) == {k: k.encode() for k in keys}
    # where the keys went: per-node item counts, and a direct get on the node the hash names
    items = [c.stats()[b"curr_items"] for c in base]
    assert sum(items) == len(keys), "items per node %s for %d keys" % (items, len(keys))
    for n in items:
        assert 0.2 <= n / len(keys) <= 0.46, "unfair spread over 3 nodes: %s" % items
    name = {"%s:%d" % s: i for i, s in enumerate(servers)}
    for k in keys[:60]:
        owner = name[hc.hasher.get_node(k)]
        assert base[owner].get(k) == k.encode(), "%s not on node %d" % (k, owner + 1)
        for other in range(3):
            if other != owner:
                assert base[other].get(k) is None, "%s on two nodes" % k
    # node 3 leaves the client's list: only its keys move
    hc2 = tb.track(HashClient(servers[:2], connect_timeout=5, timeout=10, use_pooling=False))
    moved = [k for k in keys if hc.hasher.get_node(k) != hc2.hasher.get_node(k)]
    frac = len(moved) / len(keys)
    assert 0.2 <= frac <= 0.45, "removing 1 of 3 nodes moved %.2f of the keys" % frac
    on3 = {k for k in keys if hc.hasher.get_node(k) == "%s:%d" % servers[2]}
    assert set(moved) == on3, "keys that were not on the removed node moved"
    got = hc2.get_many(keys)
    assert set(got) == set(keys) - on3, "the two-node client misses keys that did not move"
    for k in on3:
        hc2.set(k, b"again", noreply=False)
    assert len(hc2.get_many(keys)) == len(keys)


# ---- libmemcached's command-line tools ----

def test_libmemcached_tools_round_trip(tb, tmp_path, pmc):
    files = {"plain.txt": b"hello from memccp\n", "binary.bin": bytes(range(256)) * 40}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    srv = "--servers=" + SERVER
    r = run(["memccp", srv, *[str(tmp_path / n) for n in files]], 30)
    assert r.returncode == 0, r.stdout
    for name, data in files.items():
        assert pmc.get(name) == data, "memccp stored %s wrongly" % name
        out = tmp_path / ("out." + name)
        r = run(["memccat", srv, "--file=%s" % out, name], 30)
        assert r.returncode == 0 and out.read_bytes() == data, "memccat %s: rc %d, %r" % (
            name, r.returncode, r.stdout[:100])
        r = run(["memccat", srv, name], 30)      # to stdout: the value and a newline
        assert r.returncode == 0 and r.stdout == data + b"\n", r.stdout[-100:]
    r = run(["memcstat", srv], 30)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0 and re.search(r"curr_connections: \d+", out) and \
        re.search(r"curr_items: 2\b", out), out
    r = run(["memcrm", srv, "plain.txt"], 30)
    assert r.returncode == 0, r.stdout
    assert pmc.get("plain.txt") is None
    r = run(["memccat", srv, "plain.txt"], 30)
    assert r.returncode != 0, "memccat of a removed key succeeded"
    r = run(["memcflush", srv], 30)
    assert r.returncode == 0, r.stdout
    assert pmc.get("binary.bin") is None, "memcflush left an item"


def test_memcslap_30s(tb, pmc):
    """memcslap has no timed mode in this version (--execute-number counts operations):
    back-to-back runs of its set, get and mget tests for 30 s, 4 threads each (an mget
    asks for all 2000 keys of 4 KiB at once), none with a failure; then one mget run by
    16 clients at once."""
    srv = "--servers=" + SERVER
    tel0 = tb.telemetry(1)
    st0 = tb.tcp_stats(1)
    deadline = time.monotonic() + 30
    runs, failures = [], []
    tests = ["set", "get", "mget"]
    n = 2000
    while time.monotonic() < deadline and len(runs) < 200:
        test = tests[len(runs) % 3]
        t0 = time.monotonic()
        r = run(["memcslap", srv, "--flush", "--concurrency=4", "--execute-number=%d" % n,
                 "--test=" + test], 60)
        took = time.monotonic() - t0
        out = r.stdout.decode(errors="replace")
        bad = [ln for ln in out.splitlines() if re.search(r"fail|error", ln, re.I)]
        m = re.search(r"Time to %s\s+(\d+) keys by\s+(\d+) threads" % test, out)
        done = int(m.group(1)) if m else None
        runs.append((test, done))
        if r.returncode != 0 or bad or done is None or (test == "set" and done != 4 * n):
            failures.append("run %d --test=%s: rc %d, %s keys in %.1f s; %s" % (
                len(runs), test, r.returncode, done, took,
                [b[:160] for b in bad[:2]] or out[-300:]))
    # 16 clients at once, each writing a 2000-key get before it reads a byte of the 8 MiB
    # of replies (libmemcached waits 5 s, then fails): the node must take all 16 requests
    # whole while their replies wait (this once deadlocked under mbuf pressure)
    r = run(["memcslap", srv, "--concurrency=16", "--execute-number=%d" % n, "--test=mget"], 90)
    out = r.stdout.decode(errors="replace")
    bad = [ln for ln in out.splitlines() if re.search(r"fail|error", ln, re.I)]
    if r.returncode != 0 or bad or not re.search(r"Time to mget\s+\d+ keys by\s+16 threads", out):
        failures.append("16 clients --test=mget: rc %d; %s" % (
            r.returncode, [b[:160] for b in bad[:2]] or out[-300:]))
    assert len(runs) >= 6, "only %d memcslap runs in 30 s" % len(runs)
    per = {t: sum(1 for x, _ in runs if x == t) for t in tests}
    bad_per = {t: sum(1 for f in failures if "--test=%s:" % t in f) for t in tests}
    tel = tb.telemetry(1)
    moved = {k: tel[k] - tel0[k] for k in ("tcp_resets_sent", "drop_no_mbuf")}
    if failures:
        st1 = tb.tcp_stats(1)
        moved.update({k: st1[k] - st0[k] for k in st1 if k.startswith("tcp_") and
                      isinstance(st1[k], int) and k in st0 and st1[k] != st0[k]})
    assert not failures, "memcslap: %d of %d runs failed (runs %s, failed %s; node counters " \
        "moved %s):\n%s" % (len(failures), len(runs), per, bad_per, moved,
                            "\n".join(failures[:4]))
    st = tb.tcp_stats(1)
    assert st["cmd_set"] > 0 and st["cmd_get"] > 0
