"""test_cp_dashboard.py - the web dashboard in headless Chromium (Debian's
`chromium`), against the testbed's control plane while load runs: the page
loads its vendored chart library, the charts draw (pixels of their series'
colours on each canvas), and the numbers on the page change between two
loads under traffic. A screenshot is kept in build/dts-artifacts/.
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
CHARTS = ("c-ops", "c-hit", "c-mem", "c-evict", "c-lat", "c-cores")


class Dom(html.parser.HTMLParser):
    """The attributes of every element that has an id, and the body's."""

    def __init__(self):
        super().__init__()
        self.by_id, self.body, self.scripts = {}, {}, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        if "id" in a:
            self.by_id[a["id"]] = a


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
        api.wait(lambda d: d["rates"] and d["rates"]["ops_per_s"] > 50, "load to show", 15)
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
        for c in ("c-ops", "c-mem", "c-cores", "c-lat"):
            assert int(d.by_id[c]["data-points"]) >= 2, (c, d.by_id[c])
            assert int(d.by_id[c]["data-ink"]) > 0, "chart %s drew nothing" % c
        for c in CHARTS:
            assert c in d.by_id
        assert d.by_id["conn"]  # the badge
    # live: the page shows other numbers a few seconds later, and more points
    assert int(second.body["data-points"]) > int(first.body["data-points"])
    assert (first.body["data-last-ops"], first.by_id["t-ops"]["data-value"]) != \
        (second.body["data-last-ops"], second.by_id["t-ops"]["data-value"])
    assert os.path.getsize(shot) > 20000, "the screenshot is suspiciously small"
    with open(shot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    print("  screenshot: %s (%d bytes)" % (shot, os.path.getsize(shot)))
