"""conftest.py - testbed fixtures for the end-to-end suites.

A test module picks its testbed layout with a marker naming one of
lib.testbed.CONFIGS ("default", "strict", "refused", "multi", and for TCP "tcp",
"tcp-short", "tcp-limit"):

    pytestmark = pytest.mark.testbed("strict")

Tests are reordered (stably) so that all tests of one layout run together and
each layout is brought up once. The `tb` fixture brings the module's layout up
if it is not running (or if a node died) and, as the test process now lives in
namespace "wc", hands out clients (tb.client(i) over UDP, tb.tcp(i) over TCP).
The `mc` (UDP) and `mct` (TCP) fixtures are clients of node 1 on a freshly
flushed cache. The testbed is torn down at the end of the session, whatever
happened; a node that dies during a test fails it.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import testbed as tbmod  # noqa: E402

_bed = None


def pytest_configure(config):
    config.addinivalue_line("markers", "testbed(name): the testbed layout a test needs "
                            "(one of %s)" % ", ".join(tbmod.ORDER))


def _config_of(item):
    m = item.get_closest_marker("testbed")
    name = m.args[0] if m and m.args else "default"
    if name not in tbmod.CONFIGS:
        raise pytest.UsageError("%s: unknown testbed layout %r" % (item.nodeid, name))
    return tbmod.CONFIGS[name]


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda it: tbmod.ORDER.index(_config_of(it).name))


def _need_root():
    if os.geteuid() != 0:
        pytest.exit("the end-to-end suites need root (network namespaces)", returncode=4)


@pytest.fixture(scope="session")
def testbed_session():
    global _bed
    _need_root()
    bed = _bed = tbmod.Testbed()
    try:
        yield bed
    finally:
        _bed = None
        bed.close()


def pytest_sessionfinish(session, exitstatus):
    # also on an interrupted run: never leave the namespace behind
    if _bed is not None:
        _bed.close()


@pytest.fixture
def tb(request, testbed_session):
    bed = testbed_session
    bed.ensure(_config_of(request.node))
    yield bed
    bed.close_clients()
    dead = bed.dead_nodes()
    if dead:
        logs = "\n".join("--- node %d log (tail) ---\n%s" % (i, bed.log(i)[-3000:])
                         for i in dead)
        pytest.fail("node(s) %s died during %s\n%s" % (dead, request.node.nodeid, logs),
                    pytrace=False)


@pytest.fixture
def mc(tb):
    c = tb.client(1)
    assert c.cmd("flush_all") == b"OK\r\n", "flush_all before the test did not answer OK"
    return c


@pytest.fixture
def mct(tb):
    """A memcached-over-TCP connection to node 1 on a freshly flushed cache."""
    c = tb.tcp(1)
    assert c.cmd("flush_all") == b"OK\r\n", "flush_all over TCP before the test did not answer OK"
    return c
