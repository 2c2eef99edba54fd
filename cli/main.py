"""The `rpa` command (see ../shared/contracts/cli.md)."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import httpx
import typer

from bench.command import bench
from checkpoints.text import terminal_safe
from cli.checkpoints import checkpoints_app, db_app, journal
from cli.common import fail, one_line_errors, settings_or_fail
from cli.deploy import deploy, reconcile
from cli.home_lock import Holder, holder
from cli.lifeline import process_alive, watch_lifeline
from cli.report import report_app
from cli.stack import (
    Stack,
    StackInfo,
    apply_env,
    prefect_env,
    read_running_stack,
    wait_for_stack,
)
from config.settings import Settings

if TYPE_CHECKING:
    from cli.runs import Watch
    from sandbox import Seed

app = typer.Typer(
    help="RPA robots with mandatory human checkpoints: run the stack, the sandbox and batches.",
    no_args_is_help=True,
    add_completion=False,
)
sandbox_app = typer.Typer(help="The stand-in municipal case system.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(checkpoints_app, name="checkpoints")
app.add_typer(db_app, name="db")
app.command("journal")(one_line_errors(journal))
app.add_typer(report_app, name="report")
app.command("bench")(one_line_errors(bench))
app.command("deploy")(one_line_errors(deploy))
app.command("reconcile")(one_line_errors(reconcile))


_one_line_errors = one_line_errors
_settings = settings_or_fail


def _stop_on_sigterm() -> None:
    """SIGTERM (and SIGHUP, a closed terminal) is a clean shutdown: unwind, stop what we
    started, exit 0."""

    def handler(signum: int, frame: Any) -> NoReturn:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _read_seed(path: Path) -> Seed:
    """The seed file, validated; a SeedError (one line) for anything wrong with it."""
    from sandbox import SeedError, load_seed

    try:
        return load_seed(path)
    except RecursionError:
        raise SeedError(
            f"{terminal_safe(str(path))}: nested too deeply to read; a seed file has the "
            "data contract's shape (see `rpa sandbox sample`)"
        ) from None


@sandbox_app.command("serve")
@_one_line_errors
def sandbox_serve(
    seed: Annotated[
        Path | None, typer.Option(help="Seed file in the data contract's shape.", dir_okay=False)
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: RPA_SANDBOX__PORT).")] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            help="Keep changes in this file and continue from it on the next start "
            "(same seed). Empty: in memory only.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Serve the sandbox case system alone, until Ctrl-C."""
    from sandbox import generate_sample, parse_seed
    from sandbox.server import serve

    watch_lifeline()  # started by `rpa up`: stop with it
    settings = _settings()
    data = (
        _read_seed(seed)
        if seed
        else parse_seed(generate_sample(settings.sandbox.sample_cases), source="sample")
    )
    config = settings.sandbox.model_copy(update={"port": port}) if port else settings.sandbox
    typer.echo(
        f"Sandbox case system at http://{config.host}:{config.port} "
        f"({len(data.notifications)} notifications; user {config.username!r})"
    )
    _stop_on_sigterm()
    serve(data, config, state_file=state)


@sandbox_app.command("sample")
def sandbox_sample(
    out: Annotated[Path, typer.Option(help="Where to write the seed file.", dir_okay=False)],
    cases: Annotated[int, typer.Option(min=1, help="Number of notifications.")] = 40,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
) -> None:
    """Write generated sample data as a seed file of the data contract's shape."""
    from sandbox import generate_sample

    out.write_text(json.dumps(generate_sample(cases, seed=seed), ensure_ascii=False, indent=1))
    typer.echo(f"Wrote {cases} notifications to {out}")


def _process_named(name: str) -> str:
    from checkpoints import processes

    loaded = processes.load()
    if name not in loaded:
        fail(f"no process {name!r}; the processes are: {', '.join(loaded)} (rpa processes)")
    return name


@app.command("run")
@_one_line_errors
def run_process(
    process: Annotated[
        str, typer.Argument(help="The process: change-of-address, resident-parking, ...")
    ],
    target: Annotated[
        str | None, typer.Option(help="Case system URL (default: the sandbox of `rpa up`).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Handle at most N cases.")] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=32, help="Parallel browser contexts.")
    ] = None,
) -> None:
    """Run one batch of a process through Prefect, wait for it and print the summary."""
    settings = _settings()
    process = _process_named(process)
    _preflight_browser(settings)
    if target is not None:
        _valid_url(target, "--target")
    params: dict[str, Any] = {"limit": limit, "concurrency": concurrency}
    running, other = wait_for_stack(settings, timeout_s=settings.prefect.stack_wait_s, say=_say)
    if other is not None:
        fail(
            f"{other.describe()} runs a batch with its own Prefect server on "
            f"RPA_HOME={settings.home}: wait for it to finish, or start `rpa up` so that "
            "batches share one server"
        )
    if running is not None:
        url = target or settings.target.url or running.sandbox_url
        if not url:
            fail("the running `rpa up` has no sandbox: pass --target URL")
        _check_target(url)
        apply_env(prefect_env(settings, running.prefect_api_url))
        from cli.runs import Watch  # imports Prefect: only once its API URL is set

        watch = Watch(settings.prefect.pickup_timeout_s, _stack_gone(settings, running.pid))
        _print_summary(_run(process, params | {"target_url": url}, watch), running)
        return
    url = target or settings.target.url
    if not url:
        fail("no case system to work in: start `rpa up` or pass --target URL")
    _check_target(url)
    _stop_on_sigterm()
    with Stack(settings, command="rpa run") as stack:
        typer.echo("Starting a local Prefect server for this run...", err=True)
        api_url = stack.start_prefect()
        apply_env(prefect_env(settings, api_url))
        _recover(stack, settings)
        stack.start_runner(url)
        stack.set_state("running")
        from cli.runs import Watch

        watch = Watch(settings.prefect.pickup_timeout_s, _part_gone(stack))
        _print_summary(_run(process, params | {"target_url": url}, watch), stack.info())


def _stack_gone(settings: Settings, pid: int) -> Any:
    def gone() -> str | None:
        owner: Holder | None = holder(settings.home)
        if owner is None or owner.pid != pid or not process_alive(pid):
            return f"the `rpa up` (pid {pid}) of RPA_HOME={settings.home} stopped"
        return None

    return gone


def _part_gone(stack: Stack) -> Any:
    def gone() -> str | None:
        dead = stack.dead()
        return f"the {dead[0][0]} of this run stopped (see {stack.logs_dir})" if dead else None

    return gone


def _recover(stack: Stack, settings: Settings) -> None:
    from cli.supervise import recover

    recover(stack, settings, _say)


def _automate() -> None:
    from cli.supervise import automate

    automate(_say)


@app.command("up")
@_one_line_errors
def up(
    seed: Annotated[
        Path | None, typer.Option(help="Seed the sandbox from this file.", dir_okay=False)
    ] = None,
    sandbox_port: Annotated[int | None, typer.Option(help="Port of the sandbox.")] = None,
) -> None:
    """Start Prefect, the served deployments and the sandbox, until Ctrl-C or SIGTERM."""
    settings = _settings()
    if seed is not None:
        _read_seed(seed)  # a bad seed is one line here, not a sandbox that fails to start
    _stop_on_sigterm()
    with _started_stack(settings, seed, sandbox_port) as stack:
        _print_urls(stack.info())
        typer.echo("Running. Stop with Ctrl-C.")
        _supervise(stack, settings)


@app.command("channel")
@one_line_errors
def channel(
    name: Annotated[
        str, typer.Argument(help="The chat channel: slack, or another in RPA_CHANNELS.")
    ],
) -> None:
    """Run one chat channel (its app and its outbox) until Ctrl-C or SIGTERM."""
    _serve_channel(name)


@app.command("slack")
@one_line_errors
def slack() -> None:
    """Run the Slack app (Socket Mode or HTTP) and its outbox: `rpa channel slack`."""
    _serve_channel("slack")


def _serve_channel(name: str) -> None:
    import os

    from checkpoints import channels

    watch_lifeline()  # started by `rpa up`: stop with it
    settings = _settings()
    try:
        chat = channels.get(name, settings)
    except ValueError as exc:
        fail(str(exc))
    running = read_running_stack(settings)
    api_url = running.prefect_api_url if running else os.environ.get("PREFECT_API_URL")
    if api_url:
        apply_env(prefect_env(settings, api_url))

    def resumer(store: Any) -> Any:
        if not api_url:
            return None
        from flows.resume import resumer as prefect_resumer

        return prefect_resumer(store, wait_s=settings.checkpoints.resume_wait_s)

    def ready(line: str) -> None:
        typer.echo(f"{line}.")
        _stop_on_sigterm()

    try:
        chat.serve(
            settings,
            resumer=resumer,
            prefect_ui_url=api_url.removesuffix("/api") if api_url else None,
            ready=ready,
        )
    except ValueError as exc:
        fail(str(exc))


@app.command("processes")
@_one_line_errors
def list_processes(
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array, for scripts.")] = False,
) -> None:
    """The processes this installation runs: their decisions, editable fields and rules."""
    from checkpoints import processes

    described = [p.describe("en") for p in processes.load().values()]
    if as_json:
        typer.echo(json.dumps(described, indent=1))
        return
    for d in described:
        typer.echo(f"{d['name']}: {d['title']}")
        typer.echo(f"  decisions: {', '.join(d['decisions'])}")
        typer.echo(f"  editable: {', '.join(d['form'])}")
        typer.echo("  rules:")
        for r in d["rules"]:
            flag = " (mandatory)" if r["mandatory"] else ""
            settings = f" [settings: {', '.join(r['settings'])}]" if r["settings"] else ""
            typer.echo(f"    {r['id']}{flag}: checks {r['checks']}{settings}")


@app.command("demo")
@_one_line_errors
def demo(
    exit_when_idle: Annotated[
        bool,
        typer.Option(help="Exit 0 once the batch is done and only human decisions are pending."),
    ] = False,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=32, help="Parallel browser contexts.")
    ] = None,
) -> None:
    """`rpa up` with the bundled sample data, then one batch run and its summary."""
    settings = _settings()
    _preflight_browser(settings)
    _stop_on_sigterm()
    # A demo starts from the bundled sample as shipped, not from an earlier demo's changes.
    with _started_stack(settings, None, None, fresh=True, command="rpa demo") as stack:
        from cli.runs import Watch

        info = stack.info()
        _print_urls(info)
        watch = Watch(settings.prefect.pickup_timeout_s, _part_gone(stack))
        from checkpoints import processes

        for process in processes.load():
            typer.echo(f"{process}:")
            params = {"target_url": info.sandbox_url, "concurrency": concurrency}
            _print_summary(_run(process, params, watch), info)
        if exit_when_idle:
            return
        typer.echo("Still running, so you can look around. Stop with Ctrl-C.")
        _supervise(stack, settings)


class _StartedStack:
    def __init__(
        self,
        settings: Settings,
        seed: Path | None,
        port: int | None,
        *,
        fresh: bool = False,
        command: str = "rpa up",
    ) -> None:
        self.stack = Stack(settings, command=command)
        self.seed = seed
        self.port = port
        self.fresh = fresh

    def __enter__(self) -> Stack:
        from checkpoints import channels, processes

        processes.load()  # a process declared wrongly is refused now, in one line
        stack = self.stack.__enter__()  # this RPA_HOME's lock, or a one-line refusal
        try:
            typer.echo("Starting the sandbox, Prefect and the deployment runner...", err=True)
            _upgrade_store(stack.settings)
            sandbox_url = stack.start_sandbox(self.seed, self.port, fresh=self.fresh)
            api_url = stack.start_prefect()
            apply_env(prefect_env(stack.settings, api_url))
            _recover(stack, stack.settings)
            _automate()
            stack.start_runner(sandbox_url)
            for chat in channels.enabled(stack.settings):
                stack.start_channel(chat)
            stack.publish()
        except BaseException:
            stack.stop()
            raise
        return stack

    def __exit__(self, *exc: object) -> None:
        self.stack.stop()


def _started_stack(
    settings: Settings,
    seed: Path | None,
    port: int | None,
    *,
    fresh: bool = False,
    command: str = "rpa up",
) -> _StartedStack:
    return _StartedStack(settings, seed, port, fresh=fresh, command=command)


def _run(process: str, params: dict[str, Any], watch: Watch) -> Any:
    from cli.runs import RunFailed, run_batch, terminal_progress

    try:
        _, summary = run_batch(
            params, process=process, on_progress=terminal_progress(), watch=watch
        )
    except RunFailed as exc:
        fail(str(exc).splitlines()[0])
    except (httpx.HTTPError, OSError) as exc:
        reason = watch.gone() or f"{type(exc).__name__}: {exc}".splitlines()[0]
        fail(f"lost the Prefect server while following the batch ({reason}); see RPA_HOME/logs")
    return summary


def _print_summary(summary: Any, info: StackInfo) -> None:
    for line in summary.lines():
        typer.echo(line)
    waiting = len(summary.waiting)
    if waiting:
        typer.echo(
            f"{waiting} cases wait for a human decision (marked in progress in the case "
            "system). See them with `rpa checkpoints list`, read one with `rpa checkpoints "
            "show ID` (it names the decisions the case takes), decide with `rpa checkpoints "
            "decide ID --by NAME --approve` (or --edit FIELD=VALUE, --manual, "
            "--contact-citizen, --reject REASON)."
        )
    typer.echo(f"Prefect UI: {info.prefect_ui_url}/runs")


def _print_urls(info: StackInfo) -> None:
    typer.echo(f"Prefect UI:  {info.prefect_ui_url}")
    from checkpoints import channels

    settings = _settings()
    for name in channels.enabled(settings):
        typer.echo(f"Chat:        {channels.get(name, settings).describe(settings)}")
    if info.sandbox_url:
        typer.echo(f"Sandbox:     {info.sandbox_url}  (log in as robot / robot-demo)")


def _preflight_browser(settings: Settings) -> None:
    from robots.session import find_browser

    find_browser(settings.browser)


def _valid_url(url: str, what: str) -> None:
    """A one-line error unless `url` is an http(s) URL with a host."""
    shown = terminal_safe(url)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        fail(f"{what} {shown} is not a valid URL ({exc}); give one like http://127.0.0.1:8700")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        fail(f"{what} {shown} is not an http(s) URL with a host, like http://127.0.0.1:8700")


def _check_target(url: str) -> None:
    _valid_url(url, "the case system URL")
    try:
        httpx.get(f"{url.rstrip('/')}/login", timeout=5.0)
    except httpx.HTTPError:
        fail(
            f"the case system does not answer at {terminal_safe(url)}: "
            "start it (`rpa sandbox serve`) or fix --target"
        )


def _upgrade_store(settings: Settings) -> None:
    from checkpoints.store.db import make_engine, upgrade

    engine = make_engine(settings.store_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def _supervise(stack: Stack, settings: Settings) -> NoReturn:
    """Keep the stack's parts alive and every waiting checkpoint attached to a live run."""
    from cli.supervise import supervise

    supervise(stack, settings, _say)


def main() -> None:
    """Entry point for `python -m cli.main`."""
    app()


if __name__ == "__main__":
    main()
