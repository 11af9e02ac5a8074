"""test_classic.py - memcached's classic text commands over UDP, one request per
datagram, against a running node: storage (set add replace append prepend cas),
retrieval (get gets gat gats), delete incr decr touch, flush_all (also
delayed), version, verbosity, stats and its sub-commands, quit, and every
command's noreply form. Expected replies are byte-exact (see
tests/unit/test_mc_session.c for the same engine's unit expectations).
"""
import re
import time

import pytest

from lib.expect import reply

pytestmark = pytest.mark.testbed("default")


def test_version(mc):
    got = mc.cmd("version")
    assert re.fullmatch(rb"VERSION 1\.6\.\S+\r\n", got), "version answered %r" % got
    # memcached 1.6 answers VERSION whatever follows
    assert mc.cmd("version foo bar") == got, "version with arguments differs from plain version"


def test_set_get_gets(mc):
    reply(mc, "set foo 5 0 3\r\nbar", "STORED\r\n")
    reply(mc, "get foo", "VALUE foo 5 3\r\nbar\r\nEND\r\n")
    reply(mc, "get nope", "END\r\n")
    reply(mc, "gets nope foo", "VALUE foo 5 3 #\r\nbar\r\nEND\r\n")
    reply(mc, "set foo 7 0 4\r\nbarz", "STORED\r\n")
    reply(mc, "get foo", "VALUE foo 7 4\r\nbarz\r\nEND\r\n")
    # flags are a u32
    reply(mc, "set fl 4294967295 0 1\r\nx", "STORED\r\n")
    reply(mc, "get fl", "VALUE fl 4294967295 1\r\nx\r\nEND\r\n")
    # empty and binary-safe values
    assert mc.request(b"set empty 0 0 0\r\n\r\n") == b"STORED\r\n"
    reply(mc, "get empty", "VALUE empty 0 0\r\n\r\nEND\r\n")
    assert mc.request(b"set bin 0 0 6\r\n\r\n\0\n\xff \r\n") == b"STORED\r\n"
    assert mc.cmd("get bin") == b"VALUE bin 0 6\r\n\r\n\0\n\xff \r\nEND\r\n", \
        "binary value not returned byte-exact"
    # a bare \n ends a line too
    assert mc.request(b"set lf 0 0 1\nz\r\n") == b"STORED\r\n"
    assert mc.request(b"get lf\n") == b"VALUE lf 0 1\r\nz\r\nEND\r\n"


def test_multi_get_in_request_order(mc):
    for k, v in (("a", "1"), ("b", "22"), ("c", "333")):
        reply(mc, "set %s 0 0 %d\r\n%s" % (k, len(v), v), "STORED\r\n")
    reply(mc, "get c nope a b a",
          "VALUE c 0 3\r\n333\r\nVALUE a 0 1\r\n1\r\nVALUE b 0 2\r\n22\r\n"
          "VALUE a 0 1\r\n1\r\nEND\r\n")


def test_several_commands_in_one_datagram(mc):
    """The engine answers every command of a datagram, in order; a datagram that starts
    with a single-key get is no exception (the reply must not depend on what follows)."""
    reply(mc, "set k 0 0 1\r\nx", "STORED\r\n")
    reply(mc, "set j 0 0 1\r\ny\r\nget j k", "STORED\r\nVALUE j 0 1\r\ny\r\nVALUE k 0 1\r\n"
          "x\r\nEND\r\n")
    reply(mc, "get k \r\nmn", "VALUE k 0 1\r\nx\r\nEND\r\nMN\r\n")
    reply(mc, "get k\r\nget k", "VALUE k 0 1\r\nx\r\nEND\r\nVALUE k 0 1\r\nx\r\nEND\r\n")
    for req, want in ((b"get k\r\nmn\r\n", b"VALUE k 0 1\r\nx\r\nEND\r\nMN\r\n"),
                      (b"get k\nmn\n", b"VALUE k 0 1\r\nx\r\nEND\r\nMN\r\n"),
                      (b"gets k\r\nversion\r\n", None)):
        got = mc.request(req)
        if want is None:
            ok = got.startswith(b"VALUE k 0 1 ") and b"\r\nx\r\nEND\r\nVERSION " in got
        else:
            ok = got == want
        assert ok, (
            "for %r got %r: the single-get fast path (mc_udp.c single_get) takes everything "
            "after 'get ' up to the datagram's final newline as the key, so a second command "
            "in the datagram becomes part of the key ('k\\r\\nmn') and is never run" % (
                req, bytes(got)))


def test_add_replace(mc):
    reply(mc, "set foo 0 0 3\r\nbar", "STORED\r\n")
    reply(mc, "add foo 0 0 1\r\nx", "NOT_STORED\r\n")
    reply(mc, "add new 0 0 1\r\nx", "STORED\r\n")
    reply(mc, "replace nope 0 0 1\r\nx", "NOT_STORED\r\n")
    reply(mc, "replace new 3 0 2\r\nyy", "STORED\r\n")
    reply(mc, "get foo new", "VALUE foo 0 3\r\nbar\r\nVALUE new 3 2\r\nyy\r\nEND\r\n")


def test_append_prepend(mc):
    reply(mc, "set foo 5 0 3\r\nbar", "STORED\r\n")
    reply(mc, "append foo 0 0 2\r\n++", "STORED\r\n")
    reply(mc, "prepend foo 0 0 2\r\n--", "STORED\r\n")
    # append and prepend keep the item's flags
    reply(mc, "get foo", "VALUE foo 5 7\r\n--bar++\r\nEND\r\n")
    reply(mc, "append nope 0 0 1\r\nx", "NOT_STORED\r\n")
    reply(mc, "prepend nope 0 0 1\r\nx", "NOT_STORED\r\n")
    reply(mc, "get nope", "END\r\n")


def test_cas(mc):
    reply(mc, "cas c 0 0 1 5\r\nx", "NOT_FOUND\r\n")
    reply(mc, "set c 0 0 1\r\nx", "STORED\r\n")
    got = reply(mc, "gets c", "VALUE c 0 1 #\r\nx\r\nEND\r\n")
    cas = int(got.split(b"\r\n")[0].split()[4])
    reply(mc, "cas c 0 0 1 %d\r\ny" % (cas + 1), "EXISTS\r\n")
    reply(mc, "cas c 0 0 1 %d\r\nz" % cas, "STORED\r\n")
    reply(mc, "cas c 0 0 1 %d\r\nw" % cas, "EXISTS\r\n")
    got = reply(mc, "gets c", "VALUE c 0 1 #\r\nz\r\nEND\r\n")
    assert int(got.split(b"\r\n")[0].split()[4]) != cas, "a successful cas kept the old unique"
    reply(mc, "cas c 0 0 1 abc\r\nq", "CLIENT_ERROR bad command line format\r\n")


def test_delete(mc):
    reply(mc, "set d 0 0 1\r\nx", "STORED\r\n")
    reply(mc, "delete d", "DELETED\r\n")
    reply(mc, "delete d", "NOT_FOUND\r\n")
    reply(mc, "get d", "END\r\n")
    reply(mc, "set d 0 0 1\r\nx", "STORED\r\n")
    reply(mc, "delete d 0", "DELETED\r\n")
    reply(mc, "delete d 5",
          "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n")
    reply(mc, "delete", "ERROR\r\n")


def test_incr_decr(mc):
    reply(mc, "set n 0 0 2\r\n10", "STORED\r\n")
    reply(mc, "incr n 5", "15\r\n")
    reply(mc, "decr n 100", "0\r\n")
    reply(mc, "incr nope 1", "NOT_FOUND\r\n")
    reply(mc, "decr nope 1", "NOT_FOUND\r\n")
    # 64-bit wrap on incr
    reply(mc, "set n 0 0 20\r\n18446744073709551615", "STORED\r\n")
    reply(mc, "incr n 2", "1\r\n")
    reply(mc, "get n", "VALUE n 0 1\r\n1\r\nEND\r\n")
    reply(mc, "set t 0 0 1\r\nx", "STORED\r\n")
    reply(mc, "incr t 1", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
    reply(mc, "incr n abc", "CLIENT_ERROR invalid numeric delta argument\r\n")
    reply(mc, "incr n -1", "CLIENT_ERROR invalid numeric delta argument\r\n")
    reply(mc, "incr n", "ERROR\r\n")


def test_touch_gat_gats(mc):
    reply(mc, "set t 0 0 1\r\nx", "STORED\r\n")
    reply(mc, "touch t 100", "TOUCHED\r\n")
    reply(mc, "mg t t", "HD t~100\r\n")
    reply(mc, "touch nope 10", "NOT_FOUND\r\n")
    reply(mc, "gat 200 t nope", "VALUE t 0 1\r\nx\r\nEND\r\n")
    reply(mc, "mg t t", "HD t~200\r\n")
    reply(mc, "gats 0 t", "VALUE t 0 1 #\r\nx\r\nEND\r\n")
    reply(mc, "mg t t", "HD t-1\r\n")
    # a negative exptime expires at once: gat returns the value one last time
    reply(mc, "gat -1 t", "VALUE t 0 1\r\nx\r\nEND\r\n")
    reply(mc, "get t", "END\r\n")
    reply(mc, "set t 0 0 1\r\nx", "STORED\r\n")
    reply(mc, "touch t -1", "TOUCHED\r\n")
    reply(mc, "get t", "END\r\n")
    reply(mc, "touch t y", "CLIENT_ERROR invalid exptime argument\r\n")
    reply(mc, "gat y t", "CLIENT_ERROR invalid exptime argument\r\n")
    reply(mc, "gat 10", "ERROR\r\n")


def test_set_with_ttl(mc):
    reply(mc, "set e 0 -1 1\r\nx", "STORED\r\n")
    reply(mc, "get e", "END\r\n")
    reply(mc, "set e 0 1000 1\r\nx", "STORED\r\n")
    reply(mc, "mg e t v", "VA 1 t~1000\r\nx\r\n")
    # an absolute unix time an hour from now
    reply(mc, "set e 0 %d 1\r\nx" % (int(time.time()) + 3600), "STORED\r\n")
    got = mc.cmd("mg e t")
    ttl = int(got[4:-2])
    assert 3590 <= ttl <= 3601, "absolute exptime an hour ahead read back as t%d" % ttl
    # an absolute time in the past expires at once
    reply(mc, "set e 0 %d 1\r\nx" % (int(time.time()) - 3600 * 24 * 60), "STORED\r\n")
    reply(mc, "get e", "END\r\n")


def test_noreply(mc):
    """Every storage and keyed command with noreply: no datagram back, effect applied."""
    mc.noreply("set a 0 0 1 noreply\r\nx\r\n")
    mc.noreply("add a 0 0 1 noreply\r\ny\r\n")      # NOT_STORED, silently
    mc.noreply("add b 0 0 1 noreply\r\nb\r\n")
    mc.noreply("replace b 2 0 2 noreply\r\nbb\r\n")
    mc.noreply("append a 0 0 1 noreply\r\nz\r\n")
    mc.noreply("prepend a 0 0 1 noreply\r\nw\r\n")
    reply(mc, "get a b", "VALUE a 0 3\r\nwxz\r\nVALUE b 2 2\r\nbb\r\nEND\r\n")
    got = mc.cmd("gets a")
    cas = int(got.split(b"\r\n")[0].split()[4])
    mc.noreply("cas a 0 0 1 %d noreply\r\nC\r\n" % (cas + 7))   # EXISTS, silently
    mc.noreply("cas a 0 0 1 %d noreply\r\nC\r\n" % cas)
    reply(mc, "get a", "VALUE a 0 1\r\nC\r\nEND\r\n")
    mc.noreply("set n 0 0 1 noreply\r\n5\r\n")
    mc.noreply("incr n 10 noreply\r\n")
    mc.noreply("decr n 3 noreply\r\n")
    mc.noreply("incr a 1 noreply\r\n")    # non-numeric: memcached answers nothing either
    mc.noreply("incr nope 1 noreply\r\n")
    reply(mc, "get n", "VALUE n 0 2\r\n12\r\nEND\r\n")
    mc.noreply("touch n 300 noreply\r\n")
    reply(mc, "mg n t", "HD t~300\r\n")
    mc.noreply("delete n noreply\r\n")
    mc.noreply("delete n 0 noreply\r\n")   # NOT_FOUND, silently
    reply(mc, "get n", "END\r\n")
    mc.noreply("verbosity 1 noreply\r\n")
    mc.noreply("flush_all noreply\r\n")
    reply(mc, "get a b", "END\r\n")
    mc.noreply("flush_all 0 noreply\r\n")
    # as memcached: an error in a command whose noreply was understood is not answered
    # either (its client reads no reply); its data block is still skipped
    mc.noreply("set a 0 x 1 noreply\r\nx\r\n")
    mc.noreply("delete a 10 noreply\r\n")
    reply(mc, "get a", "END\r\n")
    reply(mc, "delete a 10", "CLIENT_ERROR bad command line format.  "
                             "Usage: delete <key> [noreply]\r\n")


def test_flush_all(mc):
    reply(mc, "set f 0 0 1\r\nx", "STORED\r\n")
    reply(mc, "set g 0 0 1\r\ny", "STORED\r\n")
    reply(mc, "flush_all", "OK\r\n")
    reply(mc, "get f g", "END\r\n")
    # items stored after a flush are kept
    reply(mc, "set f 0 0 1\r\nz", "STORED\r\n")
    reply(mc, "get f", "VALUE f 0 1\r\nz\r\nEND\r\n")
    reply(mc, "flush_all 0", "OK\r\n")
    reply(mc, "get f", "END\r\n")
    reply(mc, "flush_all x", "CLIENT_ERROR invalid exptime argument\r\n")   # as memcached
    reply(mc, "set f 0 0 1\r\nz", "STORED\r\n")
    reply(mc, "flush_all 0 2", "OK\r\n")       # a second word is ignored, as memcached does
    reply(mc, "get f", "END\r\n")
    reply(mc, "flush_all 1 2 3", "ERROR\r\n")


def test_flush_all_delayed(mc):
    reply(mc, "set f 0 0 1\r\nx", "STORED\r\n")
    t0 = time.monotonic()
    reply(mc, "flush_all 2", "OK\r\n")
    # still there until the deadline (at least one whole second away)
    reply(mc, "get f", "VALUE f 0 1\r\nx\r\nEND\r\n")
    gone = None
    while time.monotonic() - t0 < 5:
        if mc.cmd("get f") == b"END\r\n":
            gone = time.monotonic() - t0
            break
        time.sleep(0.05)
    assert gone is not None, "flush_all 2 had not flushed the item after 5 s"
    assert gone >= 0.9, "flush_all 2 flushed after only %.2f s" % gone
    # after the deadline, new items stay
    reply(mc, "set f 0 0 1\r\ny", "STORED\r\n")
    reply(mc, "get f", "VALUE f 0 1\r\ny\r\nEND\r\n")


def test_verbosity(mc):
    reply(mc, "verbosity 1", "OK\r\n")
    reply(mc, "verbosity 0", "OK\r\n")
    reply(mc, "verbosity", "ERROR\r\n")


def test_quit_produces_nothing(mc):
    mc.noreply("quit\r\n")
    # and the server serves the next request as usual
    reply(mc, "set q 0 0 1\r\nx", "STORED\r\n")
    reply(mc, "get q", "VALUE q 0 1\r\nx\r\nEND\r\n")


def test_stats(mc):
    st = mc.stats()
    for name in ("pid", "uptime", "time", "version", "curr_items", "cmd_get", "cmd_set",
                 "get_hits", "get_misses", "limit_maxbytes", "udp_requests",
                 "drop_memcached_udp_source_refused", "drop_memcached_udp_amplification",
                 "drops", "ignored", "ignored_eth_multicast", "store_too_large",
                 "store_no_memory"):
        assert name in st, "stats lacks %s" % name
    assert abs(int(st["time"]) - time.time()) < 5, "stats time is %s" % st["time"]
    assert st["version"] == mc.cmd("version")[8:-2].decode(), "stats version != version"
    before = st
    reply(mc, "set s1 0 0 1\r\nx", "STORED\r\n")
    reply(mc, "get s1", "VALUE s1 0 1\r\nx\r\nEND\r\n")
    reply(mc, "get nope", "END\r\n")
    reply(mc, "incr nope 1", "NOT_FOUND\r\n")
    reply(mc, "delete s1", "DELETED\r\n")
    after = mc.stats()
    for name, delta in (("cmd_set", 1), ("cmd_get", 2), ("get_hits", 1), ("get_misses", 1),
                        ("incr_misses", 1), ("delete_hits", 1)):
        got = int(after[name]) - int(before[name])
        assert got == delta, "stats %s rose by %d, wanted %d" % (name, got, delta)
    assert int(after["udp_requests"]) >= int(before["udp_requests"]) + 6


def test_stats_subcommands(mc):
    reply(mc, "set s1 0 0 1\r\nx", "STORED\r\n")
    st = mc.stats("settings")
    assert st["udpport"] == "11211", "stats settings udpport %s" % st["udpport"]
    assert st["item_size_max"] == str(1 << 20), "item_size_max %s, started with --max-value " \
        "1m" % st["item_size_max"]
    assert st["maxbytes"] == str(64 << 20), "maxbytes %s, started with 64M" % st["maxbytes"]
    assert st["udp_amplification"] == "10"
    assert st["cas_enabled"] == "yes"
    items = mc.stats("items")
    assert items["items:1:number"] == "1", "stats items: %r" % items
    slabs = mc.stats("slabs")
    assert slabs["active_slabs"] == "1" and slabs["1:used_chunks"] == "1", \
        "stats slabs: %r" % slabs
    reply(mc, "stats conns", "END\r\n")
    reply(mc, "stats bogus", "ERROR\r\n")


def test_stats_reset(mc):
    reply(mc, "get nope", "END\r\n")
    reply(mc, "stats reset", "RESET\r\n")
    st = mc.stats()
    assert st["cmd_get"] == "0" and st["get_misses"] == "0", \
        "after stats reset cmd_get=%s get_misses=%s" % (st["cmd_get"], st["get_misses"])
    reply(mc, "get nope", "END\r\n")
    assert mc.stats()["get_misses"] == "1", "get_misses does not count again after a reset"
