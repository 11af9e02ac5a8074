"""test_cp_attach.py - the control plane outlives its dataplane, and the
other way round, without the testbed: a dataplane on a null port that
receives nothing (--no-huge, so no DPDK secondary process could attach
either) and a wirecache-cp on its socket. Killing and restarting the
dataplane, the control plane reports it gone, then attaches to the new one
(new pid, new shared memory); killing the control plane leaves the
dataplane running, and a new control plane attaches.
"""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from lib import cp

DP = os.path.join(cp.ROOT, "build", "rel", "wirecache-dp")
PREFIX = "wccp_attach_%d" % os.getpid()
PORT = 8195


def start_dp(sock, log):
    return subprocess.Popen(
        [DP, "-l", "0,1", "--no-huge", "-m", "256", "--no-pci", "--no-telemetry",
         "--file-prefix", PREFIX, "--vdev", "net_null0,no-rx=1", "--log-level=lib.eal:notice",
         "--", "--ip", "198.18.1.1/24", "--memory", "8M", "--partitions-per-lcore", "2",
         "--control-socket", sock],
        stdout=open(log, "a"), stderr=subprocess.STDOUT)


def wait_ready(p, log):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if "wirecache-dp: ready" in open(log).read().split("---")[-1]:
            return
        assert p.poll() is None, open(log).read()
        time.sleep(0.1)
    raise AssertionError("dataplane not ready: " + open(log).read())


def stop_dp(p):
    p.terminate()
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="wc-cp-attach-")
    yield d
    shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree("/var/run/dpdk/" + PREFIX, ignore_errors=True)


def test_control_plane_reattaches_and_dataplane_outlives_it(workdir):
    sock = os.path.join(workdir, "node.sock")
    dplog = os.path.join(workdir, "dp.log")
    cplog = os.path.join(workdir, "cp.log")
    dp = start_dp(sock, dplog)
    cpp = None
    try:
        wait_ready(dp, dplog)
        cpp, h = cp.spawn_cp(PORT, "--node", "solo", "--interval-ms", "200", socket_path=sock,
                             log=cplog)
        first = h.json("/api/status")
        assert first["dataplane"]["pid"] == dp.pid and first["reattaches"] == 0

        # the dataplane goes away: the control plane says so, and keeps serving
        stop_dp(dp)
        st = h.wait(lambda d: not d["attached"], "the control plane to notice", 10,
                    "/api/status")
        assert "control socket" in st["error"] or "cannot connect" in st["error"], st
        assert h.json("/api/stats")["attached"] is False
        status, _, body = h.request("GET", "/api/slots")
        assert status == 503 and b"not attached" in body
        _, text = h.text("/metrics")
        samples, _ = cp.parse_prometheus(text)
        assert samples[("wirecache_up", frozenset())] == 0
        rc, out, _ = cp.ctl("--url", "http://127.0.0.1:%d" % PORT, "status")
        assert rc == 1 and "NOT attached" in out

        # it comes back: attached again, to the new process
        with open(dplog, "a") as f:
            f.write("---\n")
        dp = start_dp(sock, dplog)
        wait_ready(dp, dplog)
        st = h.wait(lambda d: d["attached"] and d["dataplane"]["pid"] == dp.pid,
                    "the control plane to attach again", 10, "/api/status")
        assert st["reattaches"] == 1
        assert st["dataplane"]["boot_id"] != first["dataplane"]["boot_id"]
        assert "attached to %s (dataplane pid %d" % (sock, dp.pid) in open(cplog).read()

        # the control plane dies: the dataplane does not care, a new one attaches
        cpp.kill()
        cpp.wait(5)
        time.sleep(0.5)
        assert dp.poll() is None, "the dataplane died with its control plane"
        cpp, h = cp.spawn_cp(PORT, "--node", "solo", socket_path=sock, log=cplog)
        assert h.json("/api/status")["dataplane"]["pid"] == dp.pid
        rc, out, err = cp.ctl("--url", "http://127.0.0.1:%d" % PORT, "slots", "move", "0-10",
                              "1")
        assert rc == 0 and "done" in out, err
    finally:
        if cpp:
            cp.stop(cpp)
        if dp.poll() is None:
            stop_dp(dp)
    assert "wirecache-dp: stopped" in open(dplog).read()
