"""Fixtures for the command-line tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import seeds


@pytest.fixture
def seed_file(tmp_path: Path) -> Path:
    """The small hand-made batch as a seed file."""
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seeds.small_batch()))
    return path
