"""The processes this installation runs: loaded by module name from the settings.

checkpoints/ names no process: a process package registers itself when its module is
imported (`register(process)` at the bottom of its module), and the modules to import
are a setting (RPA_PROCESSES), so a new process is a new package and one line of
configuration, not an edit of the machinery.
"""

from __future__ import annotations

import importlib
import logging
import threading
from pathlib import Path
from typing import Any

import yaml

import config
from checkpoints.process import Process, ProcessError, RuleSettings
from config.settings import Settings

log = logging.getLogger(__name__)


_REGISTRY: dict[str, Process[Any, Any]] = {}
_LOADED: set[str] = set()
_CHECKED: set[str] = set()  # processes whose rules file was read
_LOCK = threading.RLock()


class ProcessNotLoaded(LookupError):
    """A process name no loaded module declared (its checkpoints wait, untouched)."""

    def __init__(self, name: str, loaded: list[str]) -> None:
        super().__init__(
            f"process {name!r} is not loaded here (loaded: {', '.join(loaded) or 'none'}); "
            "add its module to RPA_PROCESSES"
        )
        self.name = name


def register(process: Process[Any, Any]) -> Process[Any, Any]:
    """Check a process and make it known by its name; refuses it when it is declared wrongly."""
    process.validate()
    with _LOCK:
        known = _REGISTRY.get(process.name)
        if known is not None and known is not process:
            raise ProcessError(process.name, "two processes have this name")
        _REGISTRY[process.name] = process
    return process


def load(modules: tuple[str, ...] | list[str] | None = None) -> dict[str, Process[Any, Any]]:
    """Import the process modules (once each) and return every registered process.

    Each new process's rules file is read as well: a rule it does not know, a bad
    threshold or a mandatory rule switched off refuses the process here, at load.
    """
    from config.settings import get_settings

    if modules is None:
        modules = tuple(get_settings().processes)
    with _LOCK:
        for module in modules:
            if module in _LOADED:
                continue
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name and module.startswith(exc.name):
                    raise ProcessError(module, f"no module {module!r} (RPA_PROCESSES)") from None
                raise
            _LOADED.add(module)
        for name, process in _REGISTRY.items():
            if name not in _CHECKED and not process.own_runtime:
                rule_settings(get_settings(), process)
                _CHECKED.add(name)
        return dict(_REGISTRY)


def get(name: str) -> Process[Any, Any]:
    """The loaded process of this name; ProcessNotLoaded when there is none."""
    found = load().get(name)
    if found is None:
        raise ProcessNotLoaded(name, sorted(_REGISTRY))
    return found


def find(name: str) -> Process[Any, Any] | None:
    """The loaded process of this name, or None."""
    return load().get(name)


def names() -> list[str]:
    """The names of the loaded processes, in load order."""
    return list(load())


def unregister(name: str) -> None:
    """Forget a registered process (for tools and tests that declare one for a while)."""
    with _LOCK:
        _REGISTRY.pop(name, None)
        _CHECKED.discard(name)


BUNDLED_RULES = Path(config.__file__).parent / "rules"


def rule_settings(settings: Settings, process: Process[Any, Any]) -> dict[str, RuleSettings]:
    """The process's rule settings: its rules file (the setting, else the bundled one)."""
    own = settings.process_settings.get(process.name)
    path = own.rules_file if own is not None and own.rules_file else None
    if path is None:
        bundled = BUNDLED_RULES / f"{process.name.replace('-', '_')}.yaml"
        path = bundled if bundled.exists() else None
    data: Any = {}
    if path is not None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ProcessError(process.name, f"rules file {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ProcessError(process.name, f"rules file {path}: not a mapping of rule ids")
    return process.settings_from(data)
