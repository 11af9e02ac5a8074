"""test_redis_benchmark.py - Debian's redis-benchmark (7.0) against the node
(layout "redis": two workers, so writes to keys of the other lcore's
partitions go through the mailbox): -t ping,set,get,incr,mset,hset,sadd with
-n 100000 random keys (-r), once without pipelining (-P 1) and once with
-P 16. redis-benchmark exits at the first error reply, so a run counts as
clean when it exits 0, printed no error, and its --csv output has a row with a
positive rate for every test. hset and sadd are left out only while the node
lacks hashes (sets) and answers "unknown command". Each run is bounded.
"""
import csv
import io

import pytest

from lib.resp import need, run
from lib.testbed import node_ip

pytestmark = pytest.mark.testbed("redis")

N = 100000
KEYSPACE = 100000
TIMEOUT_S = {1: 150, 16: 60}           # for the five tests of strings
# -t name -> the rows of its --csv output
ROWS = {"ping": ["PING_INLINE", "PING_MBULK"], "set": ["SET"], "get": ["GET"], "incr": ["INCR"],
        "mset": ["MSET (10 keys)"], "hset": ["HSET"], "sadd": ["SADD"]}


def bench(tb, rd, tests, pipeline):
    """Run redis-benchmark -t tests; check it was clean; return {row: rate}."""
    before = tb.telemetry(1)
    r = run(["redis-benchmark", "-h", node_ip(1), "-p", "6379", "-t", ",".join(tests),
             "-n", str(N), "-r", str(KEYSPACE), "-P", str(pipeline), "-c", "50", "--csv"],
            TIMEOUT_S[pipeline] * len(tests) // 5 + 10)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    assert r.returncode == 0, "redis-benchmark -P %d exited %d:\n%s\n%s" % (
        pipeline, r.returncode, out[-2000:], err[-2000:])
    assert "Error" not in err and "error" not in out.lower(), err[-2000:] + out[-2000:]
    rows = {row["test"]: row for row in csv.DictReader(io.StringIO(out))}
    want = [name for t in tests for name in ROWS[t]]
    assert sorted(rows) == sorted(want), "rows %s, wanted %s:\n%s" % (sorted(rows), want, out)
    rates = {name: float(rows[name]["rps"]) for name in want}
    assert all(v > 0 for v in rates.values()), rates
    print("redis-benchmark -P %d: %s" % (pipeline, ", ".join(
        "%s %.0f/s (p99 %s ms)" % (k, v, rows[k]["p99_latency_ms"]) for k, v in rates.items())))
    after = tb.telemetry(1)
    for k in ("drop_no_mbuf", "drop_tx_full"):
        assert after[k] == before[k], "%s rose by %d" % (k, after[k] - before[k])
    return rates


def types_seen(rd, limit=3000):
    """{type: a key of it} over the first keys SCAN returns."""
    cur, typed, seen = 0, {}, 0
    while True:
        cur, keys = rd("SCAN", cur, "COUNT", 1000)
        for k in keys:
            typed.setdefault(rd("TYPE", k), k)
        seen += len(keys)
        if int(cur) == 0 or seen >= limit:
            return typed


@pytest.mark.parametrize("pipeline", [1, 16])
def test_redis_benchmark(tb, rd, pipeline):
    bench(tb, rd, ["ping", "set", "get", "incr", "mset"], pipeline)
    # what it wrote is there: random keys over both workers' partitions
    n = rd("DBSIZE")
    assert n > KEYSPACE // 2, "only %d keys after %d random SETs over %d keys" % (n, N, KEYSPACE)
    assert rd("GET", "key:__rand_int__") is None
    k = rd("KEYS", "key:*")[0]
    assert rd("STRLEN", k) == 3                     # redis-benchmark's -d default


@pytest.mark.parametrize("pipeline", [1, 16])
@pytest.mark.parametrize("test,family,kind", [("hset", "hash", "hash"), ("sadd", "set", "set")])
def test_redis_benchmark_containers(tb, rd, pipeline, test, family, kind):
    need(rd, family)
    bench(tb, rd, [test], pipeline)
    assert kind in types_seen(rd), "no %s after redis-benchmark -t %s" % (kind, test)
