"""test_refused_store.py - a store refused for its size leaves no stale value behind
(memcached's t/getset.t case), on a node with --max-value 1m (layout "default").

memcached: `set foo 0 0 3` + MOO is STORED; a later `set foo 0 0 1049600` is
answered `SERVER_ERROR object too large for cache`, and from then on `get foo`
finds nothing: the client's source of truth has moved on, so the old value
must not be served. The same for any meta set (`ms`, whatever its mode). A
refused add, replace, append, prepend or cas keeps the old value (it never
meant to replace it unconditionally).

Over TCP the whole data block is sent (and swallowed); over UDP only the
command line fits in a datagram, so the refusal happens on the line alone.
Each case is checked on a fresh key, then the connection is shown to be in
step (the swallowed block ran no command). A store refused for want of memory
cannot be provoked over the wire: the store evicts to make room, and an item
that no log could hold is refused as too large (unit-tested in
tests/unit/test_store_ops.c).
"""
import pytest

from lib.mctcp import McTcp
from lib.testbed import PORT, node_ip

pytestmark = pytest.mark.testbed("default")

BIG = 1049600                   # 1 MiB + 1 KiB: over --max-value 1m
TOO_LARGE = b"SERVER_ERROR object too large for cache\r\n"
# the data block: lines that would be answered if any of it ran as commands
BLOCK = (b"mn\r\n" * (BIG // 4 + 1))[:BIG]


def _tcp(tb):
    c = tb.tcp(1, timeout=10)
    assert c.cmd("flush_all") == b"OK\r\n"
    return c


def _moo(c, key):
    assert c.cmd(b"set %s 0 0 3\r\nMOO" % key) == b"STORED\r\n", "the first set was not stored"


def _value_of(c, key):
    got = c.cmd(b"get %s" % key)
    if got == b"END\r\n":
        return None
    head = b"VALUE %s 0 " % key
    assert got.startswith(head) and got.endswith(b"\r\nEND\r\n"), "odd get reply %r" % got[:100]
    return got.split(b"\r\n", 1)[1][:-len(b"\r\nEND\r\n")]


def _in_step(c):
    assert c.cmd("mn") == b"MN\r\n", "the connection is out of step after a refused store"


# ---- a refused set drops the old value ----

@pytest.mark.parametrize("line", [
    b"set %s 0 0 %d",
    b"ms %s %d T0",
    b"ms %s %d MS F5",
    b"ms %s %d MA",                 # meta append: meta drops the old value in every mode
    b"ms %s %d ME",
], ids=["set", "ms", "ms-MS", "ms-MA", "ms-ME"])
def test_refused_set_drops_old_value_tcp(tb, line):
    c = _tcp(tb)
    key = b"foo_" + line.split()[0] + b"_" + line.split()[-1]
    _moo(c, key)
    req = (line % (key, BIG)) + b"\r\n" + BLOCK + b"\r\n"
    got = c.cmd(req)
    assert got == TOO_LARGE, "%r: %r, not %r" % (line % (key, BIG), got, TOO_LARGE)
    _in_step(c)
    assert _value_of(c, key) is None, "after the refused %r the old value is still served" % (
        line % (key, BIG))
    assert c.cmd(b"mg %s v" % key) == b"EN\r\n"


@pytest.mark.parametrize("line", [b"set %s 0 0 %d", b"ms %s %d T0", b"ms %s %d MA"],
                         ids=["set", "ms", "ms-MA"])
def test_refused_set_drops_old_value_udp(tb, mc, line):
    key = b"foo_u_" + line.split()[0] + b"_" + line.split()[-1]
    assert mc.cmd(b"set %s 0 0 3\r\nMOO" % key) == b"STORED\r\n"
    assert mc.get(key.decode()) == b"MOO"
    got = mc.cmd(line % (key, BIG))     # the line alone: its block could never fit
    assert got == TOO_LARGE, "%r over UDP: %r" % (line % (key, BIG), got)
    assert mc.get(key.decode()) is None, "after the refused %r over UDP the old value is " \
        "still served" % (line % (key, BIG))


def test_getset_t_sequence(tb):
    """memcached's t/getset.t, the refused part: the sizes around the limit, in order."""
    c = _tcp(tb)
    _moo(c, b"foo_x")
    for n in (1048576 - 512, BIG):          # fits (key and header included), then not
        v = (b"v" * n)
        got = c.cmd(b"set foo_x 0 0 %d\r\n%s\r\n" % (n, v))
        if n < BIG:
            assert got == b"STORED\r\n", "a %d-byte value under --max-value 1m: %r" % (n, got)
            assert _value_of(c, b"foo_x") == v
        else:
            assert got == TOO_LARGE, got
            assert _value_of(c, b"foo_x") is None, "the %d-byte value is still served" % (
                1048576 - 512)


# ---- a refused conditional store keeps the old value ----

@pytest.mark.parametrize("verb", ["add", "replace", "append", "prepend", "cas"])
def test_refused_conditional_store_keeps_old_value_tcp(tb, verb):
    c = _tcp(tb)
    key = b"keep_" + verb.encode()
    _moo(c, key)
    if verb == "cas":
        head = c.cmd(b"gets %s" % key).split(b"\r\n", 1)[0]
        line = b"cas %s 0 0 %d %s" % (key, BIG, head.split()[-1])
    else:
        line = b"%s %s 0 0 %d" % (verb.encode(), key, BIG)
    got = c.cmd(line + b"\r\n" + BLOCK + b"\r\n")
    assert got == TOO_LARGE, "%r: %r" % (line, got)
    _in_step(c)
    assert _value_of(c, key) == b"MOO", "a refused %s dropped the old value" % verb


@pytest.mark.parametrize("verb", ["add", "replace", "append", "prepend"])
def test_refused_conditional_store_keeps_old_value_udp(tb, mc, verb):
    key = "keep_u_" + verb
    assert mc.cmd("set %s 0 0 3\r\nMOO" % key) == b"STORED\r\n"
    got = mc.cmd("%s %s 0 0 %d" % (verb, key, BIG))
    assert got == TOO_LARGE, "%s over UDP: %r" % (verb, got)
    assert mc.get(key) == b"MOO", "a refused %s over UDP dropped the old value" % verb


def test_refused_set_of_missing_key_and_stats(tb):
    """Refusing a set of a key that does not exist is harmless; each refusal is counted."""
    before = tb.tcp_stats(1)["refused_too_large"]
    with McTcp(node_ip(1), PORT, timeout=10) as c:
        got = c.cmd(b"set never_there 0 0 %d\r\n%s\r\n" % (BIG, BLOCK))
        assert got == TOO_LARGE
        _in_step(c)
        assert _value_of(c, b"never_there") is None
    after = tb.tcp_stats(1)["refused_too_large"]
    assert after == before + 1, "refused_too_large rose by %d for one refusal" % (after - before)
