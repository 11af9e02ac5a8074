"""test_cp_slots.py - live slot moves through the control plane, under load.

One node with two worker lcores and four partitions. 20,000 keys are
stored; then a writer rewrites hot keys with rising versions and deletes
others, and a reader checks every answer against what was acknowledged
before it asked (never an older version, never a lost key, never a deleted
key back), while `wirecachectl slots move` moves slot ranges between
partitions of both lcores. Afterwards every key is checked: still there with
its last acknowledged value (or gone, if deleted), in the partition the
table names, with the old partitions' copies dropped.
"""
import json
import random
import threading
import time

import pytest

from lib import cp
from lib.testbed import node_ip

pytestmark = pytest.mark.testbed("cp")

NKEYS = 20000
HOT = range(0, 2000)		# rewritten with versions
DELS = range(2000, 2600)	# deleted during the run
LOAD_SECONDS_MAX = 40


def key(i):
    return "k%d" % i


def original(i):
    return ("v%d:0:" % i + "x" * (i % 50)).encode()


class Load:
    """A writer and a reader on connections of their own, checking as they go."""

    def __init__(self, host):
        self.host = host
        self.stop = threading.Event()
        self.acked = {}		# hot key -> last version acknowledged (writer only writes)
        self.deleted = set()	# acknowledged deletes
        self.deleting = set()	# deletes sent
        self.errors = []
        self.reads = self.writes = 0

    def writer(self):
        c = cp.Mc(self.host)
        rng = random.Random(1)
        version = {i: 0 for i in HOT}
        dels = list(DELS)
        deadline = time.monotonic() + LOAD_SECONDS_MAX
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                i = rng.choice(HOT)
                version[i] += 1
                r = c.set(key(i), b"v%d:%d" % (i, version[i]))
                if r != b"STORED":
                    self.errors.append("set %s: %r" % (key(i), r))
                    return
                self.acked[i] = version[i]
                self.writes += 1
                if self.writes % 10 == 0 and dels:
                    d = dels.pop()
                    self.deleting.add(d)
                    r = c.delete(key(d))
                    if r != b"DELETED":
                        self.errors.append("delete %s: %r" % (key(d), r))
                        return
                    self.deleted.add(d)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.errors.append("writer: %r" % e)
        finally:
            c.close()

    def reader(self):
        c = cp.Mc(self.host)
        rng = random.Random(2)
        deadline = time.monotonic() + LOAD_SECONDS_MAX
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                i = rng.randrange(NKEYS)
                floor = self.acked.get(i, 0)
                gone = i in self.deleted
                going = i in self.deleting
                v = c.get(key(i))
                self.reads += 1
                if i in HOT:
                    if v is None:
                        self.errors.append("%s lost" % key(i))
                    elif floor and (not v.startswith(b"v%d:" % i) or
                                    int(v.split(b":")[1]) < floor):
                        self.errors.append("%s stale: %r, acknowledged version %d" %
                                           (key(i), v, floor))
                elif i in DELS:
                    if gone and v is not None:
                        self.errors.append("%s deleted but served: %r" % (key(i), v))
                    if v is None and not going:
                        self.errors.append("%s lost" % key(i))
                elif v != original(i):
                    self.errors.append("%s: %r" % (key(i), v))
                if len(self.errors) > 20:
                    return
        except Exception as e:  # noqa: BLE001
            self.errors.append("reader: %r" % e)
        finally:
            c.close()


def move(frm, to, part):
    t0 = time.monotonic()
    rc, out, err = cp.ctl("--node", "1", "--json", "slots", "move", "%d-%d" % (frm, to),
                          str(part), timeout=120)
    took = time.monotonic() - t0
    assert rc == 0, "slots move %d-%d %d failed (%d): %s %s" % (frm, to, part, rc, out, err)
    m = json.loads(out)["move"]
    assert m["state"] == "done" and m["copy_failed"] == 0, m
    print("  move %d-%d -> %d: %d slots, %d keys copied in %.1f ms, writes paused %.1f ms, "
          "%d parked, %d dropped, total %.1f ms (%.2f s round trip)" %
          (frm, to, part, m["slots"], m["keys_copied"], m["copy_us"] / 1000,
           m["freeze_us"] / 1000, m["parked_writes"], m["keys_dropped"], m["total_us"] / 1000,
           took))
    return m


def test_moves_under_load_lose_nothing(tb):
    host = node_ip(1)
    api = cp.Http(cp.cp_port(1))
    api.wait(lambda d: d.get("attached"), "the testbed's control plane to attach")
    c = tb.track(cp.Mc(host))
    assert c.cmd("flush_all") == b"OK"
    c.set_many((key(i), original(i)) for i in range(NKEYS))
    st = api.wait(lambda d: d["stats"]["curr_items"] == NKEYS, "all keys counted")
    parts = {p["partition"]: p for p in st["partitions"]}
    assert len(parts) == 4 and all(p["items"] > 0 for p in parts.values()), parts

    load = Load(host)
    threads = [threading.Thread(target=load.writer), threading.Thread(target=load.reader)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        moves = [move(0, 8191, 3),		# lcore 0's slots to a partition of lcore 1
                 move(4096, 12287, 0),		# back and across
                 move(100, 100, 2),		# a single slot
                 move(0, 16383, 1)]		# everything into one partition
        time.sleep(1.0)
    finally:
        load.stop.set()
        for t in threads:
            t.join(LOAD_SECONDS_MAX + 10)
    print("  load: %d writes, %d reads during the moves" % (load.writes, load.reads))
    assert not load.errors, "\n".join(load.errors[:20])
    assert load.writes > 100 and load.reads > 100, "the load did not run"
    assert sum(m["keys_copied"] for m in moves) >= NKEYS // 2

    # every key, afterwards
    got = c.get_many([key(i) for i in range(NKEYS)])
    wrong = []
    for i in range(NKEYS):
        v = got.get(key(i))
        if i in HOT:
            want = b"v%d:%d" % (i, load.acked[i]) if i in load.acked else original(i)
        elif i in DELS:
            want = None if i in load.deleted else original(i)
        else:
            want = original(i)
        if v != want:
            wrong.append("%s: %r, wanted %r" % (key(i), v, want))
    assert not wrong, "%d keys wrong, e.g.\n%s" % (len(wrong), "\n".join(wrong[:20]))

    # the table and the partitions agree: one partition holds everything now
    slots = api.json("/api/slots")
    assert slots["ranges"] == [{"from": 0, "to": 16383, "partition": 1, "lcore": 0, "node": 0,
                                "moving": False}], slots["ranges"]
    assert slots["moves_done"] >= 4
    expect = NKEYS - len(load.deleted)
    st = api.wait(lambda d: d["stats"]["curr_items"] == expect, "item count after the moves")
    items = {p["partition"]: p["items"] for p in st["partitions"]}
    assert items[1] == expect and items[0] == items[2] == items[3] == 0, items


def test_slots_command_shows_the_table(tb):
    rc, out, err = cp.ctl("--node", "1", "slots")
    assert rc == 0, err
    assert "slot table epoch" in out and "partition" in out
    rc, out, _ = cp.ctl("--node", "1", "--json", "slots")
    doc = json.loads(out)
    covered = sum(r["to"] - r["from"] + 1 for r in doc["ranges"])
    assert covered == 16384 and doc["slots"] == 16384
    # spread the slots out again for the suites that follow
    move(0, 4095, 0)
    move(4096, 8191, 1)
    move(8192, 12287, 2)
    move(12288, 16383, 3)
    doc = cp.Http(cp.cp_port(1)).json("/api/slots")
    assert [(r["from"], r["to"], r["partition"]) for r in doc["ranges"]] == \
        [(0, 4095, 0), (4096, 8191, 1), (8192, 12287, 2), (12288, 16383, 3)]
