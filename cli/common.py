"""What every `rpa` command shares: one-line errors and the settings."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import typer

from checkpoints.text import terminal_safe
from config.settings import Settings, get_settings

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error on stderr and exit non-zero."""
    # Messages may quote outside text (a name, a URL): one line, escape sequences shown.
    typer.echo(f"error: {terminal_safe(message)}", err=True)
    raise typer.Exit(code)


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors a user can fix into one line on stderr and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from checkpoints.process import ProcessError
        from checkpoints.service import DecisionError
        from checkpoints.store.db import StoreUnavailable
        from checkpoints.store.repository import AlreadyDecided, CheckpointNotFound
        from cli.stack import StackError
        from config.rules import RulesConfigError
        from robots.session import BrowserNotFound
        from sandbox import SeedError

        try:
            return command(*args, **kwargs)
        except (
            StackError,
            SeedError,
            BrowserNotFound,
            RulesConfigError,
            StoreUnavailable,
            DecisionError,
            AlreadyDecided,
            ProcessError,
        ) as exc:
            fail(str(exc))
        except CheckpointNotFound as exc:
            fail(str(exc.args[0]) if exc.args else "no such checkpoint")
        except KeyboardInterrupt:
            typer.echo("stopped", err=True)
            raise typer.Exit(130) from None

    return wrapper


def settings_or_fail() -> Settings:
    """The settings, or a one-line error naming what is wrong with them."""
    try:
        settings = get_settings()
    except ValueError as exc:
        fail(f"invalid settings: {exc}".replace("\n", " "))
    _check_home(settings)
    return settings


def _check_home(settings: Settings) -> None:
    """RPA_HOME must be a directory, or a path where one can be made."""
    path = settings.home.absolute()
    for place in (path, *path.parents):
        if place.is_dir():
            return
        if place.exists():
            what = "is a file" if place == path else f"is inside {place}, which is a file"
            fail(
                f"RPA_HOME={settings.home} {what}, not a directory: point RPA_HOME at a "
                "directory (it is made when missing)"
            )
