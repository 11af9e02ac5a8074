"""test_cp_monitoring.py - the control plane the testbed starts beside each node:
attachment, memcached `stats` agreeing with /api/stats and /metrics, latency
measured in the dataplane, network bytes per second (moving under load, adding
up to the dataplane's own counters), the Prometheus text, wirecachectl's commands,
alert rules firing on a second control plane with tight thresholds, the
token on mutating calls, bad input of every kind, and the dataplane serving
on when its control plane is killed (and a new one attaching).
"""
import json
import os
import signal
import threading
import time

import pytest

from lib import cp
from lib.testbed import STATE, node_ip

pytestmark = pytest.mark.testbed("cp")


@pytest.fixture
def api(tb):
    h = cp.Http(cp.cp_port(1))
    h.wait(lambda d: d.get("attached"), "the testbed's control plane to attach")
    return h


@pytest.fixture
def mc(tb):
    c = tb.track(cp.Mc(node_ip(1)))
    assert c.cmd("flush_all") == b"OK"
    return c


def test_attached_to_its_node(api):
    st = api.json("/api/status")
    assert st["attached"] and st["node"] == "node1"
    assert st["socket"] == cp.node_socket(1)
    dp = st["dataplane"]
    assert dp["workers"] == 2 and dp["partitions"] == 4
    assert dp["pid"] == int(open(os.path.join(STATE, "node1.pid")).read())
    assert "attached to" in open(os.path.join(STATE, "cp1.log")).read()


# memcached names compared between the three views (bytes_read/written move with the
# stats request itself, curr_connections with the connection asking)
SAME = ("cmd_get", "cmd_set", "get_hits", "get_misses", "curr_items", "total_items", "bytes",
        "limit_maxbytes", "evictions", "delete_hits", "delete_misses", "incr_hits",
        "touch_hits", "cmd_touch", "threads")
PROM = {"get_hits": "wirecache_get_hits_total", "get_misses": "wirecache_get_misses_total",
        "curr_items": "wirecache_items", "total_items": "wirecache_items_stored_total",
        "bytes": "wirecache_memory_used_bytes", "limit_maxbytes": "wirecache_memory_limit_bytes",
        "evictions": "wirecache_evictions_total", "delete_hits": "wirecache_delete_hits_total"}


def test_memcached_stats_agree_with_api_and_metrics(api, mc):
    start = mc.stats()
    mc.set_many(("agree%d" % i, "x" * (i % 100)) for i in range(3000))
    mc.get_many(["agree%d" % i for i in range(0, 4000, 3)])		# hits and misses
    for i in range(50):
        mc.delete("agree%d" % i)
        mc.cmd("touch agree%d 100" % (i + 100))
        mc.cmd("incr agree%d 1" % i)
    time.sleep(0.5)		# the dataplane publishes every 100 ms
    mcs = mc.stats()
    doc = api.json("/api/stats")["stats"]
    _, text = api.text("/metrics")
    samples, _ = cp.parse_prometheus(text)
    for name in SAME:
        assert int(mcs[name]) == doc[name], "%s: memcached %s, /api/stats %s" % (
            name, mcs[name], doc[name])
    for name, metric in PROM.items():
        assert samples[(metric, frozenset())] == int(mcs[name]), \
            "%s: memcached %s, %s %s" % (name, mcs[name], metric, samples[(metric, frozenset())])
    assert samples[("wirecache_commands_total", frozenset({("command", "get")}))] >= 1334
    # (0, 3, ... 3999): 1000 of those keys exist, 334 do not
    assert int(mcs["get_hits"]) - int(start["get_hits"]) == 1000
    assert int(mcs["get_misses"]) - int(start["get_misses"]) == 334


def test_latency_measured_in_the_dataplane(api, mc):
    before = api.json("/api/stats")["latency_us"]["count"]
    for i in range(300):
        mc.set("lat%d" % i, "v")
        mc.get("lat%d" % i)
    doc = api.wait(lambda d: d["latency_us"]["count"] >= before + 600, "600 more samples")
    lat = doc["latency_us"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["p999"]
    assert lat["p99"] < 100000, lat		# a TSC reading in microseconds, not garbage
    doc = api.wait(lambda d: (d["window"]["latency_us"]["samples"] or 0) > 0 and
                   d["window"]["latency_us"]["p99"], "a window with samples")
    _, text = api.text("/metrics")
    samples, types = cp.parse_prometheus(text)
    assert types["wirecache_request_duration_seconds"] == "summary"
    assert samples[("wirecache_request_duration_seconds_count", frozenset())] >= before + 600
    q99 = samples[("wirecache_request_duration_seconds", frozenset({("quantile", "0.99")}))]
    assert 0 < q99 < 0.1


def lcore_busy(api):
    """Per lcore: the busy ratio of the last sampling interval (None before two samples)
    and the busy seconds so far, from /metrics."""
    samples, types = cp.parse_prometheus(api.text("/metrics")[1])
    ratio, secs = {}, {}
    for (name, labels), v in samples.items():
        if name == "wirecache_lcore_busy_ratio":
            assert types[name] == "gauge"
            ratio[dict(labels)["lcore"]] = v
        elif name == "wirecache_lcore_busy_seconds_total":
            assert types[name] == "counter"
            secs[dict(labels)["lcore"]] = v
    return ratio, secs


def test_lcore_busy_ratio_grows_under_load(api, mc):
    """Each worker's busy ratio (cycles of poll passes that did work) is on /metrics,
    within 0..1, and grows under load; busy seconds only go up."""
    idle = api.wait(lambda d: all(l.get("busy_ratio") is not None
                                  for l in d["lcores"]), "busy ratios of both lcores")
    assert len(idle["lcores"]) == 2
    time.sleep(1.2)		# one whole sampling interval (1 s) without our load
    quiet, secs0 = lcore_busy(api)
    assert set(quiet) == {"0", "1"} and set(secs0) == {"0", "1"}, quiet
    assert all(0 <= v <= 1 for v in quiet.values()), quiet
    mc.set_many(("busy%d" % i, "v" * 64) for i in range(1000))
    keys = ["busy%d" % i for i in range(1000)]
    stop, errors, peak = threading.Event(), [], dict(quiet)

    def load(c):
        try:
            for _ in range(2000):		# bounded: at most ~5 s on this machine
                if stop.is_set():
                    return
                assert len(c.get_many(keys)) == 1000
        except Exception as e:          # noqa: BLE001 - reported below
            errors.append(e)
    conns = [mc] + [cp.Mc(node_ip(1)) for _ in range(3)]
    threads = [threading.Thread(target=load, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            time.sleep(0.25)
            ratio, _ = lcore_busy(api)
            for k, v in ratio.items():
                assert 0 <= v <= 1, ratio
                peak[k] = max(peak[k], v)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        for c in conns[1:]:
            c.close()
    assert not errors, errors
    _, secs1 = lcore_busy(api)
    assert all(secs1[k] >= secs0[k] for k in secs0), (secs0, secs1)
    assert sum(secs1.values()) > sum(secs0.values())
    # the lcores serving the load got busier than they were without it
    assert max(peak.values()) > max(quiet.values()) + 0.001, (quiet, peak)
    print("busy ratio idle %s, under load (peak) %s" % (quiet, peak))


def quiet_counters(tb, timeout=5.0):
    """The node's telemetry once its frame counters held still for 0.3 s."""
    deadline = time.monotonic() + timeout
    last, since = tb.telemetry(1), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        cur = tb.telemetry(1)
        if (cur["rx_bytes"], cur["tx_bytes"]) != (last["rx_bytes"], last["tx_bytes"]):
            last, since = cur, time.monotonic()
        elif time.monotonic() - since >= 0.3:
            return cur
    raise AssertionError("the node's frame counters never held still: %s" % last)


def bytes_views(tb, api):
    """rx/tx bytes as the dataplane's telemetry, /api/stats and /metrics show them, read while
    no frame moves (loopback HTTP and the telemetry socket never touch the dataplane's ports);
    a background frame between the readings starts them over (bounded)."""
    for _ in range(5):
        tel = quiet_counters(tb)
        time.sleep(0.25)			# the dataplane publishes every 100 ms
        doc = api.json("/api/stats")
        samples, _ = cp.parse_prometheus(api.text("/metrics")[1])
        again = tb.telemetry(1)
        if (again["rx_bytes"], again["tx_bytes"]) == (tel["rx_bytes"], tel["tx_bytes"]):
            return tel, doc, samples
    raise AssertionError("frames kept moving between the readings")


def test_network_bytes_move_and_agree(tb, api, mc):
    tel0, doc0, _ = bytes_views(tb, api)
    # a sampled point of the quiet before: the interval rates are integrated from there
    hist = api.wait(lambda d: d["t"] and d["t"][-1] * 1000 > doc0["time_ms"],
                    "a sample after the quiet began", path="/api/history")
    t_before = hist["t"][-1]
    value = b"b" * 1000
    seen = {"rx": 0.0, "tx": 0.0}
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        mc.set_many(("net%d" % i, value) for i in range(200))
        assert len(mc.get_many(["net%d" % i for i in range(200)])) == 200
        r = api.json("/api/stats")["rates"]
        seen["rx"] = max(seen["rx"], r["rx_bytes_per_s"])
        seen["tx"] = max(seen["tx"], r["tx_bytes_per_s"])
    # sets bring ~1 KB each in, gets take as much out: tens of kB/s at the very least
    assert seen["rx"] > 20000 and seen["tx"] > 20000, seen
    # quiet again: the rates fall back to (nearly) nothing once an interval holds no load
    api.wait(lambda d: d["rates"]["rx_bytes_per_s"] < 2000 and
                   d["rates"]["tx_bytes_per_s"] < 2000, "the byte rates to fall", 10)
    tel1, doc1, samples = bytes_views(tb, api)
    st0, st1 = doc0["stats"], doc1["stats"]
    # the three views of the counters agree exactly
    for name, metric in (("rx_bytes", "wirecache_rx_bytes_total"),
                         ("tx_bytes", "wirecache_tx_bytes_total")):
        assert st1[name] == tel1[name] == samples[(metric, frozenset())], \
            "%s: /api/stats %d, telemetry %d, /metrics %d" % (
                name, st1[name], tel1[name], samples[(metric, frozenset())])
    assert st1["bytes_read"] == st1["rx_bytes"] and st1["bytes_written"] == st1["tx_bytes"]
    moved = {"rx": st1["rx_bytes"] - st0["rx_bytes"], "tx": st1["tx_bytes"] - st0["tx_bytes"]}
    assert moved["rx"] > 200 * 1000 * 5 and moved["tx"] > 200 * 1000 * 5, moved
    # memcached's stats over the protocol: the same counters, plus the request asking
    mcs = mc.stats()
    assert 0 < int(mcs["bytes_read"]) - st1["rx_bytes"] < 2000, (mcs["bytes_read"], st1)
    assert 0 <= int(mcs["bytes_written"]) - st1["tx_bytes"] < 2000, (mcs["bytes_written"], st1)
    # the per-interval rates add up to the bytes that moved: sum of rate x interval
    hist = api.json("/api/history")
    t = hist["t"]
    first = t.index(t_before)
    total = {"rx": 0.0, "tx": 0.0}
    for i in range(first + 1, len(t)):
        if t[i] * 1000 > doc1["time_ms"]:
            break
        total["rx"] += hist["rx_bytes_per_s"][i] * (t[i] - t[i - 1])
        total["tx"] += hist["tx_bytes_per_s"][i] * (t[i] - t[i - 1])
    for k in ("rx", "tx"):
        assert abs(total[k] - moved[k]) <= 0.01 * moved[k], \
            "%s: the rates add up to %.0f bytes, the counters moved %d" % (k, total[k], moved[k])
    print("  moved %d bytes in, %d out; peak %.0f / %.0f B/s" % (
        moved["rx"], moved["tx"], seen["rx"], seen["tx"]))


def test_metrics_page(api):
    hdrs, text = api.text("/metrics")
    assert hdrs["Content-Type"].startswith("text/plain; version=0.0.4")
    samples, types = cp.parse_prometheus(text)
    assert samples[("wirecache_up", frozenset())] == 1
    for name in ("wirecache_commands_total", "wirecache_drops_total", "wirecache_connections",
                 "wirecache_rx_packets_total", "wirecache_tx_bytes_total",
                 "wirecache_rx_bytes_total",
                 "wirecache_tcp_retransmits_total", "wirecache_partition_items",
                 "wirecache_alert_firing", "wirecache_slot_moves_total",
                 "wirecache_lcore_operations_total", "wirecache_evictions_total"):
        assert name in types, name
    lcores = {dict(l)["lcore"] for (n, l) in samples if n == "wirecache_lcore_operations_total"}
    assert lcores == {"0", "1"}


def test_ctl_commands(api, mc):
    mc.set_many(("ctl%d" % i, "v") for i in range(100))
    rc, out, err = cp.ctl("--node", "1", "status")
    assert rc == 0, err
    assert "node node1: attached to wirecache-dp" in out and "2 worker lcore(s)" in out
    rc, out, _ = cp.ctl("--node", "1", "--json", "status")
    assert rc == 0 and json.loads(out)["attached"] is True
    rc, out, _ = cp.ctl("--node", "1", "stats")
    assert rc == 0 and "get_hits" in out and "latency" in out and "partition" in out
    assert "rx bytes/s" in out and "tx bytes/s" in out
    # the dataplane publishes its counters every 100 ms: wait until the sets show (reading
    # at once failed once in 50 runs with curr_items 0)
    api.wait(lambda d: d["stats"]["curr_items"] >= 100, "the 100 sets to be published", 5)
    rc, out, _ = cp.ctl("--node", "1", "--json", "stats")
    assert json.loads(out)["stats"]["curr_items"] >= 100
    rc, out, _ = cp.ctl("--node", "1", "top", "--count", "2", timeout=30)
    assert rc == 0 and out.count("wirecache top - node node1") == 2
    assert "lcore" in out and "p99 us" in out and "net in/out" in out
    # each lcore's partitions: how many, then which (two each in this layout)
    assert "2 (0,1)" in out and "2 (2,3)" in out, out
    rc, out, _ = cp.ctl("--node", "1", "--json", "top", "--count", "2", timeout=30)
    frames = [json.loads(l) for l in out.splitlines()]
    assert len(frames) == 2 and all(len(f["lcores"]) == 2 for f in frames)
    rc, out, _ = cp.ctl("--node", "1", "alerts")
    assert rc == 0 and "hit_rate" in out and "latency_p99" in out
    rc, out, _ = cp.ctl("--node", "1", "--json", "alerts")
    assert {a["name"] for a in json.loads(out)["alerts"]} == {"hit_rate", "memory", "evictions",
                                                              "latency_p99", "replication"}
    flushes = api.json("/api/stats")["stats"]["cmd_flush"]
    rc, out, err = cp.ctl("--node", "1", "flush")
    assert rc == 0 and out.strip() == "flushed", err
    assert mc.get("ctl1") is None and mc.get("ctl99") is None
    api.wait(lambda d: d["stats"]["cmd_flush"] == flushes + 1, "the flush to be counted")


def test_bad_input_gets_clear_errors(api):
    rc, _, err = cp.ctl("--node", "1", "frobnicate")
    assert rc == 2 and "unknown command 'frobnicate'" in err
    rc, _, err = cp.ctl("--node", "1", "slots", "move", "9000-100", "1")
    assert rc == 2 and "invalid slot range '9000-100'" in err
    rc, _, err = cp.ctl("--node", "1", "slots", "move", "0-16384", "1")
    assert rc == 2 and "slots are 0-16383" in err
    rc, _, err = cp.ctl("--node", "1", "slots", "move", "0-10", "7")
    assert rc == 1 and "no partition 7" in err
    rc, _, err = cp.ctl("--node", "1", "slots", "move", "0-10")
    assert rc == 2
    rc, _, err = cp.ctl("--bogus", "status")
    assert rc == 2 and "unknown option '--bogus'" in err
    rc, _, err = cp.ctl("--url", "http://127.0.0.1:1", "status")
    assert rc == 1 and "cannot reach wirecache-cp" in err

    st, _, body = api.request("GET", "/no/such/page")
    assert st == 404 and "no such page" in json.loads(body)["error"]
    st, hdrs, _ = api.request("GET", "/api/slots/move")
    assert st == 405 and hdrs["Allow"] == "POST"
    st, hdrs, _ = api.request("DELETE", "/api/stats")
    assert st == 405
    st, _, body = api.request("POST", "/api/slots/move", body=b"{not json")
    assert st == 400 and "not valid JSON" in json.loads(body)["error"]
    st, _, body = api.request("POST", "/api/slots/move", body={"from": 5, "to": 1,
                                                                "partition": 0})
    assert st == 400 and "invalid slot range" in json.loads(body)["error"]
    st, _, body = api.request("POST", "/api/slots/move", body={"range": "0-99999",
                                                                "partition": 0})
    assert st == 400 and "invalid slot range" in json.loads(body)["error"]
    st, _, body = api.request("POST", "/api/slots/move", body={"from": "0", "to": 1,
                                                                "partition": 0})
    assert st == 400
    st, _, body = api.request("POST", "/api/slots/move", body={"from": 0, "to": 1,
                                                                "partition": 99})
    assert st == 400 and "no partition 99" in json.loads(body)["error"]
    st, _, body = api.request("POST", "/api/flush", body={"delay": -1})
    assert st == 400
    st, _, body = api.request("POST", "/api/flush", body=b"x" * 5000)
    assert st == 413
    # not HTTP at all: libmicrohttpd answers 400 and closes
    s = cp.connect(cp.cp_port(1))
    s.sendall(b"\x16\x03\x01 hello there\r\n\r\n")
    reply = s.recv(4096)
    s.close()
    assert reply.startswith(b"HTTP/1.1 400"), reply[:80]
    # the control plane is still fine
    assert api.json("/api/status")["attached"]


def test_token_guards_mutating_calls(tb, api):
    p, h = cp.spawn_cp(8190, "--token", "s3cret", "--node", "tok")
    try:
        st, _, body = h.request("POST", "/api/flush", body={})
        assert st == 401 and "token" in json.loads(body)["error"]
        st, _, _ = h.request("POST", "/api/slots/move", body={"range": "0-1", "partition": 0},
                             headers={"Authorization": "Bearer wrong"})
        assert st == 401
        st, _, _ = h.request("POST", "/api/flush", body={},
                             headers={"Authorization": "Bearer s3cret"})
        assert st == 200
        st, _, _ = h.request("POST", "/api/flush", body={},
                             headers={"X-Wirecache-Token": "s3cret"})
        assert st == 200
        assert h.json("/api/stats")["attached"]		# reading needs none
        rc, _, err = cp.ctl("--url", "http://127.0.0.1:8190", "flush")
        assert rc == 1 and "token" in err
        rc, out, _ = cp.ctl("--url", "http://127.0.0.1:8190", "--token", "s3cret", "flush")
        assert rc == 0 and "flushed" in out
    finally:
        cp.stop(p)


def test_alerts_fire_and_are_logged(tb, api, mc):
    log = os.path.join(STATE, "cp-alerts.log")
    p, h = cp.spawn_cp(8191, "--node", "alerting", "--interval-ms", "200", "--window", "5",
                       "--alert-hit-rate", "0.9", "--alert-min-gets", "20",
                       "--alert-p99-us", "0.001", "--alert-min-samples", "5",
                       "--alert-evictions", "1", log=log)	# memory: the default 90%
    want = {"hit_rate", "latency_p99", "memory", "evictions"}
    seen, firing_metrics = set(), set()
    done = threading.Event()

    def load():
        # gets that all miss, and 4 KB values well past the 32 MB there is: memory fills
        # (items plus index pass 90% of the limit), then evictions start (and climb)
        c = cp.Mc(node_ip(1))
        try:
            big = b"z" * 4000
            for r in range(24):
                if done.is_set():
                    break
                c.get_many(["nothing%d:%d" % (r, i) for i in range(100)])
                c.set_many(("big%d:%d" % (r, i), big) for i in range(500))
        finally:
            c.close()

    try:
        time.sleep(1.5)		# windows of calm to compare with
        t = threading.Thread(target=load)
        t.start()
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and not want <= seen:
            doc = h.json("/api/alerts")
            now = {a["name"] for a in doc["alerts"] if a["state"] == "firing"}
            for a in doc["alerts"]:
                if a["state"] == "firing":
                    assert a["since_ms"] > 0 and a["message"], a
            if now - firing_metrics:
                _, text = h.text("/metrics")
                samples, _ = cp.parse_prometheus(text)
                firing_metrics |= {n for n in now if samples[(
                    "wirecache_alert_firing", frozenset({("alert", n)}))] == 1}
            seen |= now
            time.sleep(0.1)
        done.set()
        t.join(60)
        assert want <= seen, "never saw firing: %s" % (want - seen)
        assert firing_metrics, "/metrics never showed an alert firing"
        logged = open(log).read()
        for name in want:
            assert "alert %s FIRING" % name in logged, logged
        # the testbed's control plane, with the default thresholds, saw the evictions too
        assert api.json("/api/stats")["stats"]["evictions"] > 0
    finally:
        cp.stop(p)


def _proc_state(pid):
    """The state letter of a process (R, S, Z ...), or "gone"."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1][0]
    except (OSError, IndexError):
        return "gone"


def _cp_refuses(port):
    """Nothing listens on a control plane's HTTP port (any other outcome: not yet sure)."""
    try:
        cp.Http(port, timeout=1).request("GET", "/api/status")
    except ConnectionRefusedError:
        return True
    except OSError:
        pass
    return False


def _tail(path, n=3000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:] or "(empty)"
    except OSError as e:
        return "(%s)" % e


def test_dataplane_serves_on_without_its_control_plane(tb, api, mc):
    """Kill the testbed's control plane: the node serves on, and a new control plane
    attaches and sees the write made meanwhile. The dataplane publishes its counters every
    100 ms, so the new one may first answer from a snapshot older than that write: the
    test waits for the write to show (it once read curr_items 0 there, about one run in
    13). On failure it prints what happened when, and the logs of the node and of both
    control planes."""
    pidfile = os.path.join(STATE, "cp1.pid")
    oldlog = os.path.join(STATE, "cp1.log")
    newlog = os.path.join(STATE, "cp1-respawned.log")	# cp1.log keeps the killed one's
    old = int(open(pidfile).read())
    t0, steps = time.monotonic(), []

    def step(what):
        steps.append("%8.3f s  %s" % (time.monotonic() - t0, what))

    try:
        os.kill(old, signal.SIGKILL)
        step("SIGKILL to wirecache-cp pid %d" % old)
        # dead: a zombie (reaping may take seconds here) whose listening socket is gone
        for _ in range(50):
            if _proc_state(old) in ("Z", "gone") and _cp_refuses(cp.cp_port(1)):
                break
            time.sleep(0.1)
        step("the killed control plane is %s" % _proc_state(old))
        mc.set("alive", "yes")
        set_ms = time.time() * 1000
        assert mc.get("alive") == b"yes"
        step("the node stored and served a key")
        with pytest.raises(OSError):
            cp.Http(cp.cp_port(1), timeout=2).request("GET", "/api/status")
        step("the old HTTP port refuses")
        # a new control plane takes its place (and the testbed stops it on down)
        p, h = cp.spawn_cp(cp.cp_port(1), "--node", "node1", log=newlog)
        with open(pidfile, "w") as f:
            f.write(str(p.pid))
        step("a new wirecache-cp (pid %d) attached" % p.pid)
        first = h.json("/api/stats")
        step("its first /api/stats: snapshot published %+.0f ms after the set, curr_items %d"
             % (first["time_ms"] - set_ms, first["stats"]["curr_items"]))
        doc = h.wait(lambda d: d["stats"]["curr_items"] >= 1, "the key to show in a snapshot",
                     5)
        step("a snapshot %+.0f ms after the set holds it" % (doc["time_ms"] - set_ms))
        assert tb.dead_nodes() == []
    except BaseException:
        print("--- node 1 log (tail) ---\n" + tb.log(1)[-3000:])
        print("--- %s (the killed control plane) ---\n%s" % (oldlog, _tail(oldlog)))
        print("--- %s (its replacement) ---\n%s" % (newlog, _tail(newlog)))
        raise
    finally:
        print("--- what happened when ---\n" + "\n".join(steps))		# shown by -rA too
