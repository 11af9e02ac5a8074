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

The `rd` fixture is a raw RESP connection (lib/resp.py) to node 1's Redis port on
a freshly flushed keyspace, authenticated where the layout sets --requirepass.

A node can also be left alive but unreachable (a test that broke the link and
did not put it back). So before each test module, if a testbed is up, every
node must answer ping and a memcached request over TCP (a few seconds at
most); if one does not, the testbed is brought back (down, then up with the
module's layout when its tests use one) and the last test that ran on it is
named, as a TestbedRecovered warning and under "testbed recoveries" in the
terminal summary (also kept in RECOVERIES).
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import resp as respmod  # noqa: E402
from lib import testbed as tbmod  # noqa: E402

_bed = None
_last_test = None       # the nodeid of the last test that ran while a testbed was up
RECOVERIES = []         # one line per testbed brought back before a module


class TestbedRecovered(pytest.PytestWarning):
    """A module found the testbed broken and brought it back."""


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _last_test
    yield
    if _bed is not None and _bed.config is not None:
        _last_test = item.nodeid


def _module_config(module):
    """The layout of module's tests if they use the testbed, else None."""
    items = [it for it in module.session.items if it.module is module.obj]
    if not any("tb" in it.fixturenames for it in items):
        return None
    return _config_of(items[0])


@pytest.fixture(scope="module", autouse=True)
def testbed_healthy(request):
    """Before a module: the running testbed answers, or it is brought back (see the top)."""
    global _last_test
    bed = _bed
    if bed is None or bed.config is None:
        return
    dead = bed.dead_nodes()
    bad = [(i, False, "its process is gone") for i in dead] if dead else bed.unanswered()
    if not bad:
        return
    msg = "testbed %r was broken before %s: %s; the last test that ran on it: %s; " \
        "brought back" % (bed.config.name, request.node.nodeid, ", ".join(
            "node %d answers ping: %s, TCP: %s" % b for b in bad), _last_test or "none")
    config = _module_config(request.node)
    bed.down()
    _last_test = None
    if config is not None:
        bed.up(config)
    RECOVERIES.append(msg)
    request.node.warn(TestbedRecovered(msg))


def pytest_terminal_summary(terminalreporter):
    if RECOVERIES:
        terminalreporter.section("testbed recoveries")
        for line in RECOVERIES:
            terminalreporter.line(line)


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


@pytest.fixture(autouse=True)
def _on_the_testbed(request):
    """A test marked for a testbed runs on it, inside its namespace, even if it
    forgot to ask for tb: from the host's namespace, 198.18.* is not ours, and
    a connection there would leave the machine."""
    if request.node.get_closest_marker("testbed"):
        request.getfixturevalue("tb")


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


def redis_password(config):
    """The --requirepass of a layout, or None."""
    a = list(config.args)
    return a[a.index("--requirepass") + 1] if "--requirepass" in a else None


def node_redis(tb, timeout=10):
    """A redis-py client of node 1's Redis port (with the layout's password), closed with tb."""
    import redis  # (Debian's python3-redis; only the suites that use it import it)

    c = redis.Redis(host=tbmod.node_ip(1), port=6379, socket_timeout=timeout,
                    socket_connect_timeout=5, password=redis_password(tb.config))
    tb.track(c)
    return c


@pytest.fixture
def rd(tb):
    """A raw RESP connection to node 1's Redis port on a freshly flushed keyspace."""
    c = tb.track(respmod.Resp(tbmod.node_ip(1)))
    pw = redis_password(tb.config)
    if pw:
        assert c.raw("AUTH", pw) == b"+OK\r\n", "AUTH with the layout's password failed"
    assert c.raw("FLUSHALL") == b"+OK\r\n", "FLUSHALL before the test did not answer OK"
    return c
