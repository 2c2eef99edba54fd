"""A real Prefect server for the flow tests, started once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.stack import Stack
from config.settings import PrefectSettings, Settings, get_settings


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


@pytest.fixture
def rpa_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test's settings read afresh, with its own RPA_HOME."""
    home = tmp_path / "rpa-home"
    monkeypatch.setenv("RPA_HOME", str(home))
    monkeypatch.setenv("RPA_BROWSER__TIMEOUT_MS", "10000")
    monkeypatch.setenv("RPA_RETRY_DELAYS_S", "[0.2, 0.2]")
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
