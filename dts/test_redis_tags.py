"""test_redis_tags.py - tag-group invalidation (issue 12, README's "Tag groups
and pattern invalidation" recipe) with redis-py, under concurrency, on the
`redis` layout (two workers: two partitions, one per lcore, so cross-partition
writes go through the mailbox).

Two ways of writing a key with its tag, as the README gives them:
- colocated ("a"): key and tag share a hash tag; the writer runs MULTI
  SET key + SADD tag key + EXPIRE tag, the invalidator SMEMBERS tag and then
  MULTI UNLINK members + SREM tag members (one partition: both atomic);
- spread ("b"): key and tag anywhere; the writer pipelines SET key, then
  SADD tag key (+ EXPIRE tag), the invalidator SMEMBERS tag, then SREM tag
  members, then UNLINK members.

Writers write fresh keys and rewrite keys from small pools while one
invalidator per variant drops random groups over and over, pausing up to
3 ms between its two round trips (a slow client: writes land in between);
the invalidators stop QUIET_S before the writers, so some keys outlive them. With L a key's last write (client-side times: sent .. reply read)
and I an invalidation of its tag (SMEMBERS sent .. last reply read), at the end:
  1. dropped: if some I started after L's reply came back, the key is gone;
  2. tagged: a key that exists is a member of its tag (no key escapes all
     later invalidations);
  3. kept: if every I of its tag ended before L was sent, the key exists;
  4. colocated only: the tag's members are exactly the group's existing keys
     (spread keys may leave a stale member behind: a harmless extra UNLINK).
Then pattern invalidation: SCAN MATCH pg:* + UNLINK over both partitions
while writers add, delete and re-add keys that do not match: every pg: key
is gone (each was present when the scan began), every other key is as its
writer left it.
"""
import bisect
import random
import threading
import time

import pytest
import redis
from redis.crc import key_slot

from conftest import redis_password
from lib.testbed import node_ip

pytestmark = pytest.mark.testbed("redis")

RUN_S = 4.0          # how long writers and invalidators run, per variant
MAX_OPS = 20000      # and at most this many operations per thread
GROUPS = 6           # tag groups per variant
WRITERS = 2          # writer threads per variant
POOL = 8             # key names per writer per group (so keys are rewritten)
TTL = 300
QUIET_S = 0.5        # writers run this long after the invalidators stop


def client(tb):
    c = redis.Redis(host=node_ip(1), port=6379, socket_timeout=10, socket_connect_timeout=5,
                    password=redis_password(tb.config), decode_responses=True)
    tb.track(c)
    return c


def half(key):
    """Which of the two partitions serves key (slots are split evenly, in order)."""
    return key_slot(key.encode()) * 2 // 16384


def colocated_groups():
    """GROUPS hash tags, half on each partition."""
    out, want = [], [0, 1] * (GROUPS // 2)
    n = 0
    while want:
        tag = "{tg:%d}" % n
        if half(tag) == want[0]:
            out.append(tag)
            want.pop(0)
        n += 1
    return out


class Variant:
    def __init__(self, name):
        self.name = name
        if name == "a":
            self.tags = ["%s:tag" % h for h in colocated_groups()]
            self.key = lambda g, w, i: "%s:k:%d:%d" % (self.tags[g][:-4], w, i)
        else:
            self.tags = ["tag:b:%d" % g for g in range(GROUPS)]
            self.key = lambda g, w, i: "kb:%d:%d:%d" % (g, w, i)
        self.last = {}       # key -> (group, sent, replied) of its last write
        self.invs = []       # (group, sent, replied, members seen)
        self.writes = []     # writes per writer thread

    def write(self, c, g, key, val):
        if self.name == "a":
            p = c.pipeline(transaction=True)
        else:
            p = c.pipeline(transaction=False)
        p.set(key, val, ex=TTL)
        p.sadd(self.tags[g], key)
        p.expire(self.tags[g], TTL)
        return p.execute()

    def invalidate(self, c, g, pause):
        tag = self.tags[g]
        members = c.smembers(tag)
        if not members:
            return 0
        time.sleep(pause)            # a slow client: writes land between the round trips
        m = sorted(members)
        if self.name == "a":
            p = c.pipeline(transaction=True)
            p.unlink(*m)
            p.srem(tag, *m)
        else:
            p = c.pipeline(transaction=False)
            p.srem(tag, *m)
            p.unlink(*m)
        p.execute()
        return len(m)


def run_threads(targets, limit_s):
    errors, threads = [], []

    def wrap(fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    for fn in targets:
        t = threading.Thread(target=wrap, args=(fn,), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(limit_s)
    assert not any(t.is_alive() for t in threads), "a thread did not stop in %ss" % limit_s
    assert not errors, errors


def test_tag_groups_under_concurrency(tb, rd):
    variants = [Variant("a"), Variant("b")]
    stop = time.monotonic() + RUN_S
    main = RUN_S - QUIET_S

    def writer(v, w):
        c = client(tb)
        rnd = random.Random(w * 7919 + ord(v.name))
        last, n = {}, 0
        for _ in range(MAX_OPS):
            now = time.monotonic()
            if now >= stop:
                break
            g = rnd.randrange(GROUPS)
            # pool key i is written until its retire time (spread over the run, so last
            # writes land before, during and between invalidations); then fresh keys only
            left = (stop - QUIET_S) - now
            alive = [i for i in range(POOL) if left > main * (POOL - 1 - i) / POOL * 0.7]
            # half the writes rewrite pool keys, half write fresh keys (each one a last write)
            fresh = left <= 0 or rnd.random() < 0.5
            key = v.key(g, w, POOL + n if fresh else rnd.choice(alive))
            t0 = time.monotonic()
            got = v.write(c, g, key, "%d:%d" % (w, n))
            last[key] = (g, t0, time.monotonic())
            assert len(got) == 3 and None not in got, (key, got)
            n += 1
        v.last.update(last)
        v.writes.append(n)

    def invalidator(v):
        c = client(tb)
        rnd = random.Random(ord(v.name))
        for _ in range(MAX_OPS):
            if time.monotonic() >= stop - QUIET_S:      # writers go on alone at the end
                break
            g = rnd.randrange(GROUPS)
            t0 = time.monotonic()
            seen = v.invalidate(c, g, rnd.random() * 0.003)
            v.invs.append((g, t0, time.monotonic(), seen))
            time.sleep(rnd.random() * 0.002)

    targets = []
    for v in variants:
        targets += [lambda v=v, w=w: writer(v, w) for w in range(WRITERS)]
        targets.append(lambda v=v: invalidator(v))
    run_threads(targets, RUN_S + 15)

    c = client(tb)
    for v in variants:
        members = [c.smembers(t) for t in v.tags]
        keys = sorted(v.last)
        p = c.pipeline(transaction=False)
        for k in keys:
            p.exists(k)
        exists = dict(zip(keys, p.execute()))
        dropped = kept = straddled = 0
        # one invalidator per variant: a group's invalidations are in order, one at a time
        starts = [[iv[1] for iv in v.invs if iv[0] == g] for g in range(GROUPS)]
        ends = [[iv[2] for iv in v.invs if iv[0] == g] for g in range(GROUPS)]
        for k in keys:
            g, sent, replied = v.last[k]
            before = bisect.bisect_left(starts[g], replied)   # those that began before the reply
            if before < len(starts[g]):
                assert not exists[k], "%s: %s written before an invalidation of %s began, " \
                    "survived it" % (v.name, k, v.tags[g])
                dropped += 1
            if exists[k]:
                assert k in members[g], "%s: %s exists but is not in its tag %s: no " \
                    "later invalidation would drop it" % (v.name, k, v.tags[g])
            if not ends[g] or ends[g][-1] < sent:
                assert exists[k] and k in members[g], "%s: %s written after every " \
                    "invalidation of %s: exists %s, member %s" % (
                        v.name, k, v.tags[g], exists[k], k in members[g])
                kept += 1
            if before and ends[g][before - 1] > sent:
                straddled += 1
        stale = 0
        for g, t in enumerate(v.tags):
            live = {k for k in keys if exists[k] and v.last[k][0] == g}
            assert members[g] >= live
            assert all(m in v.last and v.last[m][0] == g for m in members[g]), members[g]
            if v.name == "a":
                assert members[g] == live, "colocated tag %s: members %s, existing keys " \
                    "%s" % (t, sorted(members[g]), sorted(live))
            stale += len(members[g] - live)
        print("variant %s: %d writes, %d invalidations (%d members dropped), %d keys: "
              "%d dropped, %d kept, %d written during an invalidation, %d stale members"
              % (v.name, sum(v.writes), len(v.invs), sum(iv[3] for iv in v.invs), len(keys),
                 dropped, kept, straddled, stale))
        # the run exercised what it claims to
        assert {half(k) for k in keys} == {0, 1}, "keys on one partition only"
        if v.name == "a":
            assert {half(t) for t in v.tags} == {0, 1}, "colocated groups on one partition"
        assert len(v.invs) >= 20 and sum(iv[3] for iv in v.invs) > 0, v.invs[:5]
        assert straddled > 0, "no write overlapped an invalidation of its tag"
        assert dropped > 0 and kept > 0, (dropped, kept)


def test_scan_match_unlink(tb, rd):
    c = client(tb)
    matching = ["pg:%d" % i for i in range(3000)]
    for i in range(0, len(matching), 500):
        c.mset({k: "v" for k in matching[i:i + 500]})
    keep = {"keep:%d:%d" % (w, i): True for w in range(2) for i in range(500)}
    c.mset({k: "v" for k in keep})
    assert {half(k) for k in matching} == {0, 1}
    deadline = time.monotonic() + 10
    done = threading.Event()
    started = [threading.Event() for _ in range(2)]
    state = [{}, {}]          # key -> exists, per writer (its own keys only)
    spans = [[], []]          # (sent, replied) of each write

    def writer(w):
        wc = client(tb)
        rnd = random.Random(w)
        mine = [k for k in keep if k.startswith("keep:%d:" % w)]
        for n in range(MAX_OPS):
            if done.is_set() or time.monotonic() >= deadline:
                break
            t0 = time.monotonic()
            r = rnd.random()
            if r < 0.5:
                k = "new:%d:%d" % (w, n)
                assert wc.set(k, "v") is True
                state[w][k] = True
            else:
                k = rnd.choice(mine)
                if r < 0.75:
                    wc.delete(k)
                    state[w][k] = False
                else:
                    assert wc.set(k, "v2") is True
                    state[w][k] = True
            spans[w].append((t0, time.monotonic()))
            if n == 50:
                started[w].set()

    scan_span = []

    def scanner():
        sc = client(tb)
        for e in started:
            assert e.wait(5), "a writer did not start"
        t0 = time.monotonic()
        batch, n = [], 0
        for k in sc.scan_iter(match="pg:*", count=50):
            assert k.startswith("pg:"), k
            batch.append(k)
            if len(batch) == 100:
                n += sc.unlink(*batch)
                batch = []
            assert time.monotonic() < deadline, "the scan did not finish in time"
        if batch:
            n += sc.unlink(*batch)
        scan_span.extend([t0, time.monotonic(), n])
        done.set()

    run_threads([lambda: writer(0), lambda: writer(1), scanner], 15)
    t0, t1, unlinked = scan_span
    during = sum(1 for s in spans for a, b in s if a > t0 and b < t1)
    print("SCAN MATCH + UNLINK: %d keys unlinked in %.2f s, %d writes during the scan"
          % (unlinked, t1 - t0, during))
    assert during > 0, "no write ran during the scan"
    assert unlinked == len(matching)
    for i in range(0, len(matching), 500):
        assert c.mget(matching[i:i + 500]) == [None] * len(matching[i:i + 500])
    assert list(c.scan_iter(match="pg:*", count=1000)) == []
    expect = dict(keep)
    for s in state:
        expect.update(s)
    names = sorted(expect)
    got = []
    for i in range(0, len(names), 500):
        got += c.mget(names[i:i + 500])
    wrong = [(k, g) for k, g in zip(names, got) if (g is not None) != expect[k]]
    assert not wrong, wrong[:10]
