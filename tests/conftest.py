"""Shared fixtures: the PostgreSQL server of the storage and worker tests, and a local Ray.

The PostgreSQL tests need a server at ``TUNEWISE_TEST_POSTGRES`` (default
postgresql://postgres@127.0.0.1:5432/test, trust authentication). Without one they skip and
say why, unless ``TUNEWISE_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) makes them fail instead.
"""

from __future__ import annotations

import functools
import os

import pytest

POSTGRES_URL = os.environ.get("TUNEWISE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@functools.lru_cache(maxsize=1)
def postgres_problem() -> str | None:
    """None when the server answers, else why not."""
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means: no usable server
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def require_postgres() -> str:
    """The server's URL; skips (or fails under TUNEWISE_REQUIRE_POSTGRES=1) without one."""
    problem = postgres_problem()
    if problem is not None:
        message = (
            f"no PostgreSQL server at {POSTGRES_URL} ({problem}); start one, or set "
            "TUNEWISE_TEST_POSTGRES to a server's URL"
        )
        if os.environ.get("TUNEWISE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"TUNEWISE_REQUIRE_POSTGRES=1 but {message}")
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture
def postgres_url() -> str:
    return require_postgres()


@pytest.fixture(scope="module")
def local_ray():
    """Ray on this machine only (loopback, no dashboard), for one test module at a time."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'tunewise[ray]')")
    ray.init(
        num_cpus=2,
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    yield ray
    ray.shutdown()
