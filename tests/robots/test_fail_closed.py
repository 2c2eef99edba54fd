"""Failing closed: an answer the robot did not expect is a fault, never "nothing found".

Real headless Chromium against the real sandbox, with faults injected by its test hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Error as PlaywrightError

from config.rules import load_rules_config
from flows.change_of_address.clearance import route_case
from flows.change_of_address.robot import CaseSystemRobot
from robots.errors import HttpFault, SystemFault, UnexpectedPage, error_code
from sandbox import SandboxServer, parse_seed
from tests import seeds
from tests.conftest import Runner, sandbox_settings

RobotFor = Callable[[str], CaseSystemRobot]
TAGS = "".join(chr(0xE0000 + ord(c)) for c in "hello")
EXACT_REMARKS = [
    "\u200b\u200b\ufeff\u2060",
    TAGS,
    "\x00",
    "før\r\nefter\x00 \u202eslut",
    "<b>fed</b> & *fed* _kursiv_ ~slet~ `kode` <!channel>",
]


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    """The sandbox on a free port, seeded with the small hand-made batch."""
    with SandboxServer(parse_seed(seeds.small_batch()), sandbox_settings()) as server:
        yield server.url


def inject(url: str, **fault: Any) -> None:
    """Make the sandbox answer the next matching requests with an error."""
    httpx.post(f"{url}/api/test/faults", json=fault).raise_for_status()


@pytest.mark.parametrize("status", [400, 403, 404, 429, 500, 503])
def test_an_error_page_in_the_duplicate_search_is_a_fault_not_no_duplicates(
    run: Runner, robot_for: RobotFor, sandbox_url: str, status: int
) -> None:
    robot = robot_for(sandbox_url)
    case = run(robot.read_case, seeds.ROUTINE[2])
    # The related-case search is the only request to /sager during enrichment.
    inject(sandbox_url, path_prefix="/sager", method="GET", status=status, times=1)
    with pytest.raises(HttpFault) as raised:
        run(robot.enrich, case)
    assert raised.value.status == status
    assert error_code(raised.value) == f"system.http_{status}"
    assert isinstance(raised.value, SystemFault)  # retried, then a person


@pytest.mark.parametrize(
    ("path", "step"),
    [("/adresseregister", "address search"), ("/cpr", "population register")],
)
def test_an_error_page_in_a_register_lookup_is_a_fault(
    run: Runner, robot_for: RobotFor, sandbox_url: str, path: str, step: str
) -> None:
    robot = robot_for(sandbox_url)
    case = run(robot.read_case, seeds.ROUTINE[2])
    inject(sandbox_url, path_prefix=path, method="GET", status=404, times=1)
    with pytest.raises(HttpFault, match="404"):
        run(robot.enrich, case)


def test_an_error_page_listing_the_inbox_is_a_fault_not_an_empty_inbox(
    run: Runner, robot_for: RobotFor, sandbox_url: str
) -> None:
    robot = robot_for(sandbox_url)
    run(robot.log_in)
    inject(sandbox_url, path_prefix="/sager", method="GET", status=429, times=1)
    with pytest.raises(HttpFault, match="429"):
        run(robot.list_open_cases)
    assert len(run(robot.list_open_cases)) == len(seeds.small_batch()["notifications"])


@pytest.mark.parametrize("remarks", EXACT_REMARKS)
def test_remarks_are_read_character_for_character_and_always_fire(
    run: Runner, robot_for: RobotFor, remarks: str
) -> None:
    seed = seeds.small_batch()
    seed["notifications"][0]["remarks"] = remarks
    case_id = seed["notifications"][0]["case_id"]
    with SandboxServer(parse_seed(seed), sandbox_settings()) as server:
        robot = robot_for(server.url)
        case = run(robot.enrich, run(robot.read_case, case_id))
    assert case.raw["remarks"] == remarks
    routing = route_case(case, config=load_rules_config())
    assert routing.clearance is None
    assert "remarks.present" in {r.rule_id for r in routing.reasons}


def test_a_maintenance_page_answered_200_is_a_fault_naming_the_page(
    run: Runner, robot_for: RobotFor, sandbox_url: str
) -> None:
    robot = robot_for(sandbox_url)
    case = run(robot.read_case, seeds.ROUTINE[2])
    inject(sandbox_url, path_prefix="/sager", method="GET", kind="maintenance", times=1)
    with pytest.raises(UnexpectedPage, match="the inbox page shows neither") as raised:
        run(robot.enrich, case)
    assert error_code(raised.value) == "system.unexpected_page"
    inject(sandbox_url, path_prefix="/sager/", method="GET", kind="maintenance", times=1)
    with pytest.raises(UnexpectedPage, match="the case page has no case status"):
        run(robot.read_case, seeds.ROUTINE[2])


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"test_id": "remarks"}, "the case page has no remarks field"),
        ({"test_id": "status"}, "the case page has no case status"),
    ],
)
def test_a_changed_case_page_fails_fast_naming_page_and_locator(
    run: Runner, robot_for: RobotFor, sandbox_url: str, fault: dict[str, str], message: str
) -> None:
    robot = robot_for(sandbox_url)
    case_id = seeds.ROUTINE[2]
    inject(sandbox_url, path_prefix=f"/sager/{case_id}", method="GET", kind="layout", **fault)
    with pytest.raises(UnexpectedPage, match=message):
        run(robot.read_case, case_id)


def test_a_renamed_inbox_table_is_a_fault_not_an_empty_inbox(
    run: Runner, robot_for: RobotFor, sandbox_url: str
) -> None:
    robot = robot_for(sandbox_url)
    run(robot.log_in)
    fault = {"kind": "layout", "aria_label": "Sager", "rename_to": "Sagsliste", "times": 1}
    inject(sandbox_url, path_prefix="/sager", method="GET", **fault)
    with pytest.raises(UnexpectedPage, match="inbox"):
        run(robot.list_open_cases)


def test_a_page_slower_than_the_timeout_is_a_timeout_fault(
    run: Runner, robot_for: RobotFor, sandbox_url: str
) -> None:
    robot = robot_for(sandbox_url)
    case = run(robot.read_case, seeds.ROUTINE[2])
    inject(sandbox_url, path_prefix="/cpr", method="GET", delay_ms=20_000, times=1)
    try:
        with pytest.raises(PlaywrightError) as raised:
            run(robot.enrich, case)
    finally:
        httpx.delete(f"{sandbox_url}/api/test/faults").raise_for_status()
    assert error_code(raised.value) == "system.timeout"
