"""The systemd units and env files in deploy/ work as they are: every command and option
they use exists, and every setting they set is one the product or Prefect reads."""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
from pathlib import Path

import prefect.settings
import pytest

from cli.stack import prefect_env
from config.settings import Settings

ROOT = Path(__file__).parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
ENV_FILES = sorted((ROOT / "deploy" / "systemd").glob("*.env.example"))
BIN = ROOT / ".venv" / "bin"


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read(path)
    return parser


def _env(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def test_there_are_units_for_every_service_of_an_installation() -> None:
    names = {p.name for p in UNITS}
    assert names == {
        "rpa-prefect-server.service",
        "rpa-worker@.service",
        "rpa-reconcile.service",
        "rpa-slack.service",
    }


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_each_unit_runs_a_command_that_exists_with_options_it_takes(path: Path) -> None:
    unit = _unit(path)
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    env_file = unit["Service"]["EnvironmentFile"]
    assert Path(env_file).name + ".example" in {p.name for p in ENV_FILES}
    words = shlex.split(unit["Service"]["ExecStart"].replace("%H", "host").replace("%i", "1"))
    program = Path(words[0])
    assert program.parent == Path("/opt/rpa/.venv/bin"), "the product's own venv"
    local = BIN / program.name
    assert local.exists(), f"{program.name} is installed by scripts/setup"
    subcommand = [w for w in words[1:] if not w.startswith("-")][:2]
    if program.name == "rpa":
        subcommand = subcommand[:1]
    shown = subprocess.run(
        [str(local), *subcommand, "--help"], capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    for option in (w for w in words if w.startswith("--")):
        assert option in shown.stdout, f"{' '.join(subcommand)} takes no {option}"


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_each_env_file_sets_only_settings_that_exist(path: Path) -> None:
    env = _env(path)
    assert env
    for key in env:
        if key.startswith("PREFECT_"):
            assert hasattr(prefect.settings, key), f"Prefect has no setting {key}"
        elif key.startswith("RPA_"):
            node: object = Settings
            for part in key.removeprefix("RPA_").lower().split("__"):
                fields = node.model_fields  # type: ignore[attr-defined]
                assert part in fields, f"{key}: the product has no setting {part!r}"
                node = fields[part].annotation
        else:
            assert key == "DO_NOT_TRACK"


def test_the_stacks_own_prefect_settings_exist() -> None:
    """A misspelt PREFECT_ variable is ignored without a word: check every one we set."""
    for key in prefect_env(Settings(), "http://127.0.0.1:4200/api"):
        if key.startswith("PREFECT_"):
            assert hasattr(prefect.settings, key), f"Prefect has no setting {key}"


def test_the_worker_unit_names_the_pool_rpa_deploy_uses() -> None:
    from cli.deploy import DEFAULT_POOL

    worker = _unit(ROOT / "deploy" / "systemd" / "rpa-worker@.service")
    assert re.search(rf"--pool {DEFAULT_POOL}\b", worker["Service"]["ExecStart"])
