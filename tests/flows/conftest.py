"""A real Prefect server for the flow tests, started once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cli.stack import Stack
from config.settings import PrefectSettings, Settings


@pytest.fixture(scope="session")
def prefect_api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local Prefect server (SQLite) on a free port, with its own PREFECT_HOME."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    home = tmp_path_factory.mktemp("rpa-home")
    settings = Settings(home=home, prefect=PrefectSettings(port=4299))
    with Stack(settings) as stack:
        url = stack.start_prefect()
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
            # Send the last run logs before the server goes away.
            from prefect.logging.handlers import APILogHandler

            APILogHandler().flush()
