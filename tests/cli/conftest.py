"""Fixtures for the command-line tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests import seeds
from tests.conftest import database_params, postgres_schema_url


@pytest.fixture
def seed_file(tmp_path: Path) -> Path:
    """The small hand-made batch as a seed file."""
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seeds.small_batch()))
    return path


@pytest.fixture(params=database_params())
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store URL: SQLite under the test's RPA_HOME, or a PostgreSQL schema."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            yield f"sqlite:///{tmp_path / 'home' / 'rpa.db'}"
        else:
            yield stack.enter_context(postgres_schema_url())
