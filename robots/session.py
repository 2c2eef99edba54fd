"""Browser launch, contexts, screenshots and traces for every robot.

A robot gets a logged-in `BrowserContext` per lane from here and never
launches a browser itself. No Prefect, no Slack: a robot runs from a plain script.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from uuid import uuid4
from weakref import WeakKeyDictionary

from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from config.settings import BrowserSettings
from robots.reading import show_last_read

log = logging.getLogger(__name__)

# Debian's browsers, in order of preference: the headless shell uses about a
# quarter less CPU and half the memory, and never calls home.
DEBIAN_CANDIDATES = (
    Path("/usr/lib/chromium/chromium-headless-shell"),
    Path("/usr/bin/chromium"),
)

# Without these, Chromium keeps trying to reach Google's services; on a closed
# network that costs CPU and floods the log. No --disable-features: it would
# replace Playwright's own list.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

INSTALL_HINT = (
    "install one with `apt-get install chromium-headless-shell` (Debian) or "
    "`playwright install chromium`, or set RPA_BROWSER__EXECUTABLE_PATH"
)


class BrowserNotFound(RuntimeError):
    """No usable Chromium on this machine."""


async def launch_browser(playwright: Playwright, settings: BrowserSettings) -> Browser:
    """Launch Chromium: the configured one, else Playwright's own, else Debian's."""
    if settings.executable_path is not None:
        path = settings.executable_path
        if not path.exists():
            raise BrowserNotFound(f"Chromium not found at {path}: {INSTALL_HINT}")
        return await _launch(playwright, settings, path)
    if Path(playwright.chromium.executable_path).exists():
        try:
            return await _launch(playwright, settings, None)
        except PlaywrightError as exc:
            # Playwright's full Chromium may be there without its headless shell.
            log.info("Playwright's own Chromium did not start (%s); trying Debian's", exc)
    for candidate in DEBIAN_CANDIDATES:
        if candidate.exists():
            return await _launch(playwright, settings, candidate)
    raise BrowserNotFound(f"No Chromium found: {INSTALL_HINT}")


async def _launch(playwright: Playwright, settings: BrowserSettings, path: Path | None) -> Browser:
    log.info("Launching %s", path or "Playwright's Chromium")
    return await playwright.chromium.launch(
        executable_path=path,
        headless=settings.headless,
        args=list(CHROMIUM_ARGS),
    )


class _Trace:
    """The Playwright trace of one context: one recording per case, none of any login.

    Each case and each resumption after a login is a fresh `tracing.start()`, never just
    a new chunk: Playwright keeps one network log per tracing session across chunks, so
    after a mere chunk the login's POST body (and earlier cases' pages) would be in every
    later trace. What a case recorded before a login is kept as a part and merged in.
    """

    def __init__(self, parts_dir: Path) -> None:
        self.parts_dir = parts_dir
        self.parts: list[Path] = []
        self.in_case = False

    @staticmethod
    async def start(context: BrowserContext) -> None:
        await context.tracing.start(screenshots=True, snapshots=True)

    async def start_case(self, context: BrowserContext) -> None:
        self._drop_parts()
        # Else the first snapshot of the case's trace would show the previous case's page.
        for page in context.pages:
            await page.goto("about:blank")
        await context.tracing.stop()
        await self.start(context)
        self.in_case = True

    async def pause(self, context: BrowserContext) -> None:
        if self.in_case:
            await context.tracing.stop(path=self._new_part())
        else:
            await context.tracing.stop()

    async def end_case(self, context: BrowserContext, path: Path | None) -> None:
        """Stop the case's recording; with a path, keep all of it there as one trace."""
        self.in_case = False
        try:
            if path is None:
                await context.tracing.stop_chunk()
                return
            await context.tracing.stop_chunk(path=self._new_part())
            path.parent.mkdir(parents=True, exist_ok=True)
            _merge_traces(self.parts, path)
        finally:
            self._drop_parts()

    def _new_part(self) -> Path:
        part = self.parts_dir / f"{uuid4().hex}.trace.zip"
        self.parts.append(part)
        return part

    def _drop_parts(self) -> None:
        for part in self.parts:
            part.unlink(missing_ok=True)
        self.parts.clear()


# The contexts a BrowserSession traces, so `untraced` can find their trace from a page.
_TRACES: WeakKeyDictionary[BrowserContext, _Trace] = WeakKeyDictionary()


@asynccontextmanager
async def untraced(context: BrowserContext) -> AsyncIterator[None]:
    """Record nothing that happens in the block (a login) in the context's trace.

    Does nothing when the context is not traced, so a robot can always use it.
    """
    trace = _TRACES.get(context)
    if trace is None:
        yield
        return
    await trace.pause(context)
    try:
        yield
    finally:
        await trace.start(context)


def _merge_traces(parts: list[Path], into: Path) -> None:
    """One zip holding consecutive recordings, which the trace viewer shows one after another.

    The viewer loads every `<name>.trace` with its `<name>.network` and `<name>.stacks`;
    resources are shared by content hash. Playwright Test merges its traces the same way.
    """
    if len(parts) == 1:
        shutil.copyfile(parts[0], into)
        return
    written: set[str] = set()
    with zipfile.ZipFile(into, "w", zipfile.ZIP_DEFLATED) as merged:
        for number, part in enumerate(parts):
            with zipfile.ZipFile(part) as recording:
                for name in recording.namelist():
                    target = f"{number}-{name}" if re.search(r"trace\.[a-z]+$", name) else name
                    if target not in written:
                        written.add(target)
                        merged.writestr(target, recording.read(name))


class BrowserSession:
    """One browser for a batch; hands out contexts and keeps failure evidence."""

    def __init__(self, settings: BrowserSettings, artifacts_dir: Path) -> None:
        self.settings = settings
        self.artifacts_dir = artifacts_dir
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._parts_dir: Path | None = None

    async def __aenter__(self) -> BrowserSession:
        if self.settings.trace:
            self._parts_dir = Path(tempfile.mkdtemp(prefix="rpa-trace-parts-"))
        self._playwright = await async_playwright().start()
        try:
            self._browser = await launch_browser(self._playwright, self.settings)
        except BaseException:
            await self._playwright.stop()
            self._remove_parts_dir()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()
        self._remove_parts_dir()

    def _remove_parts_dir(self) -> None:
        if self._parts_dir is not None:
            shutil.rmtree(self._parts_dir, ignore_errors=True)
            self._parts_dir = None

    @property
    def browser(self) -> Browser:
        """The running browser."""
        if self._browser is None:
            raise RuntimeError("BrowserSession is not started: use `async with`")
        return self._browser

    async def new_context(self) -> BrowserContext:
        """A fresh context (own cookies) with the configured timeout and tracing."""
        context = await self.browser.new_context(locale="da-DK", timezone_id="Europe/Copenhagen")
        context.set_default_timeout(self.settings.timeout_ms)
        if self.settings.trace:
            if self._parts_dir is None:
                raise RuntimeError("BrowserSession is not started: use `async with`")
            await _Trace.start(context)
            _TRACES[context] = _Trace(self._parts_dir)
        return context

    @asynccontextmanager
    async def context(self) -> AsyncIterator[BrowserContext]:
        """A context that is closed when the block ends."""
        context = await self.new_context()
        try:
            yield context
        finally:
            await context.close()

    async def start_case(self, context: BrowserContext) -> None:
        """Begin a fresh trace for one case (when tracing is on): nothing of earlier cases."""
        if (trace := _TRACES.get(context)) is None:
            return
        try:
            await trace.start_case(context)
        except PlaywrightError as exc:  # evidence never stops the work
            log.warning("Could not start a trace for the case: %s", exc)

    async def end_case(self, context: BrowserContext, name: str, *, failed: bool) -> Path | None:
        """End the case's trace: kept when the case failed, dropped otherwise; never raises."""
        if (trace := _TRACES.get(context)) is None:
            return None
        path = self.artifacts_dir / f"{safe_name(name)}.trace.zip" if failed else None
        try:
            await trace.end_case(context, path)
        except (PlaywrightError, OSError, zipfile.BadZipFile) as exc:
            log.warning("Could not keep the trace of %s: %s", name, exc)
            return None
        return path

    async def screenshot(self, page: Page, name: str) -> Path | None:
        """Save a full-page screenshot as evidence; never raises (it runs while failing)."""
        path = self.artifacts_dir / f"{safe_name(name)}.png"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            await show_last_read(page)  # what the robot saw, also when it did not render it
            await page.screenshot(path=path, full_page=True, timeout=5_000)
        except (PlaywrightError, OSError) as exc:
            log.warning("Could not save a screenshot %s: %s", path.name, exc)
            return None
        return path


def safe_name(name: str) -> str:
    """A file-name-safe version of a case id or label."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:120] or "unnamed"


def find_browser(settings: BrowserSettings) -> Path | None:
    """Check before a batch that a Chromium exists; None means Playwright's own."""
    if settings.executable_path is not None:
        if not settings.executable_path.exists():
            raise BrowserNotFound(
                f"Chromium not found at {settings.executable_path}: {INSTALL_HINT}"
            )
        return settings.executable_path
    if _playwright_chromium().exists():
        return None
    for candidate in DEBIAN_CANDIDATES:
        if candidate.exists():
            return candidate
    raise BrowserNotFound(f"No Chromium found: {INSTALL_HINT}")


def _playwright_chromium() -> Path:
    # Asking a running Playwright is the only public way to learn where its
    # browser would be; the sync API is fine here, before any event loop runs.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        return Path(playwright.chromium.executable_path)
