"""Fixtures of the fault tests: a private PostgreSQL cluster and a private Redis that a test
may stop, kill and restart (never the shared servers on 5432/6379), and one migrated
database per test, copied from a template migrated once."""

import uuid

import pytest

from tests.servers import PostgresCluster, RedisServer, migrate, server_env

TEMPLATE = "discard_template"


@pytest.fixture(scope="session")
def cluster():
    """A private PostgreSQL cluster holding a migrated template database."""
    cluster = PostgresCluster().start()
    try:
        migrate(server_env(cluster.database(TEMPLATE)))
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def database_url(cluster):
    """A fresh migrated database on the private cluster."""
    return cluster.database(f"discard_f_{uuid.uuid4().hex[:10]}", template=TEMPLATE)


@pytest.fixture
def redis_server(tmp_path):
    """A private Redis on a free port, stopped after the test."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()
