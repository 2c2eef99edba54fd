"""Properties over every notification field, valid or hostile, through the whole read path.

One sandbox and one robot (real headless Chromium) serve the module. Each example
writes a generated notification into one case through the sandbox's amend hook, and
the robot reads it, enriches it and routes it; then the example checks that nothing
raised, that anything malformed or remarked ends at a person, that text stayed text
on the page and in what the robot read, and that Slack, the terminal, the journal and
the logs show it inert, visible and without full CPR numbers or the remarks.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, reject, settings
from playwright.async_api import Page
from pydantic import SecretStr

# The message's own labels (_T) are what the check must tell from citizen text.
from checkpoints.channels.slack.blocks import _T, SECTION_LIMIT, checkpoint_message
from checkpoints.models import Checkpoint
from checkpoints.text import terminal_safe
from config.rules import ChangeOfAddressRules, load_rules_config
from flows.change_of_address.case import CaseFile
from flows.change_of_address.clearance import route_case
from flows.change_of_address.process import _LABELS as _FACT_LABELS
from flows.change_of_address.process import case_summary
from flows.change_of_address.proposal import proposal_for
from flows.change_of_address.robot import CaseSystemRobot, Target
from flows.change_of_address.rules import RULE_IDS
from robots.session import BrowserSession
from sandbox import SandboxServer, parse_seed
from tests import seeds
from tests.conftest import SANDBOX_PASSWORD, SANDBOX_USER, Runner, sandbox_settings
from tests.properties_strategies import (
    ADDRESS_PARTS,
    CONTRACT,
    CPRS,
    FIELDS,
    WHITE_SPACE,
    Generated,
    Reading,
    notifications,
    written,
)

CASE_ID = "FLY-2026-000900"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# Every form a full CPR number of the generated cases could take in any output.
FULL_CPRS = tuple(f for cpr in CPRS for f in (cpr, f"{cpr[:6]}-{cpr[6:]}"))
# Elements that citizen text would create if it were taken as markup.
ACTIVE = "script, style, link, img, svg, iframe, object, embed, video, audio, b, i, strong, a"
_DA = _T["da"]
_LABELS = [
    *(f"*{label}:*" for label in _FACT_LABELS["da"].values()),
    *(f"*{_DA[key]}:*" for key in ("why", "remarks")),
]
_PROPOSAL = f"*{_DA['proposal']}:*"
_INVALID = re.compile(rf"^\*{re.escape(_DA['invalid'])}:\* (.*)$", re.MULTILINE)
_CUT = re.compile(
    re.escape(_DA["cut"]).replace(r"\{shown\}", r"\d+").replace(r"\{total\}", r"\d+") + "$"
)
_MRKDWN = "*_~`<>&"


def _seed() -> dict[str, Any]:
    """The people and addresses the generator uses, the case it writes, and two others."""
    address_ids: dict[str, dict[str, Any]] = {
        "a-old": seeds.OLD,
        "a-new": seeds.NEW,
        "a-new-2": seeds.NEW_2,
    }
    people = (seeds.ANNA, seeds.BO, seeds.CARL, seeds.DORTE, seeds.EMIL)

    def notification(case_id: str, person: dict[str, str]) -> dict[str, Any]:
        return {
            "case_id": case_id,
            "received_at": "2026-11-20T09:14:00+01:00",
            "channel": "borger.dk",
            "reporter_cpr": person["cpr"],
            "movers": [person],
            "old_address": seeds.OLD,
            "new_address": seeds.NEW,
            "move_date": "2026-11-15",
            "remarks": "",
        }

    return {
        "addresses": [
            {"address_id": key, **fields, "municipality_code": "0791", "unit_type": "dwelling"}
            for key, fields in address_ids.items()
        ],
        "residents": [
            {**person, "address_id": "a-old", "protected_address": False} for person in people
        ],
        "notifications": [
            notification(CASE_ID, seeds.ANNA),
            notification("FLY-2026-000901", seeds.DORTE),
            notification("FLY-2026-000902", seeds.EMIL),
        ],
    }


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """One sandbox for the module; every example rewrites the same case."""
    with SandboxServer(parse_seed(_seed()), sandbox_settings()) as server:
        yield server.url


@pytest.fixture(scope="module")
def case_system(sandbox_url: str) -> Iterator[httpx.Client]:
    """A client for the sandbox's test hooks."""
    with httpx.Client(base_url=sandbox_url) as client:
        yield client


@pytest.fixture(scope="module")
def robot(
    run: Runner, browser_session: BrowserSession, sandbox_url: str
) -> Iterator[CaseSystemRobot]:
    """One robot, logged in once, for every example (its context is closed after)."""
    context = run(browser_session.new_context)
    target = Target(
        base_url=sandbox_url, username=SANDBOX_USER, password=SecretStr(SANDBOX_PASSWORD)
    )
    yield CaseSystemRobot(run(context.new_page), target)
    run(context.close)


@pytest.fixture(scope="module")
def active_on_a_case_page(run: Runner, robot: CaseSystemRobot) -> int:
    """How many active elements the case page has of its own (the seed's plain case)."""
    run(robot.show_case, CASE_ID)
    # CSS: "any of these tags" has no role or label to find it by.
    return int(run(robot.page.locator(ACTIVE).count))


@pytest.fixture(scope="module")
def rules() -> ChangeOfAddressRules:
    """The bundled rules configuration."""
    return load_rules_config()


@dataclass(frozen=True)
class Tolerance:
    """Deviations from the contract that the product still has (each one has an example
    below, marked xfail): the property allows them so that it can look for new ones."""

    reading: Reading
    journal_keeps_cprs_in_free_text: bool


STRICT = Tolerance(reading=CONTRACT, journal_keeps_cprs_in_free_text=False)


class Observed:
    """One trip through the product: written, read, enriched, routed, shown."""

    def __init__(
        self,
        run: Runner,
        robot: CaseSystemRobot,
        case_system: httpx.Client,
        rules: ChangeOfAddressRules,
        caplog: pytest.LogCaptureFixture,
        generated: Generated,
    ) -> None:
        response = case_system.post(f"/api/test/cases/{CASE_ID}/amend", json=generated.values)
        if response.status_code == 422:
            reject()  # the case system itself refuses such a notification
        response.raise_for_status()
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            # (a) Bad data never raises: it becomes the case's problems.
            case = run(robot.read_case, CASE_ID)
            self.on_page = run(_fields_on_page, robot.page)
            self.case = run(robot.enrich, case)
            self.routing = route_case(self.case, config=rules)
        self.logged = caplog.text
        self.reasons = {reason.rule_id for reason in self.routing.reasons}
        checkpoint = Checkpoint(
            checkpoint_id="cp-property",
            case_id=CASE_ID,
            process="change-of-address",
            case=self.case,
            reasons=self.routing.reasons,
            proposal=proposal_for(self.case, self.routing.reasons, "da"),
            status="open",
            created_at=NOW,
            deadline_at=NOW + timedelta(hours=48),
        )
        self.slack = checkpoint_message(checkpoint)


def _assert_all(
    generated: Generated, seen: Observed, own_active: int, tolerance: Tolerance
) -> None:
    reading = tolerance.reading
    _assert_routed(generated, seen, reading)
    _assert_read_as_written(generated, seen.case, reading)
    _assert_text_on_page(generated, seen.on_page, own_active)
    _assert_slack_inert(seen.slack)
    _assert_terminal_safe(generated, seen.case)
    free_text_cprs = _cprs_in_free_text(generated)
    journal_cprs = FULL_CPRS
    if tolerance.journal_keeps_cprs_in_free_text:
        journal_cprs = tuple(c for c in FULL_CPRS if c not in free_text_cprs)
    _assert_private(
        generated, "the journal summary", _strings(case_summary(seen.case)), journal_cprs
    )
    _assert_private(generated, "the logs", [seen.logged], FULL_CPRS)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # caplog: cleared per run
@given(generated=notifications())
def test_any_notification_is_read_as_text_routed_fail_closed_and_shown_inert(
    run: Runner,
    robot: CaseSystemRobot,
    case_system: httpx.Client,
    active_on_a_case_page: int,
    rules: ChangeOfAddressRules,
    caplog: pytest.LogCaptureFixture,
    generated: Generated,
) -> None:
    seen = Observed(run, robot, case_system, rules, caplog, generated)
    event("cleared for the robot" if seen.routing.clearance else "to a person")
    for rule_id in seen.reasons:
        event(f"reason {rule_id}")
    _assert_all(generated, seen, active_on_a_case_page, STRICT)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="routine"),
        pytest.param({"remarks": "\u200b"}, id="zero-width-remark"),
        pytest.param(
            {"old_address.floor": "0101901234"}, id="cpr-in-free-text-is-masked-in-the-journal"
        ),
        pytest.param({"move_date": "2026-11-15\x00"}, id="nul-in-a-date-is-invalid"),
        pytest.param({"remarks": "\x1f"}, id="unit-separator-remark-fires"),
        pytest.param({"received_at": "1795160000"}, id="digits-are-not-a-date"),
        pytest.param(
            {"old_address.postcode": "\u0668\u0668\u0660\u0660"},
            id="arabic-indic-postcode-is-invalid",
        ),
    ],
)
def test_one_notification_against_the_contract_as_written(
    run: Runner,
    robot: CaseSystemRobot,
    case_system: httpx.Client,
    active_on_a_case_page: int,
    rules: ChangeOfAddressRules,
    caplog: pytest.LogCaptureFixture,
    changes: dict[str, Any],
) -> None:
    generated = written(changes)
    seen = Observed(run, robot, case_system, rules, caplog, generated)
    _assert_all(generated, seen, active_on_a_case_page, STRICT)


# --- (b) routing -----------------------------------------------------------------------


def _assert_routed(generated: Generated, seen: Observed, reading: Reading) -> None:
    routed, reasons, case = seen.routing.clearance is not None, seen.reasons, seen.case
    invalid = sorted(generated.invalid(reading))
    if invalid:
        assert not routed, f"invalid {invalid} cleared for the robot"
        assert "data.invalid" in reasons, f"invalid {invalid}: {reasons}"
    if not reading.blank(generated.remarks):
        assert not routed, "a case with remarks was cleared for the robot"
        assert "remarks.present" in reasons, f"remarks {generated.remarks!r}: {reasons}"
    if routed:
        assert not invalid
        assert reading.blank(generated.remarks)
        assert not case.problems
    if generated.routine(reading):
        assert routed, f"a routine case went to a person: {reasons}, {case.problems}"


# --- (c) text stays text -------------------------------------------------------------------


def _expected_read(generated: Generated, reading: Reading) -> dict[str, str | None]:
    """What the robot must read: remarks exactly, other text stripped of white space."""
    expected: dict[str, str | None] = {"remarks": generated.remarks}
    values = generated.values
    read = reading.field
    for name in ("received_at", "channel", "reporter_cpr", "move_date"):
        expected[name] = read(values[name])
    for i, mover in enumerate(values["movers"]):
        expected[f"movers.{i}.cpr"] = read(mover["cpr"])
        expected[f"movers.{i}.name"] = read(mover["name"])
    for which in ("old_address", "new_address"):
        address = values[which]
        expected[which] = None if address is None else "present"
        for part in ADDRESS_PARTS if address is not None else ():
            value = read(address[part] or "")
            expected[f"{which}.{part}"] = (value or None) if part in ("floor", "door") else value
    return expected


def _as_read(raw: dict[str, Any]) -> dict[str, str | None]:
    read: dict[str, str | None] = {
        name: raw[name]
        for name in ("remarks", "received_at", "channel", "reporter_cpr", "move_date")
    }
    for i, mover in enumerate(raw["movers"]):
        read[f"movers.{i}.cpr"] = mover["cpr"]
        read[f"movers.{i}.name"] = mover["name"]
    for which in ("old_address", "new_address"):
        address = raw[which]
        read[which] = None if address is None else "present"
        for part, value in (address or {}).items():
            read[f"{which}.{part}"] = value
    return read


def _assert_read_as_written(generated: Generated, case: CaseFile, reading: Reading) -> None:
    expected, read = _expected_read(generated, reading), _as_read(case.raw)
    differs = {k: (expected.get(k), read.get(k)) for k in expected | read if k in FIELDS_READ}
    differs = {k: pair for k, pair in differs.items() if pair[0] != pair[1]}
    assert not differs, f"read differently from what was written (written, read): {differs}"


FIELDS_READ = frozenset(FIELDS) - {"movers"}


async def _fields_on_page(page: Page) -> dict[str, Any]:
    # One evaluation for every field: a locator per field would cost a round trip each.
    return dict(
        await page.evaluate(
            """(active) => {
                const fields = {};
                for (const el of document.querySelectorAll("main [data-testid]")) {
                    const id = el.dataset.testid;
                    const [n, inner] = fields[id] || [0, 0];
                    fields[id] = [n + 1, inner + el.querySelectorAll("*").length];
                }
                return {fields, active: document.querySelectorAll(active).length};
            }""",
            ACTIVE,
        )
    )


def _assert_text_on_page(generated: Generated, on_page: dict[str, Any], own_active: int) -> None:
    fields: dict[str, list[int]] = on_page["fields"]
    values = generated.values
    wanted = {
        "received-at": 1,
        "channel": 1,
        "reporter-cpr": 1,
        "move-date": 1,
        "remarks": 1,
        "mover-cpr": len(values["movers"]),
        "mover-name": len(values["movers"]),
    }
    for which in ("old_address", "new_address"):
        prefix = which.replace("_", "-")
        for part in ADDRESS_PARTS:
            wanted[f"{prefix}-{part.replace('_', '-')}"] = 0 if values[which] is None else 1
    for test_id, count in wanted.items():
        elements, inside = fields.get(test_id, [0, 0])
        assert elements == count, f"{elements} elements {test_id!r}, expected {count}"
        assert inside == 0, f"{inside} elements made from the text of {test_id!r}"
    assert on_page["active"] == own_active, "citizen text became active elements on the page"


# --- (d) Slack --------------------------------------------------------------------------


def _mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    texts = [message["text"]]
    for block in message["blocks"]:
        if block.get("text", {}).get("type") == "mrkdwn":
            texts.append(block["text"]["text"])
        texts += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return texts


def _without_our_formatting(text: str) -> str:
    """A mrkdwn text without the product's own labels, quotes, codes and entities."""
    if len(text) >= SECTION_LIMIT:  # cut short by the product: half a label or an entity
        text = re.sub(r"&[a-z]{0,3}$", "", text)
        head, _, last = text.rpartition("\n")
        if any(label.startswith(last) for label in (*_LABELS, _PROPOSAL)):
            text = head
    for label in (*_LABELS, _PROPOSAL):
        text = text.replace(label, "", 1)
    for rule_id in sorted(RULE_IDS, key=len, reverse=True):
        text = text.replace(f"(`{rule_id}`)", "").replace(rule_id, "")
    match = _INVALID.search(text)
    if match:  # the fields' own names (`new_address.street`) are ours, anything else is not
        names = match.group(1).split(", ")
        theirs = [name for name in names if not re.fullmatch(r"[a-z0-9_.]+", name)]
        text = text.replace(match.group(0), ", ".join(theirs), 1)
    if _CUT.search(text):  # the remarks were cut short, maybe inside an entity
        text = re.sub(r"&[a-z]{0,3}\n" + _CUT.pattern, "", text)
        text = _CUT.sub("", text)
    text = re.sub(r"^>( |$)", "", text, flags=re.MULTILINE)  # our quote of the remarks
    return re.sub(r"&(amp|lt|gt);", "", text)


def _is_hidden(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category in ("Cc", "Cf", "Zl", "Zp") or 0xE0000 <= ord(ch) <= 0xE007F


def _assert_slack_inert(message: dict[str, Any]) -> None:
    for text in _mrkdwn_texts(message):
        left = _without_our_formatting(text)
        raw = sorted({ch for ch in left if ch in _MRKDWN})
        assert not raw, f"mrkdwn characters {raw} unescaped in {text!r}"
        hidden = sorted({ch for ch in text if _is_hidden(ch) and ch not in "\n\t"})
        assert not hidden, f"hidden characters {hidden} in {text!r}"
    header = message["blocks"][0]["text"]["text"]
    assert not [ch for ch in header if _is_hidden(ch)], f"hidden characters in {header!r}"
    leaked = _full_cprs("\n".join(_strings(message)), FULL_CPRS)
    assert not leaked, f"full CPR numbers {leaked} in the Slack message"


# --- (e) terminal -----------------------------------------------------------------------


def _assert_terminal_safe(generated: Generated, case: CaseFile) -> None:
    for text in [*generated.texts.values(), *_strings(case.raw)]:
        shown = terminal_safe(text)
        bad = sorted(
            {
                f"U+{ord(ch):04X}"
                for ch in shown
                if ord(ch) < 0x20
                or 0x7F <= ord(ch) <= 0x9F
                or unicodedata.category(ch) in ("Cf", "Zl", "Zp")  # bidi, zero-width, tags
            }
        )
        assert not bad, f"terminal_safe({text!r}) keeps {bad}"


# --- (f) journal and (g) logs ------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _full_cprs(text: str, forms: tuple[str, ...]) -> list[str]:
    """The CPR numbers in `text` standing as numbers of their own (a longer run of
    digits that holds one is not a CPR number, and is shown as it is by design)."""
    return [f for f in forms if re.search(rf"(?<!\d){re.escape(f)}(?!\d)", text)]


def _cprs_in_free_text(generated: Generated) -> tuple[str, ...]:
    free = [text for path, text in generated.texts.items() if not path.endswith("cpr")]
    return tuple(_full_cprs("\n".join(free), FULL_CPRS))


def _assert_private(
    generated: Generated, where: str, texts: list[str], cprs: tuple[str, ...]
) -> None:
    everything = "\n".join(texts)
    leaked = _full_cprs(everything, cprs)
    assert not leaked, f"full CPR numbers {leaked} in {where}"
    remark = CONTRACT.strip(generated.remarks)
    # Text that may rightly be there (the case id, other fields) can hold the remark too.
    others = [CASE_ID, *(t for path, t in generated.texts.items() if path != "remarks")]
    if sum(ch not in WHITE_SPACE for ch in remark) >= 4 and not any(remark in t for t in others):
        assert remark not in everything, f"the remarks {remark!r} are in {where}"
