"""test_redis_cli.py - Debian's redis-cli (7.0) against the node's Redis port
(layout "redis"), its output compared with the same commands sent to Debian's
redis-server on loopback: RESP2 in raw and formatted output, RESP3 (-3) with
maps, nulls and sets printed as redis-cli prints them, -x (the last argument
from stdin), -r (repeat), --scan --pattern returning exactly the keys that
match, --bigkeys, --pipe mass insertion of 100,000 keys (RESP generated here,
the summary says "errors: 0, replies: 100000" and DBSIZE agrees), inline
commands through nc, and redis-cli -c in Cluster mode (layout "redis-cluster",
while the CLUSTER commands exist).
"""
import os
import re
import subprocess
import tempfile

import pytest

from lib.resp import RedisServer, encode, need, run
from lib.testbed import node_ip

pytestmark = pytest.mark.testbed("redis")

NODE = ["redis-cli", "-h", node_ip(1), "-p", "6379"]


@pytest.fixture(scope="module")
def ref():
    """Debian's redis-server on the host's loopback, for the same commands."""
    srv = RedisServer()
    yield srv
    srv.close()


def cli(args, stdin=None, timeout=30, ref=None):
    """redis-cli against the node (or ref, the redis-server): (exit status, stdout)."""
    base = NODE if ref is None else ["redis-cli", "-p", str(ref.port)]
    r = run(base + list(args), timeout, input=stdin, root_ns=ref is not None)
    return r.returncode, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def both(ref, script, opts=()):
    """Run each command line of script through redis-cli (one process per line, as a
    person types them) against the node and the redis-server on fresh keyspaces; returns
    [(line, node's output, redis-server's output)]."""
    for r in (None, ref):
        assert cli(["FLUSHALL"], ref=r)[1].strip() == "OK"
    out = []
    for line in script:
        args = line.split()
        out.append((line, cli(list(opts) + args)[1], cli(list(opts) + args, ref=ref)[1]))
    return out


def ttl_close(line, n, r):
    """TTL rounds to the nearest second, and each line is a process of its own: on a busy
    machine over half a second may pass between SET ... EX and TTL on one server and not
    on the other, so a TTL may differ by one."""
    m = re.fullmatch(r"\(integer\) (-?\d+)\n", n), re.fullmatch(r"\(integer\) (-?\d+)\n", r)
    return line.startswith("TTL ") and all(m) and abs(int(m[0].group(1)) - int(m[1].group(1))) <= 1


def same(rows, norm=lambda s: s):
    bad = [(line, n, r) for line, n, r in rows
           if norm(n) != norm(r) and not ttl_close(line, norm(n), norm(r))]
    assert not bad, "redis-cli printed differently for the node and redis-server:\n" + "\n".join(
        "  %s\n    node:  %r\n    redis: %r" % b for b in bad)


STRINGS = [
    "SET k v", "GET k", "GET nope", "SET n 10", "INCR n", "INCRBY n -20", "DECR n",
    "INCRBYFLOAT f 1.5", "INCRBYFLOAT f 1e2", "APPEND k _tail", "STRLEN k", "GETRANGE k 0 2",
    "SETRANGE k 1 XY", "GET k", "MSET a 1 b 2", "MGET a nope b", "MSETNX {t}a 1 {t}c 3", "MSETNX {t}a 1 {t}d 4",
    "SETNX a 9", "GETSET a 7", "GETDEL a", "GETDEL a", "SET e v EX 100", "TTL e", "PERSIST e",
    "TTL e", "EXPIRE e 50 GT", "EXPIRE e 50 NX", "PTTL nope", "EXISTS k b nope", "TYPE k",
    "TYPE nope", "DEL k b nope", "RENAME {t}nope {t}x", "SET {t}src 1", "COPY {t}src {t}dst",
    "GET {t}dst", "RENAMENX {t}src {t}dst", "RENAME {t}src {t}src2", "DBSIZE", "KEYS nomatch*", "ECHO hello", "PING", "PING hi",
    "INCR k2 extra", "NOSUCHCMD 1 2", "SET x 1 EX 0", "GET", "SELECT 0",
    "MULTI", "EXEC",
]


def test_resp2_formatted_same_as_redis(tb, rd, ref):
    same(both(ref, STRINGS, opts=["--no-raw"]))


def test_resp2_raw_same_as_redis(tb, rd, ref):
    same(both(ref, STRINGS))


def test_resp3_output_same_as_redis(tb, rd, ref):
    script = ["GET nope", "SET k v", "MGET k nope", "SET n 1 NX", "SET n 1 NX", "GETEX k PERSIST",
              "SET c 5", "INCRBYFLOAT c 0.5", "EXISTS k", "TTL nope", "KEYS nope*"]
    same(both(ref, script, opts=["-3", "--no-raw"]))
    # HELLO 3 prints a map: the same but for the connection id
    n, r = cli(["-3", "--no-raw", "HELLO", "3"])[1], cli(["-3", "--no-raw", "HELLO", "3"], ref=ref)[1]
    ids = re.compile(r'"id" => \(integer\) \d+')
    assert ids.sub("ID", n) == ids.sub("ID", r), (n, r)
    assert '"proto" => (integer) 3' in n and '"server" => "redis"' in n, n


def test_resp3_types_of_later_families(tb, rd, ref):
    """Sets (~) and maps (%) as redis-cli -3 prints them."""
    need(rd, "hash", "set")
    script = ["HSET h f1 v1", "HGETALL h", "HGETALL nope", "SADD s m", "SMEMBERS s",
              "SMEMBERS nope", "SISMEMBER s m", "HSTRLEN h f1", "HRANDFIELD h 1 WITHVALUES"]
    same(both(ref, script, opts=["-3", "--no-raw"]))


def test_stdin_argument_and_repeat(tb, rd, ref):
    value = "line one\nline two with spaces\n\x01binary\n"
    for r in (None, ref):
        assert cli(["-x", "SET", "fromstdin"], stdin=value.encode(), ref=r)[1].strip() == "OK"
        rc, out = cli(["--raw", "GET", "fromstdin"], ref=r)
        assert rc == 0 and out == value + "\n", (r, out)
        rc, out = cli(["-r", "25", "INCR", "ctr"], ref=r)
        assert rc == 0 and out.split() == [str(i) for i in range(1, 26)], out
    # 4 processes at once, 250 increments each: none lost
    procs = [subprocess.Popen(NODE + ["-r", "250", "INCR", "ctr4"], stdout=subprocess.DEVNULL)
             for _ in range(4)]
    try:
        rcs = [p.wait(60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert rcs == [0] * 4
    assert cli(["GET", "ctr4"])[1].strip() == "1000"


def test_scan_pattern_exact(tb, rd):
    """--scan --pattern: exactly the matching keys, each once, among many that do not."""
    pipe = b"".join(encode("SET", "user:%d" % i, "x") for i in range(3000))
    pipe += b"".join(encode("SET", "session:%d" % i, "x") for i in range(2000))
    pipe += b"".join(encode("SET", "user:%d:extra" % i, "x") for i in range(0, 3000, 7))
    rd.send(pipe)
    rd.replies(3000 + 2000 + 429, timeout=60)
    assert rd("DBSIZE") == 5429
    cases = {
        "user:1*": {"user:%d" % i for i in range(3000) if str(i).startswith("1")} |
        {"user:%d:extra" % i for i in range(0, 3000, 7) if str(i).startswith("1")},
        "user:[0-9]": {"user:%d" % i for i in range(10)},
        "session:?5": {"session:%d5" % i for i in range(1, 10)},
        "user:*:extra": {"user:%d:extra" % i for i in range(0, 3000, 7)},
        "nomatch*": set(),
        "*": None,
    }
    for pattern, want in cases.items():
        rc, out = cli(["--scan", "--pattern", pattern], timeout=60)
        keys = out.split()
        assert rc == 0, out[-500:]
        assert len(keys) == len(set(keys)), "--scan --pattern %s repeated keys" % pattern
        if want is None:
            assert len(keys) == 5429, "--scan saw %d of 5429 keys" % len(keys)
        else:
            assert set(keys) == want, "--scan --pattern %s: missing %s, extra %s" % (
                pattern, sorted(want - set(keys))[:10], sorted(set(keys) - want)[:10])


def test_bigkeys(tb, rd, ref):
    for r in (None, ref):
        assert cli(["FLUSHALL"], ref=r)[1].strip() == "OK"
        for i in range(50):
            cli(["SET", "k%d" % i, "v" * (i + 1)], ref=r)
        rc, out = cli(["--bigkeys"], ref=r, timeout=60)
        assert rc == 0, out
        assert 'Biggest string found \'"k49"\' has 50 bytes' in out, out
        assert "50 strings with 1275 bytes" in out, out
        assert "Sampled 50 keys in the keyspace!" in out, out


def test_pipe_mass_insertion(tb, rd):
    """redis-cli --pipe with 100,000 SETs in RESP, as Redis's mass-insertion guide makes
    them: every one answered, none an error, all there."""
    with tempfile.NamedTemporaryFile(prefix="wc-pipe-", suffix=".resp", delete=False) as f:
        for base in range(0, 100000, 10000):
            f.write(b"".join(encode("SET", "mass:%d" % i, "value-%d" % i)
                             for i in range(base, base + 10000)))
        path = f.name
    try:
        with open(path, "rb") as f:
            r = run(NODE + ["--pipe", "--pipe-timeout", "30"], 120, stdin=f)
    finally:
        os.unlink(path)
    out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
    assert r.returncode == 0, out
    assert "errors: 0, replies: 100000" in out, out
    assert rd("DBSIZE") == 100000
    for i in (0, 1, 4242, 99999):
        assert rd("GET", "mass:%d" % i) == b"value-%d" % i


def test_inline_through_nc(tb, rd):
    """Inline commands as a person types them into nc (or telnet): quoting, empty lines."""
    script = (b"SET greeting \"hello world\"\r\nGET greeting\r\n\r\nEXISTS greeting nope\r\n"
              b"SET 'single q' 'it\\'s'\r\nGET 'single q'\r\nINCR cnt\nINCR cnt\n"
              b"MGET greeting cnt\r\nPING\r\nQUIT\r\n")
    r = run(["nc", "-w", "5", node_ip(1), "6379"], 20, input=script)
    assert r.stdout == (b"+OK\r\n$11\r\nhello world\r\n:1\r\n+OK\r\n$4\r\nit's\r\n:1\r\n:2\r\n"
                        b"*2\r\n$11\r\nhello world\r\n$1\r\n2\r\n+PONG\r\n+OK\r\n"), r.stdout


def test_cli_errors(tb, rd, ref):
    """Errors as redis-cli prints them, and its exit status for them."""
    for r in (None, ref):
        cli(["SET", "s", "x"], ref=r)
    for line in (["INCR", "s"], ["GET"], ["BOGUS", "a"], ["SET", "s", "1", "PX", "-5"],
                 ["EXPIRE", "s", "1", "GT", "LT"], ["GETRANGE", "s", "a", "b"],
                 ["HELLO", "4"], ["RENAME", "{t}nope", "{t}x"]):
        n, rr = cli(line), cli(line, ref=ref)
        assert n == rr, (line, n, rr)


@pytest.mark.testbed("redis-cluster")
def test_cli_cluster_mode(tb, rd):
    """redis-cli -c against a node in Cluster mode: keys of any slot (all slots are the
    node's, nothing to follow), CROSSSLOT for multi-key commands across slots, hash tags
    keeping them in one, and --cluster check seeing every slot covered."""
    need(rd, "cluster")
    cl = NODE + ["-c"]
    for i in range(50):
        assert run(cl + ["SET", "ck%d" % i, str(i)], 10).stdout.strip() == b"OK"
    assert run(cl + ["GET", "ck7"], 10).stdout.strip() == b"7"
    out = run(cl + ["MSET", "a", "1", "b", "2"], 10).stdout
    assert b"CROSSSLOT Keys in request don't hash to the same slot" in out, out
    assert run(cl + ["MSET", "{u}a", "1", "{u}b", "2"], 10).stdout.strip() == b"OK"
    r = run(["redis-cli", "--cluster", "check", "%s:6379" % node_ip(1)], 30)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0 and "[OK] All 16384 slots covered." in out, out
