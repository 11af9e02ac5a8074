"""test_shutdown.py - a dataplane on hugepages stops cleanly on SIGTERM and
on SIGINT: it says so, exits 0, and its hugepages go back to the system with
no files left behind in hugetlbfs (wirecache-dp adds --huge-unlink to the
EAL options). Runs without the testbed, on a null port that receives
nothing; skipped where hugepages cannot be reserved.
"""
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from lib import cp

DP = os.path.join(cp.ROOT, "build", "rel", "wirecache-dp")
HUGE = "/sys/kernel/mm/hugepages/hugepages-2048kB"
HUGEDIR = "/dev/hugepages"
PREFIX = "wcdts_stop_%d" % os.getpid()
PAGES = 96      # -m 128 plus EAL's own


def _read(name):
    with open(os.path.join(HUGE, name)) as f:
        return int(f.read())


def _mounted():
    with open("/proc/mounts") as f:
        return any(ln.split()[1] == HUGEDIR and ln.split()[2] == "hugetlbfs" for ln in f)


@pytest.fixture
def hugepages():
    """PAGES more 2 MiB pages than are free now, given back afterwards."""
    if os.geteuid() != 0 or not os.access(os.path.join(HUGE, "nr_hugepages"), os.W_OK):
        pytest.skip("needs root and writable hugepage settings")
    if not _mounted():
        os.makedirs(HUGEDIR, exist_ok=True)
        if subprocess.run(["mount", "-t", "hugetlbfs", "nodev", HUGEDIR]).returncode != 0:
            pytest.skip("cannot mount hugetlbfs")
    orig = _read("nr_hugepages")
    with open(os.path.join(HUGE, "nr_hugepages"), "w") as f:
        f.write(str(orig + PAGES))
    if _read("free_hugepages") < PAGES:
        with open(os.path.join(HUGE, "nr_hugepages"), "w") as f:
            f.write(str(orig))
        pytest.skip("cannot reserve %d hugepages" % PAGES)
    try:
        yield
    finally:
        for f in glob.glob(os.path.join(HUGEDIR, PREFIX + "*")):
            os.unlink(f)
        shutil.rmtree("/var/run/dpdk/" + PREFIX, ignore_errors=True)
        with open(os.path.join(HUGE, "nr_hugepages"), "w") as f:
            f.write(str(orig))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stops_cleanly_and_gives_hugepages_back(hugepages, sig):
    free_before = _read("free_hugepages")
    log = tempfile.NamedTemporaryFile(prefix="wc-stop-", suffix=".log", delete=False).name
    p = subprocess.Popen(
        [DP, "-l", "0", "--huge-dir", HUGEDIR, "-m", "128", "--no-pci", "--no-telemetry",
         "--file-prefix", PREFIX, "--vdev", "net_null0,no-rx=1", "--log-level=lib.eal:notice",
         "--", "--ip", "198.18.1.1/24", "--memory", "8M", "--control-socket", "none"],
        stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while "wirecache-dp: ready" not in open(log).read():
            assert p.poll() is None and time.monotonic() < deadline, open(log).read()
            time.sleep(0.1)
        in_use = free_before - _read("free_hugepages")
        assert in_use > 0, "the dataplane is not on hugepages:\n" + open(log).read()
        p.send_signal(sig)
        rc = p.wait(20)
        out = open(log).read()
        assert rc == 0, out
        assert "wirecache-dp: stopped" in out, out
        # the pages come back as the process's mappings go
        deadline = time.monotonic() + 5
        while _read("free_hugepages") < free_before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _read("free_hugepages") == free_before, \
            "%d of %d hugepages not given back" % (free_before - _read("free_hugepages"), in_use)
        assert not glob.glob(os.path.join(HUGEDIR, PREFIX + "*")), "hugepage files left behind"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        os.unlink(log)
