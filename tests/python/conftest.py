"""Fixtures for the Python API's tests: the embedded target (with its TCP and UDP echoes) and
nginx (whose access log counts what the engine sent), each on a free loopback port. The
package under test is the build's (PYTHONPATH=<build>/python, set by ctest)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))

from helpers import Nginx, Target  # noqa: E402


@pytest.fixture(scope="module")
def target():
    t = Target(threads=1, echoes=True)
    yield t
    t.stop()


@pytest.fixture(scope="module")
def nginx():
    n = Nginx(extra_server="""
    location /user/ { return 200 '{"ok":true}'; }
    location = /api/items { return 200 '{"items":[{"id":1},{"id":2},{"id":3}]}'; }
    location /api/items/ { return 200 '{"id":1}'; }
    location = /api/cart { return 201 'added'; }
    location = /slow { return 200 'x'; }
""")
    yield n
    n.stop()


@pytest.fixture
def fresh_log(nginx):
    """nginx's log emptied for this test; returns a function giving its lines."""
    nginx.log_lines(0.2)  # what an earlier test sent is written
    open(nginx.log, "w").close()  # nginx appends (O_APPEND): it writes on from the start
    return lambda: nginx.log_lines(0.3)
