"""test_meta.py - memcached's meta commands over UDP against a running node:
mg ms md ma mn me with their flags (mg: b c C f h k l O q s t u v E N R T and
the W X Z results; ms: b c C E F I k O q s T and modes E A P R S, N with
append; md: b C E I k O q T x; ma: b C E N J D T q t c v k and modes I + D -),
and the anti-stampede flows between two clients: vivify on miss (N), early
recache (R), invalidation (md I) and stale-while-revalidate end to end.
"""
import base64

import pytest

from lib.expect import reply

pytestmark = pytest.mark.testbed("default")


def cas_of(got):
    for tok in got.split(b"\r\n")[0].split():
        if tok.startswith(b"c") and tok[1:].isdigit():
            return int(tok[1:])
    raise AssertionError("no c<cas> flag in %r" % got)


def b64(key):
    return base64.b64encode(key).decode()


def test_mn(mc):
    reply(mc, "mn", "MN\r\n")


def test_ms_mg_basics(mc):
    reply(mc, "ms m1 2 T0 F3\r\nhi", "HD\r\n")
    reply(mc, "mg m1 v f s k", "VA 2 f3 s2 km1\r\nhi\r\n")
    reply(mc, "mg m1", "HD\r\n")
    reply(mc, "mg m1 Oop t c", "HD Oop t-1 c#\r\n")
    # flags come back in request order
    reply(mc, "mg m1 c t Oop k s f", "HD c# t-1 Oop km1 s2 f3\r\n")
    reply(mc, "mg missing v Oxyz k", "EN Oxyz kmissing\r\n")
    reply(mc, "mg missing", "EN\r\n")
    reply(mc, "mg", "CLIENT_ERROR bad command line format\r\n")


def test_mg_q(mc):
    # q hides a miss (EN) only
    mc.noreply("mg missing v q\r\n")
    reply(mc, "ms k 1\r\nx", "HD\r\n")
    reply(mc, "mg k q", "HD\r\n")
    reply(mc, "mg k q v", "VA 1\r\nx\r\n")


def test_mg_cas_compare(mc):
    reply(mc, "ms m1 3\r\nabc", "HD\r\n")
    cas = cas_of(reply(mc, "mg m1 c", "HD c#\r\n"))
    # C: no value when the client's CAS is current
    reply(mc, "mg m1 v C%d" % cas, "HD\r\n")
    reply(mc, "mg m1 v C%d" % (cas + 1), "VA 3\r\nabc\r\n")


def test_mg_hit_last_access_and_touch(mc):
    reply(mc, "ms h 1\r\nx", "HD\r\n")
    # u: no bump of the fetched bit or access time; T on a hit updates the TTL
    reply(mc, "mg h u h", "HD h0\r\n")
    reply(mc, "mg h h T50 t", "HD h0 t~50\r\n")
    reply(mc, "mg h h l", "HD h1 l#\r\n")
    got = mc.cmd("mg h l")
    assert int(got[4:-2]) <= 2, "last access of an item read just now is %r" % got


def test_mg_base64_key(mc):
    key = b"\x01bin key\xff"
    reply(mc, "ms %s 3 b\r\nbar" % b64(key), "HD\r\n")
    reply(mc, "mg %s b k v" % b64(key), "VA 3 k%s b\r\nbar\r\n" % b64(key))
    reply(mc, "ms Zm9v 3 b\r\nbar", "HD\r\n")
    reply(mc, "get foo", "VALUE foo 0 3\r\nbar\r\nEND\r\n")
    reply(mc, "mg Zm9v* b", "CLIENT_ERROR error decoding key\r\n")
    reply(mc, "mg %s b k" % b64(b"nope"), "EN k%s b\r\n" % b64(b"nope"))


def test_mg_errors(mc):
    reply(mc, "mg k v v", "CLIENT_ERROR duplicate flag\r\n")
    reply(mc, "mg k !", "CLIENT_ERROR invalid flag\r\n")
    reply(mc, "mg k O" + "x" * 33, "CLIENT_ERROR opaque token too long\r\n")
    reply(mc, "mg k Tx", "CLIENT_ERROR bad token in command line format\r\n")


def test_ms_modes(mc):
    reply(mc, "ms m1 2\r\nhi", "HD\r\n")
    reply(mc, "ms m1 3 MA\r\nend", "HD\r\n")
    reply(mc, "mg m1 v", "VA 5\r\nhiend\r\n")
    reply(mc, "ms m1 3 MP c\r\nbeg", "HD c#\r\n")
    reply(mc, "mg m1 v", "VA 8\r\nbeghiend\r\n")
    reply(mc, "ms new 1 ME\r\nz", "HD\r\n")
    reply(mc, "ms new 1 ME\r\nz", "NS\r\n")
    reply(mc, "ms zz 1 MR\r\nz", "NS\r\n")
    reply(mc, "ms new 2 MR\r\nrr", "HD\r\n")
    reply(mc, "mg new v", "VA 2\r\nrr\r\n")
    reply(mc, "ms zz 1 MA\r\nz", "NS\r\n")
    reply(mc, "ms zz 1 MP\r\nz", "NS\r\n")
    reply(mc, "ms new 3 MS\r\nsss", "HD\r\n")
    reply(mc, "mg new v", "VA 3\r\nsss\r\n")
    # N with append: autovivify a missing item with that TTL
    reply(mc, "ms zz 1 MA N30\r\nz", "HD\r\n")
    reply(mc, "mg zz v t", "VA 1 t~30\r\nz\r\n")
    reply(mc, "ms m2 1 MX\r\nx", "CLIENT_ERROR invalid mode for ms M token\r\n")
    reply(mc, "mg m2", "EN\r\n")


def test_ms_flags(mc):
    reply(mc, "ms k 1 s k Oab\r\nx", "HD s1 kk Oab\r\n")
    reply(mc, "ms k 2 F77 T100 c\r\nxy", "HD c#\r\n")
    reply(mc, "mg k f t v", "VA 2 f77 t~100\r\nxy\r\n")
    reply(mc, "ms k 1 I\r\nx", "HD\r\n")            # I without C: a plain set
    reply(mc, "mg k v", "VA 1\r\nx\r\n")
    # q hides HD only
    mc.noreply("ms q1 1 q\r\nx\r\n")
    reply(mc, "ms q1 1 q ME\r\ny", "NS\r\n")
    reply(mc, "mg q1 v", "VA 1\r\nx\r\n")
    # E: the client picks the new CAS
    reply(mc, "ms e 1 E12345\r\nx", "HD\r\n")
    reply(mc, "mg e c", "HD c12345\r\n")
    reply(mc, "ms %s 2 b k\r\nbb" % b64(b"bk"), "HD k%s b\r\n" % b64(b"bk"))
    reply(mc, "get bk", "VALUE bk 0 2\r\nbb\r\nEND\r\n")


def test_ms_cas(mc):
    reply(mc, "ms m1 3\r\nabc", "HD\r\n")
    cas = cas_of(mc.cmd("mg m1 c"))
    reply(mc, "ms m1 1 C%d\r\nZ" % cas, "HD\r\n")
    reply(mc, "ms m1 1 C%d\r\nY" % cas, "EX\r\n")
    reply(mc, "mg m1 v", "VA 1\r\nZ\r\n")
    reply(mc, "ms nope 1 C5\r\nZ", "NF\r\n")
    # I with an older CAS: stored, but marked stale (one client wins the recache)
    reply(mc, "ms m1 3 C1 I\r\nold", "HD\r\n")
    reply(mc, "mg m1 v", "VA 3 X W\r\nold\r\n")
    reply(mc, "mg m1 v", "VA 3 Z X\r\nold\r\n")


def test_ms_errors(mc):
    reply(mc, "ms m2 2 I\r\nxxx", "CLIENT_ERROR bad data chunk\r\nERROR\r\n")
    # an unreadable length: the data block cannot be skipped and is read as a command
    reply(mc, "ms m2 x\r\nxx", "CLIENT_ERROR bad command line format\r\nERROR\r\n")
    reply(mc, "ms m2 1 F-1\r\nx", "CLIENT_ERROR bad command line format\r\n")
    reply(mc, "ms m2 1 T1 T2\r\nx", "CLIENT_ERROR duplicate flag\r\n")
    reply(mc, "ms m2 1 !\r\nx", "CLIENT_ERROR invalid flag\r\n")      # data skipped
    reply(mc, "mg m2", "EN\r\n")


def test_me(mc):
    reply(mc, "ms m1 3\r\nabc", "HD\r\n")
    reply(mc, "me m1", "ME m1 exp=-1 la=# cas=# fetch=no cls=1 size=#\r\n")
    reply(mc, "mg m1", "HD\r\n")
    reply(mc, "me m1", "ME m1 exp=-1 la=# cas=# fetch=yes cls=1 size=#\r\n")
    cas = cas_of(mc.cmd("mg m1 c"))
    got = mc.cmd("me m1")
    assert b" cas=%d " % cas in got, "me cas differs from mg c%d: %r" % (cas, got)
    reply(mc, "me nope", "EN\r\n")
    reply(mc, "ms m2 1 T100\r\nx", "HD\r\n")
    reply(mc, "me m2", "ME m2 exp=~100 la=# cas=# fetch=no cls=1 size=#\r\n")


def test_md(mc):
    reply(mc, "md nope", "NF\r\n")
    reply(mc, "md nope q", "NF\r\n")
    reply(mc, "ms d 1\r\nx", "HD\r\n")
    mc.noreply("md d q\r\n")
    reply(mc, "md d Oo k", "NF Oo kd\r\n")
    reply(mc, "ms d 1\r\nx", "HD\r\n")
    reply(mc, "md d k Oo", "HD kd Oo\r\n")
    # x: drop the value, keep the item
    reply(mc, "ms d 3\r\nabc", "HD\r\n")
    reply(mc, "md d x", "HD\r\n")
    reply(mc, "mg d v s", "VA 0 s0\r\n\r\n")
    # C: compare-and-delete
    reply(mc, "ms d 1\r\nx", "HD\r\n")
    cas = cas_of(mc.cmd("mg d c"))
    reply(mc, "md d C%d" % (cas + 1), "EX\r\n")
    reply(mc, "md d C%d" % cas, "HD\r\n")
    reply(mc, "mg d", "EN\r\n")
    # b: base64 key
    reply(mc, "ms %s 1 b\r\nx" % b64(b"dk"), "HD\r\n")
    reply(mc, "md %s b k" % b64(b"dk"), "HD k%s b\r\n" % b64(b"dk"))
    reply(mc, "get dk", "END\r\n")


def test_md_invalidate(mc):
    # I marks stale instead of deleting; T sets the stale item's TTL; E its CAS
    reply(mc, "ms s1 3 T100\r\nold", "HD\r\n")
    reply(mc, "md s1 I T30 E500", "HD\r\n")
    reply(mc, "mg s1 v t c", "VA 3 t~30 c500 X W\r\nold\r\n")
    reply(mc, "mg s1 v", "VA 3 Z X\r\nold\r\n")
    # the winner writes the new value: fresh again
    reply(mc, "ms s1 3\r\nnew", "HD\r\n")
    reply(mc, "mg s1 v", "VA 3\r\nnew\r\n")
    reply(mc, "md nope I", "NF\r\n")


def test_ma(mc):
    reply(mc, "ma cnt", "NF\r\n")
    reply(mc, "ma cnt N0 J5 v", "VA 1\r\n5\r\n")
    reply(mc, "ma cnt v", "VA 1\r\n6\r\n")
    reply(mc, "ma cnt MD D10 v", "VA 1\r\n0\r\n")       # decrement stops at 0
    mc.noreply("ma cnt q\r\n")
    reply(mc, "ma cnt D3 v t c k", "VA 1 t-1 c# kcnt\r\n4\r\n")
    reply(mc, "ma cnt T60 t", "HD t~60\r\n")
    reply(mc, "ma cnt MI D5 v", "VA 2\r\n10\r\n")
    reply(mc, "ma cnt M+ v", "VA 2\r\n11\r\n")
    reply(mc, "ma cnt M- D2 v", "VA 1\r\n9\r\n")
    reply(mc, "ma cnt Oop k", "HD Oop kcnt\r\n")
    reply(mc, "get cnt", "VALUE cnt 0 2\r\n10\r\nEND\r\n")
    reply(mc, "ma cnt D18446744073709551615 v", "VA 1\r\n9\r\n")   # 64-bit wrap
    reply(mc, "ma nope q", "NF\r\n")                     # q hides only HD


def test_ma_vivify_cas_and_errors(mc):
    reply(mc, "ma new N30 J10 v t", "VA 2 t~30\r\n10\r\n")
    reply(mc, "ma new N30 J10 v", "VA 2\r\n11\r\n")     # exists now: J ignored
    cas = cas_of(mc.cmd("mg new c"))
    reply(mc, "ma new C%d v" % (cas + 1), "EX\r\n")
    reply(mc, "ma new C%d E777 v c" % cas, "VA 2 c777\r\n12\r\n")
    reply(mc, "mg new c", "HD c777\r\n")
    reply(mc, "ma %s b v k" % b64(b"new"), "VA 2 k%s b\r\n13\r\n" % b64(b"new"))
    reply(mc, "ms s 1\r\nx", "HD\r\n")
    reply(mc, "ma s", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
    reply(mc, "ma new MX", "CLIENT_ERROR invalid mode for ma M token\r\n")
    reply(mc, "ma new v v", "CLIENT_ERROR invalid or duplicate flag\r\n")


def test_vivify_stampede_two_clients(tb, mc):
    """N: the first client to miss gets an empty placeholder and W; later ones get Z."""
    other = tb.client(1)
    reply(mc, "mg viv N30 v c", "VA 0 c# W\r\n\r\n")
    reply(other, "mg viv N30 v", "VA 0 Z\r\n\r\n")
    reply(other, "mg viv N30 v t", "VA 0 t~30 Z\r\n\r\n")
    # the winner fills it in; everybody sees the real value, no flags
    reply(mc, "ms viv 4\r\nreal", "HD\r\n")
    reply(other, "mg viv N30 v", "VA 4\r\nreal\r\n")
    reply(mc, "mg viv N30 v", "VA 4\r\nreal\r\n")
    # E with N: the placeholder gets the client's CAS
    reply(mc, "mg viv2 N30 E4242 c", "HD c4242 W\r\n")


def test_recache_wins_once(tb, mc):
    """R: a TTL under the threshold hands out one W; the rest see Z."""
    other = tb.client(1)
    reply(mc, "ms r1 1 T10\r\nx", "HD\r\n")
    reply(mc, "mg r1 R5 v", "VA 1\r\nx\r\n")            # TTL above the threshold
    reply(mc, "mg r1 R30 v t", "VA 1 t~10 W\r\nx\r\n")
    reply(other, "mg r1 R30 v t", "VA 1 t~10 Z\r\nx\r\n")
    reply(other, "mg r1 R5 v", "VA 1 Z\r\nx\r\n")
    # a fresh value ends it
    reply(mc, "ms r1 1 T100\r\ny", "HD\r\n")
    reply(other, "mg r1 R30 v", "VA 1\r\ny\r\n")
    # no TTL, no recache
    reply(mc, "ms r2 1\r\nx", "HD\r\n")
    reply(mc, "mg r2 R30 v", "VA 1\r\nx\r\n")


def test_stale_while_revalidate(tb, mc):
    """md I marks stale; the first reader wins (X W), others get the stale value (X Z)
    while the winner recomputes and writes the new value with its CAS."""
    winner, reader = mc, tb.client(1)
    reply(mc, "ms page 5 T300\r\nold-v", "HD\r\n")
    reply(mc, "md page I T30", "HD\r\n")
    got = reply(winner, "mg page v c t", "VA 5 c# t~30 X W\r\nold-v\r\n")
    cas = cas_of(got)
    # while the winner recomputes, readers are served the stale value, told not to recompute
    for _ in range(3):
        reply(reader, "mg page v c", "VA 5 c%d Z X\r\nold-v\r\n" % cas)
    # the winner stores the new value, conditional on the CAS it read
    reply(winner, "ms page 5 T300 C%d\r\nnew-v" % cas, "HD\r\n")
    # a late writer holding the stale CAS loses
    reply(reader, "ms page 5 C%d\r\nlate!" % cas, "EX\r\n")
    reply(reader, "mg page v t", "VA 5 t~300\r\nnew-v\r\n")
    reply(winner, "mg page v", "VA 5\r\nnew-v\r\n")
