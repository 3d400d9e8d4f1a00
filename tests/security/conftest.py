"""A real daphne with production defaults (no DEBUG, only a SECRET_KEY) for the security tests."""

import pytest

from tests.game.conftest import connect, make_room  # noqa: F401  (seats over real consumers)
from tests.servers import Daphne, postgres_database, server_env


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One daphne on its own PostgreSQL database: (database URL, server, log path).

    DEBUG is unset, as in production; the rate limits are high so the frame tests measure
    the checks, not the pace.
    """
    log = tmp_path_factory.mktemp("site") / "daphne.log"
    with postgres_database() as database_url:
        # Chat unlimited and every line kept: the fuzz test counts the chat lines as events.
        env = server_env(database_url, RATE_LIMIT=100000, ROOMMATE_INTERVAL=60, GAME_SEED=7,
                         CHAT_RATE=0, CHAT_KEPT=1000000)
        env.pop("DEBUG", None)
        server = Daphne(env, log_path=log).start()
        try:
            yield database_url, server, log
        finally:
            server.stop()
