"""Settings for every part of the product, read from `RPA_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Passwords that ship with the demo. They are fine on a laptop, never in production.
_PLACEHOLDER_SECRETS = {"robot-demo", "changeme", "secret", "password", ""}


class BrowserSettings(BaseModel):
    """How the robots find and drive a browser."""

    executable_path: Path | None = Field(
        default=None,
        description="Chromium to launch. Empty: Playwright's own Chromium where installed, "
        "else /usr/lib/chromium/chromium-headless-shell, else /usr/bin/chromium.",
    )
    headless: bool = Field(default=True, description="Run the browser without a window.")
    timeout_ms: int = Field(
        default=15_000, gt=0, description="How long a robot waits for a page or an element."
    )
    trace: bool = Field(
        default=False, description="Record a Playwright trace per case, kept when the case fails."
    )
    concurrency: int = Field(
        default=2, ge=1, le=32, description="Parallel browser contexts in a batch run."
    )
    recycle_every: int = Field(
        default=50,
        ge=1,
        description="A lane's page is replaced after this many cases, so a long batch's "
        "memory stays flat (the renderer grows with every page it shows).",
    )


class TargetSettings(BaseModel):
    """The case system the robot works in (the sandbox by default)."""

    url: str | None = Field(
        default=None,
        description="Base URL of the case system. Empty: the sandbox of `rpa up`.",
    )
    username: str = Field(default="robot", description="The robot's user in the case system.")
    password: SecretStr = Field(
        default=SecretStr("robot-demo"), description="The robot's password in the case system."
    )
    page_size: int = Field(default=25, ge=1, description="Cases per inbox page (read-only hint).")
    max_sessions: int | None = Field(
        default=None,
        ge=1,
        description="At most this many robot sessions (logged-in lanes of batches, carry-outs "
        "of decisions) against this case system at once, across every worker and machine: a "
        "Prefect global concurrency limit named after the system (flows/limits.py). Empty: "
        "no limit beyond each batch's lanes.",
    )
    rendering: Literal["server", "browser"] = Field(
        default="server",
        description="How the robot reads the system's pages: `server` reads the HTML as sent "
        "without rendering it (the sandbox's pages are complete as sent: several times less "
        "CPU); `browser` reads what the browser renders, for systems that need JavaScript. "
        "Forms are always filled in and sent in the browser.",
    )


class SandboxSettings(BaseModel):
    """The stand-in municipal case system."""

    host: str = Field(default="127.0.0.1", description="Interface the sandbox listens on.")
    port: int = Field(default=8700, ge=0, le=65535, description="Port of the sandbox (0: any).")
    username: str = Field(default="robot", description="The one user the sandbox accepts.")
    password: SecretStr = Field(
        default=SecretStr("robot-demo"), description="That user's password."
    )
    state_api: bool = Field(
        default=True,
        description="Serve GET /api/state (demo and test mode). Off in anything like production.",
    )
    test_hooks: bool = Field(
        default=False,
        description="Serve /api/test/* for injecting faults (tests and benchmarks only).",
    )
    session_minutes: int = Field(default=60, ge=1, description="Login session lifetime.")
    page_size: int = Field(default=25, ge=1, le=500, description="Cases per inbox page.")
    sample_cases: int = Field(
        default=40, ge=1, description="Cases in the bundled sample data when no seed is given."
    )


class PrefectSettings(BaseModel):
    """The local Prefect server that `rpa up` and `rpa run` start when none is configured."""

    host: str = Field(default="127.0.0.1", description="Interface of the local Prefect server.")
    port: int = Field(default=4200, ge=1, le=65535, description="Port of the local Prefect server.")
    start_timeout_s: float = Field(
        default=90.0, gt=0, description="How long to wait for a local server to become healthy."
    )
    stack_wait_s: float = Field(
        default=180.0,
        ge=0,
        description="How long `rpa run` and `rpa checkpoints` wait for an `rpa up` of the same "
        "RPA_HOME that is still starting, before they give up and say what to do.",
    )
    pickup_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="How long `rpa run` waits for the runner to start its batch (the run "
        "Scheduled or Pending). Then the batch is cancelled, so it never runs unseen later, "
        "and `rpa run` says what to check.",
    )
    retention_days: float = Field(
        default=30.0,
        ge=1 / 24,
        description="Finished flow runs (batches, carried-out checkpoints) older than this "
        "are deleted by the local Prefect server's vacuum service, with their logs and "
        "artifacts, so history does not pile up. Waiting checkpoints are never finished, so "
        "never deleted; the journal in the checkpoint store is the lasting record.",
    )


class CheckpointSettings(BaseModel):
    """How long people have to decide, and what the journal may show."""

    deadline_hours: float = Field(
        default=48.0,
        gt=0,
        description="A checkpoint undecided for longer is reported as overdue. It stays open: "
        "a timeout never decides anything.",
    )
    journal_full_cpr: bool = Field(
        default=False,
        description="Write full CPR numbers into case journals. Off: DDMMYY-XXXX.",
    )
    four_eyes_edits: bool = Field(
        default=False,
        description="An edited decision needs a second, different person to confirm it "
        "before the robot acts (in Slack and on the command line).",
    )
    resume_wait_s: float = Field(
        default=20.0,
        ge=0,
        description="How long `decide` waits for a waiting run to reach its pause before "
        "leaving the resume to `rpa up`.",
    )
    run_timeout_s: float = Field(
        default=900.0,
        gt=0,
        description="A checkpoint run Running or Pending for longer than this is taken as "
        "dead (its runner is gone): `rpa up` marks it Crashed and starts a new run, which "
        "carries out the stored decision (reading the case system first, so never twice). "
        "Longer than the slowest carry-out, retries included.",
    )


class ManualBaseline(BaseModel):
    """How long a person takes to handle one case by hand: the yardstick of the saving."""

    model_config = ConfigDict(extra="forbid")

    minutes_low: float = Field(ge=0, description="Minutes per case, the quick end.")
    minutes_high: float = Field(ge=0, description="Minutes per case, the slow end.")
    source: str = Field(
        min_length=1,
        description="Where the figures come from (a time study, a team's estimate...).",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_value(cls, data: object) -> object:
        # {"minutes": 10, "source": ...} is a range of one value.
        if isinstance(data, dict) and "minutes" in data:
            data = dict(data)
            minutes = data.pop("minutes")
            data.setdefault("minutes_low", minutes)
            data.setdefault("minutes_high", minutes)
        return data

    @model_validator(mode="after")
    def _ordered(self) -> ManualBaseline:
        if self.minutes_low > self.minutes_high:
            raise ValueError("manual_baseline: minutes_low is above minutes_high")
        return self


ASSUMED_BASELINE = (
    "an assumption shipped with rpa, not a measurement: replace it with the "
    "municipality's own time study (RPA_PROCESS_SETTINGS)"
)
"""The source a process names for a baseline it ships without a time study behind it."""


class ProcessSettings(BaseModel):
    """Settings of one process: who decides its cases, how soon, with which rule settings."""

    model_config = ConfigDict(extra="forbid")

    deadline_hours: float | None = Field(
        default=None, gt=0, description="Overrides RPA_CHECKPOINTS__DEADLINE_HOURS."
    )
    slack_channel: str | None = Field(
        default=None, description="The channel its checkpoints go to (else RPA_SLACK__CHANNEL)."
    )
    slack_deciders_usergroup: str | None = Field(
        default=None, description="The user group that may decide (else the global one)."
    )
    rules_file: Path | None = Field(
        default=None, description="YAML with the process's rule settings, by rule id."
    )
    manual_baseline: ManualBaseline | None = Field(
        default=None,
        description='Minutes a person takes per case by hand, with their source: {"minutes_low": '
        '6, "minutes_high": 12, "source": "time study 2026"} (or "minutes": 8). Unset: the '
        "baseline the process declares, if any (`rpa report benefits` names it).",
    )


class SlackSettings(BaseModel):
    """The Slack app caseworkers decide in. Off until a bot token and a channel are set."""

    bot_token: SecretStr | None = Field(default=None, description="Bot token (xoxb-...).")
    app_token: SecretStr | None = Field(
        default=None, description="App-level token (xapp-...) with connections:write: Socket Mode."
    )
    signing_secret: SecretStr | None = Field(
        default=None, description="Signing secret: verifies requests in HTTP mode."
    )
    mode: Literal["socket", "http"] = Field(
        default="socket",
        description="socket: no public URL needed (the default); http: Slack calls "
        "http_host:http_port/slack/events.",
    )
    http_host: str = Field(default="127.0.0.1", description="Interface for HTTP mode.")
    http_port: int = Field(default=3000, ge=0, le=65535, description="Port for HTTP mode.")
    channel: str | None = Field(default=None, description="Channel id checkpoints are posted to.")
    deciders_usergroup: str | None = Field(
        default=None, description="User group id (S...) whose members may decide."
    )
    deciders_channel: str | None = Field(
        default=None,
        description="Channel id whose members may decide, when no user group is set. "
        "Empty: the members of `channel`.",
    )
    authz_cache_s: float = Field(
        default=300.0, ge=0, description="How long a membership list is trusted before re-reading."
    )
    reminder_after_h: float = Field(
        default=4.0, gt=0, description="Undecided this long: a reminder in the message's thread."
    )
    escalate_after_h: float = Field(
        default=24.0, gt=0, description="Undecided this long: a message to the escalation channel."
    )
    escalation_channel: str | None = Field(
        default=None, description="Channel id for escalations (empty: no escalation)."
    )
    api_url: str = Field(
        default="https://slack.com/api/", description="Slack Web API base URL (tests: a fake)."
    )
    outbox_interval_s: float = Field(
        default=2.0, gt=0, description="How often waiting posts, updates and reminders are sent."
    )

    @property
    def enabled(self) -> bool:
        """True when Slack is configured enough to post checkpoints."""
        return self.bot_token is not None and bool(self.channel)


class Settings(BaseSettings):
    """All settings; environment variables `RPA_<FIELD>` and `RPA_<GROUP>__<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="RPA_", env_nested_delimiter="__", extra="ignore")

    environment: Literal["development", "production"] = Field(
        default="development",
        description="`production` refuses the demo passwords.",
    )
    home: Path = Field(
        default=Path(".rpa"),
        description="Directory for all state: databases, Prefect home, screenshots, traces.",
    )
    locale: Literal["da", "en"] = Field(
        default="da", description="Language of reasons and explanations shown to people."
    )
    rules_file: Path | None = Field(
        default=None,
        description="YAML with rule switches and thresholds. Empty: the bundled defaults.",
    )
    retry_delays_s: list[float] = Field(
        default=[2.0, 10.0],
        description="Delays between retries of a case after a system error (timeouts, 5xx, "
        "a lost session); one retry per entry. Business reasons are never retried.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the checkpoint store, e.g. "
        "postgresql+psycopg://user@host/db. Empty: SQLite at RPA_HOME/rpa.db.",
    )
    processes: list[str] = Field(
        default_factory=lambda: ["flows.change_of_address.process", "flows.resident_parking"],
        description="Modules that declare the processes to run, as a JSON list, e.g. "
        "RPA_PROCESSES='[\"flows.resident_parking\"]'. Default: the bundled ones.",
    )
    channels: list[str] = Field(
        default_factory=lambda: ["checkpoints.channels.slack"],
        description="Modules of the chat channels (JSON list); a channel is on when its "
        "settings are present.",
    )
    process_settings: dict[str, ProcessSettings] = Field(
        default_factory=dict,
        description='Per process, by name (JSON): {"resident-parking": {"deadline_hours": 24, '
        '"slack_channel": "C0PARKING", "rules_file": "..."}}. Unset: the global settings.',
    )
    checkpoints: CheckpointSettings = Field(default_factory=CheckpointSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    browser: BrowserSettings = Field(default_factory=BrowserSettings)
    target: TargetSettings = Field(default_factory=TargetSettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    prefect: PrefectSettings = Field(default_factory=PrefectSettings)

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.environment != "production":
            return self
        if self.target.password.get_secret_value() in _PLACEHOLDER_SECRETS:
            raise ValueError(
                "RPA_TARGET__PASSWORD is a demo placeholder; set the robot's real password"
            )
        return self

    def manual_baseline(self, process: str) -> ManualBaseline | None:
        """The process's manual baseline as set here (else None: its declared one applies,
        see checkpoints.benefits.baseline_of)."""
        own = self.process_settings.get(process)
        return own.manual_baseline if own is not None else None

    @property
    def artifacts_dir(self) -> Path:
        """Where screenshots and traces of failed cases go."""
        return self.home / "artifacts"

    @property
    def store_url(self) -> str:
        """The checkpoint store's database URL (SQLite under RPA_HOME by default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'rpa.db').resolve()}"

    @property
    def prefect_home(self) -> Path:
        """PREFECT_HOME of a local server started by `rpa`."""
        return self.home / "prefect"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings()
