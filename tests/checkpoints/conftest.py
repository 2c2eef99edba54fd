"""Case files for the routing rules: a routine case by default, changed one field at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from stdnum.dk import cpr as stdnum_cpr

from checkpoints.models import Checkpoint
from checkpoints.service import ResumeResult
from checkpoints.store.repository import CheckpointStore
from config.rules import ChangeOfAddressRules, load_rules_config
from config.settings import SlackSettings
from flows.change_of_address.case import (
    CaseFile,
    Enrichment,
    Notification,
    Person,
    Reason,
    RegisterAddress,
    validate_notification,
)
from flows.change_of_address.rules import route
from tests.seeds import NEW, OLD  # the contract example's addresses
from tests.slack_fake import CHANNEL, SECRET, SlackFake

# Valid CPR numbers (python-stdnum checks the birth date, not a check digit).
ANNA = "0101901234"  # born 1 January 1990
BO = "0202851235"  # born 2 February 1985
TEEN = "1511084321"  # born 15 November 2008: 18 on the default move date
CHILD = "0101124321"  # born 1 January 2012
NAMES = {ANNA: "Anna Jensen", BO: "Bo Jensen", TEEN: "Tea Jensen", CHILD: "Carl Jensen"}


CASE_ID = "FLY-2026-000123"
RECEIVED_AT = "2026-11-20T09:14:00+01:00"
RECEIVED_DAY = date(2026, 11, 20)
MOVE_DATE = date(2026, 11, 15)

for _number in (ANNA, BO, TEEN, CHILD):
    assert stdnum_cpr.is_valid(_number), _number


def mover(cpr: str, name: str | None = None) -> dict[str, str]:
    """A mover as the case page shows one."""
    return {"cpr": cpr, "name": NAMES.get(cpr, "Ny Person") if name is None else name}


def resident(number: int, *, protected: bool = False) -> Person:
    """The `number`th (1-28) other person registered at the new address, born in 1970."""
    cpr = f"{number:02d}0170{4000 + number:04d}"
    assert stdnum_cpr.is_valid(cpr), cpr
    return Person(cpr=cpr, name=f"Beboer {number}", address_id="a-new", protected_address=protected)


class CaseFactory:
    """Builds case files the way the robot does: raw values, validated, then enriched."""

    def raw(self, **changes: Any) -> dict[str, Any]:
        """The contract's sample notification with `changes` applied."""
        base: dict[str, Any] = {
            "case_id": CASE_ID,
            "received_at": RECEIVED_AT,
            "channel": "borger.dk",
            "reporter_cpr": ANNA,
            "movers": [mover(ANNA)],
            "old_address": dict(OLD),
            "new_address": dict(NEW),
            "move_date": MOVE_DATE.isoformat(),
            "remarks": "",
        }
        return base | changes

    def __call__(self, *, registers: bool = True, **changes: Any) -> CaseFile:
        """A case from raw values; registers that agree with it unless `registers=False`."""
        raw = self.raw(**changes)
        notification, problems = validate_notification(raw)
        enrichment = self.registers(notification) if registers and notification else None
        return CaseFile(
            case_id=str(raw.get("case_id")),
            raw=raw,
            notification=notification,
            problems=problems,
            enrichment=enrichment,
        )

    def registers(self, notification: Notification) -> Enrichment:
        """What the registers say when all is well: known movers, a free dwelling."""
        new = notification.new_address
        return Enrichment(
            new_address=RegisterAddress(
                address_id="a-new",
                street=new.street,
                house_number=new.house_number,
                floor=new.floor,
                door=new.door,
                postcode=new.postcode,
                city=new.city,
                municipality_code="0791",
                unit_type="dwelling",
            ),
            movers={
                m.cpr: Person(cpr=m.cpr, name=m.name, address_id="a-old")
                for m in notification.movers
            },
        )

    def with_registers(self, case: CaseFile, **changes: Any) -> CaseFile:
        """`case` with some of what the registers say replaced."""
        assert case.enrichment is not None
        enrichment = case.enrichment.model_copy(update=changes)
        return case.model_copy(update={"enrichment": enrichment})


def reasons_by_id(
    case: CaseFile, config: ChangeOfAddressRules, locale: str = "da"
) -> dict[str, Reason]:
    """The reasons `route` gives for `case`, by rule id (one reason per rule at most)."""
    reasons = route(case, config=config, locale="en" if locale == "en" else "da")
    by_id = {reason.rule_id: reason for reason in reasons}
    assert len(by_id) == len(reasons), "a rule gave more than one reason"
    return by_id


@pytest.fixture
def make_case() -> CaseFactory:
    """The case factory."""
    return CaseFactory()


@pytest.fixture
def rules() -> ChangeOfAddressRules:
    """The bundled rules configuration."""
    return load_rules_config()


@pytest.fixture
def rules_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write YAML text to a rules.yaml of the test's own and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "rules.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


class Resumes:
    """A resumer that records which checkpoints it was asked to resume (no Prefect here)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, checkpoint: Checkpoint) -> ResumeResult:
        self.calls.append(checkpoint.checkpoint_id)
        return ResumeResult(True, "resumed")


@pytest.fixture
def store(store_url: str) -> Iterator[CheckpointStore]:
    """A migrated, empty store."""
    store = CheckpointStore.connect(store_url)
    yield store
    store.close()


@pytest.fixture
def fake() -> Iterator[SlackFake]:
    """The fake Slack Web API."""
    with SlackFake() as fake:
        yield fake


@pytest.fixture
def slack_settings(fake: SlackFake) -> SlackSettings:
    """HTTP mode against the fake; deciders are the channel's members; escalations to C0BOSS."""
    return SlackSettings(
        bot_token=SecretStr("xoxb-test"),
        signing_secret=SecretStr(SECRET),
        mode="http",
        channel=CHANNEL,
        api_url=fake.api_url,
        escalation_channel="C0BOSS",
    )
