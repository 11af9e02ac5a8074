"""test_cp_dashboard.py - the web dashboard in headless Chromium (Debian's
`chromium`), against the testbed's control plane while load runs: the page
loads its vendored chart library, the charts draw (pixels of their series'
colours on each canvas), and the numbers on the page change between two
loads under traffic; the Cores table counts each lcore's partitions, the
network chart and tile show bytes moving, and the hit-rate axis stays within
0..100% (as uPlot drew it: the page leaves each chart's y scale in the DOM),
also for a hit rate flat at 100%, which uPlot's own fitting drew up to 200%.
A screenshot is kept in build/dts-artifacts/.
"""
import html.parser
import os
import shutil
import subprocess
import threading
import time

import pytest

from lib import cp
from lib.testbed import in_root_ns, node_ip

pytestmark = pytest.mark.testbed("cp")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PROFILE = "/tmp/wc-dts-chromium"
CHARTS = ("c-ops", "c-hit", "c-mem", "c-evict", "c-lat", "c-cores", "c-net")


class Dom(html.parser.HTMLParser):
    """The attributes of every element that has an id, and the body's; the rows of the
    Cores table (their attributes and cell texts)."""

    def __init__(self):
        super().__init__()
        self.by_id, self.body, self.scripts = {}, {}, []
        self.cores, self._table, self._cell = [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        if "id" in a:
            self.by_id[a["id"]] = a
        if tag == "table":
            self._table = a.get("id")
        elif self._table == "cores" and tag == "tr" and "data-lcore" in a:
            self.cores.append({"attrs": a, "cells": []})
        elif self._table == "cores" and tag == "td" and self.cores:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "td" and self._cell is not None:
            self.cores[-1]["cells"].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def chromium(*args, timeout=60):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--user-data-dir=" + PROFILE, *args]
    with in_root_ns():      # the control plane serves the host's loopback
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, check=False)
    assert r.returncode == 0, "chromium failed (%d): %s" % (r.returncode, r.stderr[-2000:])
    return r.stdout.decode(errors="replace")


def dump(url):
    d = Dom()
    d.feed(chromium("--virtual-time-budget=4000", "--dump-dom", url))
    return d


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make deps)")
def test_dashboard_renders_live_numbers(tb):
    api = cp.Http(cp.cp_port(1))
    api.wait(lambda d: d.get("attached"), "the control plane to attach")
    url = "http://127.0.0.1:%d/" % cp.cp_port(1)
    _, page = api.text("/")
    assert "uPlot.iife.min.js" in page
    hdrs, js = api.text("/static/uPlot.iife.min.js")
    assert js.startswith("/*! https://github.com/leeoniya/uPlot") and "javascript" in \
        hdrs["Content-Type"]

    stop = threading.Event()

    def load():
        c = cp.Mc(node_ip(1))
        i = 0
        try:
            while not stop.is_set() and i < 200000:
                c.set("dash%d" % (i % 500), "v%d" % i)
                c.get("dash%d" % ((i * 7) % 600))
                i += 1
        finally:
            c.close()

    t = threading.Thread(target=load)
    t.start()
    try:
        lcores = api.json("/api/stats")["lcores"]
        assert sum(len(l["partitions"]) for l in lcores) == 4, lcores	# the "cp" layout
        api.wait(lambda d: d["rates"] and d["rates"]["ops_per_s"] > 50, "load to show", 15)
        # the page's first chart points come from the history: two, so a line is drawn
        # (chromium's virtual time runs the page's polls in far less real time)
        api.wait(lambda h: len(h["t"]) >= 2, "two samples in the history", 15,
                 path="/api/history")
        first = dump(url)
        time.sleep(2.5)
        second = dump(url)
        os.makedirs(cp.ARTIFACTS, exist_ok=True)
        shot = os.path.join(cp.ARTIFACTS, "dashboard.png")
        if os.path.exists(shot):
            os.unlink(shot)
        chromium("--virtual-time-budget=4000", "--window-size=1400,1000",
                 "--screenshot=" + shot, url)
    finally:
        stop.set()
        t.join(30)
        shutil.rmtree(PROFILE, ignore_errors=True)

    for d in (first, second):
        assert "/static/uPlot.iife.min.js" in d.scripts
        assert int(d.body["data-updates"]) >= 1, d.body
        assert int(d.body["data-points"]) >= 2, d.body
        assert float(d.body["data-last-ops"]) > 0, d.body
        assert float(d.by_id["t-ops"]["data-value"]) > 0
        assert int(d.by_id["t-items"]["data-value"]) > 0
        for c in ("c-ops", "c-mem", "c-cores", "c-lat", "c-net"):
            assert int(d.by_id[c]["data-points"]) >= 2, (c, d.by_id[c])
            assert int(d.by_id[c]["data-ink"]) > 0, "chart %s drew nothing" % c
        for c in CHARTS:
            assert c in d.by_id
        assert d.by_id["conn"]  # the badge
        check_hit_axis(d)
        # bytes in and out per second: requests in, values out
        assert float(d.by_id["t-net"]["data-rx"]) > 0 and float(d.by_id["t-net"]["data-tx"]) > 0, \
            d.by_id["t-net"]
        # the Cores table: how many partitions each lcore owns, then which
        assert [r["attrs"]["data-lcore"] for r in d.cores] == [str(l["lcore"]) for l in lcores]
        for row, l in zip(d.cores, lcores):
            want = len(l["partitions"])
            assert row["cells"][5] == str(want) and row["attrs"]["data-partitions"] == str(want), \
                "lcore %d owns %s; the table says %r" % (l["lcore"], l["partitions"], row["cells"])
            assert row["cells"][6] == " ".join("#%d" % p for p in l["partitions"]), row["cells"]
    # live: the page shows other numbers a few seconds later, and more points
    assert int(second.body["data-points"]) > int(first.body["data-points"])
    assert (first.body["data-last-ops"], first.by_id["t-ops"]["data-value"]) != \
        (second.body["data-last-ops"], second.by_id["t-ops"]["data-value"])
    assert os.path.getsize(shot) > 20000, "the screenshot is suspiciously small"
    with open(shot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    print("  screenshot: %s (%d bytes)" % (shot, os.path.getsize(shot)))


def check_hit_axis(d):
    """The hit-rate chart's y scale as uPlot drew it: within 0..100 (%)."""
    el = d.by_id["c-hit"]
    assert "data-ymax" in el, "the page did not record the hit-rate scale: %s" % el
    ymin, ymax = float(el["data-ymin"]), float(el["data-ymax"])
    assert 0 <= ymin < ymax <= 100, "hit-rate axis runs %g..%g%%" % (ymin, ymax)
    return ymin, ymax


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make deps)")
def test_hit_rate_axis_for_a_flat_100_percent(tb):
    """Every get hits: the series is flat at 100%, which uPlot's fitting pads by the value
    itself (an axis to 200%). A control plane of its own keeps older points off the chart."""
    port = 8193
    p, h = cp.spawn_cp(port, "--node", "flat", "--interval-ms", "250")
    c = cp.Mc(node_ip(1))
    try:
        # (the node publishes its counters periodically: the last test's final gets, misses
        # among them, may reach this control plane's first interval; an idle one follows)
        h.wait(lambda d: d["rates"] and d["rates"]["ops_per_s"] == 0, "an idle interval", 10)
        c.set_many(("flat%d" % i, "v%d" % i) for i in range(100))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert len(c.get_many(["flat%d" % i for i in range(100)])) == 100
        h.wait(lambda d: d["rates"] and d["rates"]["hit_rate"] == 1.0, "a 100% interval", 5)
        hist = h.json("/api/history")["hit_rate"]
        idle = max(i for i, r in enumerate(hist) if r is None)
        rates = [r for r in hist[idle + 1:] if r is not None]
        assert len(rates) >= 3 and set(rates) == {1.0}, hist
        d = dump("http://127.0.0.1:%d/" % port)
    finally:
        c.close()
        cp.stop(p)
        shutil.rmtree(PROFILE, ignore_errors=True)
    assert int(d.by_id["c-hit"]["data-points"]) >= 3, d.by_id["c-hit"]
    assert int(d.by_id["c-hit"]["data-ink"]) > 0, "the hit-rate line was not drawn"
    assert check_hit_axis(d) == (0, 100)
