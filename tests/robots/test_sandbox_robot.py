"""The change-of-address robot in real headless Chromium against the real sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from cli.stack import free_port
from config.rules import load_rules_config
from flows.change_of_address.case import ClearanceError
from flows.change_of_address.clearance import route_case
from flows.change_of_address.robot import CaseSystemRobot, Target
from robots.errors import LoginRefused, SessionLost, TargetUnreachable
from robots.pool import RobotPool
from robots.session import BrowserSession
from sandbox import SandboxServer, parse_seed
from tests import seeds
from tests.conftest import Runner, sandbox_settings

RobotFor = Callable[[str], CaseSystemRobot]


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    """The sandbox on a free port, seeded with the small hand-made batch."""
    with SandboxServer(parse_seed(seeds.small_batch()), sandbox_settings()) as server:
        yield server.url


def state(url: str) -> dict[str, Any]:
    """The sandbox's state API."""
    return httpx.get(f"{url}/api/state").json()  # type: ignore[no-any-return]


def test_lists_every_open_case_across_pages(run: Runner, robot_for: RobotFor) -> None:
    seed = seeds.small_batch()
    # 7 cases with page size 3: three pages to walk.
    with SandboxServer(parse_seed(seed), sandbox_settings(page_size=3)) as server:
        robot = robot_for(server.url)
        case_ids = run(robot.list_open_cases)
        limited = run(robot.list_open_cases, 4)
    assert case_ids == [n["case_id"] for n in seed["notifications"]]
    assert limited == case_ids[:4]


def test_reads_a_case_into_the_model(run: Runner, robot_for: RobotFor, sandbox_url: str) -> None:
    case = run(robot_for(sandbox_url).read_case, seeds.ROUTINE[0])
    assert case.problems == []
    assert case.notification is not None
    assert [m.cpr for m in case.notification.movers] == [seeds.ANNA["cpr"], seeds.BO["cpr"]]
    assert case.notification.new_address.street == "Sct. Mathias Gade"
    assert case.notification.new_address.floor is None
    assert case.notification.old_address.door == "th"
    assert case.notification.move_date.isoformat() == "2026-11-15"
    assert case.status == "open"


def test_markup_in_remarks_is_read_as_text(
    run: Runner, robot_for: RobotFor, sandbox_url: str
) -> None:
    robot = robot_for(sandbox_url)
    case = run(robot.read_case, seeds.REMARKS)
    assert case.remarks == seeds.SCRIPT_REMARKS
    # In the real browser, the remark made no element: it is text, not markup.
    remarks = robot.page.get_by_test_id("remarks")
    assert run(remarks.locator("script").count) == 0
    assert run(robot.page.locator("script").count) == 0


def test_malformed_fields_become_problems_not_crashes(
    run: Runner, robot_for: RobotFor, sandbox_url: str
) -> None:
    robot = robot_for(sandbox_url)
    bad_cpr = run(robot.read_case, seeds.BAD_CPR)
    missing = run(robot.read_case, seeds.NO_NEW_ADDRESS)
    assert bad_cpr.notification is None
    assert {p.field for p in bad_cpr.problems} == {"reporter_cpr", "movers.0.cpr"}
    assert {p.raw for p in bad_cpr.problems} == {"3113901234"}
    assert missing.notification is None
    assert [p.field for p in missing.problems] == ["new_address"]


def test_enrichment_reads_both_registers(
    run: Runner, robot_for: RobotFor, sandbox_url: str
) -> None:
    robot = robot_for(sandbox_url)
    case = run(robot.enrich, run(robot.read_case, seeds.ROUTINE[1]))
    assert case.enrichment is not None
    assert case.enrichment.new_address is not None
    assert case.enrichment.new_address.address_id == "a-new-2"
    assert case.enrichment.new_address.unit_type == "dwelling"
    carl = case.enrichment.movers[seeds.CARL["cpr"]]
    assert carl is not None
    assert (carl.name, carl.address_id) == ("Carl Nielsen", "a-old")

    unknown = run(robot.enrich, run(robot.read_case, seeds.UNKNOWN_ADDRESS))
    assert unknown.enrichment is not None
    assert unknown.enrichment.new_address is None
    assert list(unknown.enrichment.movers.values()) == [None]


def test_registers_once_even_when_run_again_after_a_crash(
    run: Runner, robot_for: RobotFor, sandbox_url: str
) -> None:
    robot = robot_for(sandbox_url)
    rules = load_rules_config()
    case = run(robot.enrich, run(robot.read_case, seeds.ROUTINE[0]))
    routing = route_case(case, config=rules)
    assert routing.clearance is not None, routing.reasons
    first = run(robot.register_move, case, routing.clearance)
    # The robot crashed before closing the case: a rerun reads and routes it again.
    again = run(robot.enrich, run(robot.read_case, seeds.ROUTINE[0]))
    rerouted = route_case(again, config=rules)
    assert rerouted.clearance is not None, rerouted.reasons
    second = run(robot.register_move, again, rerouted.clearance)
    run(robot.close_case, seeds.ROUTINE[0], "registered", "test")

    assert [r.registration_id for r in second] == [r.registration_id for r in first]
    registrations = [
        r for r in state(sandbox_url)["registrations"] if r["case_id"] == seeds.ROUTINE[0]
    ]
    assert sorted(r["cpr"] for r in registrations) == sorted([seeds.ANNA["cpr"], seeds.BO["cpr"]])
    statuses = {n["case_id"]: n["status"] for n in state(sandbox_url)["notifications"]}
    assert statuses[seeds.ROUTINE[0]] == "registered"


def test_refuses_to_register_with_a_clearance_for_other_data(
    run: Runner, robot_for: RobotFor, sandbox_url: str
) -> None:
    robot = robot_for(sandbox_url)
    rules = load_rules_config()
    case = run(robot.enrich, run(robot.read_case, seeds.ROUTINE[1]))
    other = run(robot.enrich, run(robot.read_case, seeds.ROUTINE[2]))
    clearance = route_case(other, config=rules).clearance
    assert clearance is not None
    with pytest.raises(ClearanceError):
        run(robot.register_move, case, clearance)
    assert state(sandbox_url)["registrations"] == []


def test_a_lost_session_costs_no_attempt_the_robot_logs_in_and_goes_on(
    run: Runner, robot_for: RobotFor, sandbox_url: str
) -> None:
    robot = robot_for(sandbox_url)
    run(robot.read_case, seeds.ROUTINE[0])
    httpx.post(f"{sandbox_url}/api/test/expire-sessions").raise_for_status()
    assert run(robot.read_case, seeds.ROUTINE[0]).case_id == seeds.ROUTINE[0]
    assert robot.logged_in is True


def test_a_session_lost_again_right_after_logging_in_is_a_retryable_fault(
    run: Runner, robot_for: RobotFor, sandbox_url: str
) -> None:
    robot = robot_for(sandbox_url)
    run(robot.read_case, seeds.ROUTINE[0])
    # Every case page ends the session of the request that asks for it, twice.
    fault = {"path_prefix": "/sager/", "kind": "expire_session", "times": 2, "method": "GET"}
    httpx.post(f"{sandbox_url}/api/test/faults", json=fault).raise_for_status()
    with pytest.raises(SessionLost):
        run(robot.read_case, seeds.ROUTINE[0])
    assert robot.logged_in is False
    assert run(robot.read_case, seeds.ROUTINE[0]).case_id == seeds.ROUTINE[0]


def test_wrong_password_and_unreachable_system_are_clear_errors(
    run: Runner, browser_session: Any, sandbox_url: str
) -> None:
    async def try_login(url: str) -> None:
        async with browser_session.context() as context:
            target = Target(base_url=url, username="robot", password=SecretStr("wrong"))
            await CaseSystemRobot(await context.new_page(), target).log_in()

    with pytest.raises(LoginRefused, match="RPA_TARGET__PASSWORD"):
        run(try_login, sandbox_url)
    with pytest.raises(TargetUnreachable, match="does not answer"):
        run(try_login, f"http://127.0.0.1:{free_port()}")


def test_a_recycled_lane_has_a_fresh_page_in_the_same_logged_in_context(
    run: Runner,
    browser_session: BrowserSession,
    target_for: Callable[[str], Target],
    sandbox_url: str,
) -> None:
    async def scenario() -> None:
        async with RobotPool(
            browser_session, 1, lambda page: CaseSystemRobot(page, target_for(sandbox_url))
        ) as pool:
            before = pool.lane(0)
            await before.robot.read_case(seeds.ROUTINE[0])
            after = await pool.recycle(0)
            assert after.page is not before.page
            assert before.page.is_closed()
            assert after.context is before.context
            case = await after.robot.read_case(seeds.ROUTINE[1])
            assert case.case_id == seeds.ROUTINE[1]
            assert len(after.context.pages) == 1

    run(scenario)


def test_a_screenshot_shows_the_page_the_robot_read_last_on_either_path(
    run: Runner, robot_for: RobotFor, sandbox_url: str, browser_session: BrowserSession
) -> None:
    robot = robot_for(sandbox_url)
    run(robot.read_case, seeds.ROUTINE[0])
    run(robot.read_case, seeds.ROUTINE[1])  # read, perhaps without rendering
    shot = run(browser_session.screenshot, robot.page, "last-read")
    assert shot is not None
    assert shot.exists()
    assert seeds.ROUTINE[1] in run(robot.page.content)
    assert seeds.ROUTINE[0] not in run(robot.page.content)
