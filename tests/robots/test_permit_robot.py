"""The resident parking robot in real headless Chromium against the real sandbox."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from robots.errors import (
    BusinessError,
    HttpFault,
    LoginRefused,
    SessionLost,
    SystemFault,
    UnexpectedPage,
    error_code,
)
from robots.reading import Rendering
from robots.sandbox.permits import PermitMismatch, PermitSystemRobot, Target
from robots.session import BrowserSession
from sandbox import SandboxServer, parse_seed
from tests import permit_seeds as ps
from tests import seeds
from tests.conftest import SANDBOX_PASSWORD, SANDBOX_USER, Runner, sandbox_settings

RobotFor = Callable[[str], PermitSystemRobot]
START, END = date(2026, 12, 1), date(2027, 11, 30)


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    """The sandbox on a free port, seeded with the parking batch (page size 4)."""
    seed = parse_seed(ps.parking_batch())
    with SandboxServer(seed, sandbox_settings(page_size=4)) as server:
        yield server.url


@pytest.fixture
def robot_for(
    run: Runner, browser_session: BrowserSession, rendering: Rendering
) -> Iterator[RobotFor]:
    """A permit robot in a fresh browser context per test, reading pages both ways (each
    test runs twice); fails the test if a context leaks."""
    contexts: list[Any] = []

    async def open_robot(url: str) -> PermitSystemRobot:
        context = await browser_session.new_context()
        contexts.append(context)
        target = Target(
            base_url=url,
            username=SANDBOX_USER,
            password=SecretStr(SANDBOX_PASSWORD),
            rendering=rendering,
        )
        return PermitSystemRobot(await context.new_page(), target)

    yield lambda url: run(open_robot, url)
    for context in contexts:
        run(context.close)
    leaked = len(browser_session.browser.contexts)
    assert leaked == 0, f"{leaked} browser contexts leaked by the test"


@pytest.fixture
def robot(robot_for: RobotFor, sandbox_url: str) -> PermitSystemRobot:
    """A permit robot on the parking sandbox."""
    return robot_for(sandbox_url)


def state(url: str) -> dict[str, Any]:
    """The sandbox's state API."""
    return httpx.get(f"{url}/api/state").json()  # type: ignore[no-any-return]


def permits_of(url: str, case_id: str) -> list[dict[str, Any]]:
    """The permits issued for a case."""
    return [p for p in state(url)["permits"] if p["case_id"] == case_id]


def application_state(url: str, case_id: str) -> dict[str, Any]:
    """An application's entry in the state API."""
    return next(a for a in state(url)["permit_applications"] if a["case_id"] == case_id)


def inject(url: str, **fault: Any) -> None:
    """Inject a fault into the sandbox's next matching requests."""
    httpx.post(f"{url}/api/test/faults", json=fault).raise_for_status()


def test_the_robot_imports_no_domain_flow_checkpoint_prefect_or_slack() -> None:
    code = (
        "import sys, robots.sandbox.permits, robots.sandbox.system\n"
        "banned = {'domain', 'flows', 'checkpoints', 'prefect', 'slack_sdk', 'slack_bolt'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & banned))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lists_open_applications_across_pages(run: Runner, robot: PermitSystemRobot) -> None:
    assert run(robot.open_case_ids) == ps.OPEN_IN_ORDER
    assert run(robot.open_case_ids, 5) == ps.OPEN_IN_ORDER[:5]
    run(robot.mark_in_progress, ps.HEAVY)
    assert run(robot.open_case_ids) == ps.OPEN_IN_ORDER[1:]


def test_reads_every_field_as_sent(run: Runner, robot: PermitSystemRobot) -> None:
    routine = run(robot.read_application, ps.ROUTINE)
    assert routine.model_dump() == {
        "case_id": ps.ROUTINE,
        "status": "open",
        "received_at": "2026-11-20T09:14:00+01:00",
        "applicant_cpr": seeds.ANNA["cpr"],
        "applicant_name": seeds.ANNA["name"],
        "plate": "ab 12 345",
        "zone": "A",
        "start_date": "2026-12-01",
        "remarks": "",
        "handled_at": "",
        "reason": None,
        "note": None,
        "permit_id": None,
    }
    malformed = run(robot.read_application, ps.MALFORMED)
    assert (malformed.plate, malformed.zone, malformed.start_date, malformed.received_at) == (
        "AB-12!",
        " a ",
        "1. december",
        "i går",
    )
    assert run(robot.read_application, ps.HIDDEN_REMARKS).remarks == "\u200b"


def test_remarks_are_read_character_for_character(
    run: Runner, robot: PermitSystemRobot, sandbox_url: str
) -> None:
    for remarks in ["\x00", " \r\n<b>fed</b> & <!channel>\u202e ", "\u200b\ufeff"]:
        hook = f"{sandbox_url}/api/test/permits/{ps.ROUTINE}/amend"
        httpx.post(hook, json={"remarks": remarks}).raise_for_status()
        assert run(robot.read_application, ps.ROUTINE).remarks == remarks


def test_reads_leave_the_browser_alone_and_show_case_renders_the_application(
    run: Runner, robot: PermitSystemRobot, rendering: Rendering
) -> None:
    run(robot.log_in)
    before = robot.page.url
    run(robot.read_application, ps.ROUTINE)
    run(robot.lookup_vehicle, "AB12345")
    run(robot.permits_for, "AB12345")
    run(robot.lookup_resident, seeds.ANNA["cpr"])
    if rendering == "server":
        assert robot.page.url == before  # read as sent: nothing rendered
    else:
        assert "/adresseregister/" in robot.page.url
    # What a person's screenshot shows: the application, whichever way it was read.
    run(robot.show_case, ps.ROUTINE)
    assert robot.page.url.endswith(f"/parkering/{ps.ROUTINE}")
    heading = robot.page.get_by_role("heading", name=f"Ansøgning {ps.ROUTINE}", level=1)
    assert run(heading.count) == 1


def test_vehicle_lookup_found_and_not_found(run: Runner, robot: PermitSystemRobot) -> None:
    leased = run(robot.lookup_vehicle, "cd 23 456")
    assert leased is not None
    assert leased.model_dump() == {
        "plate": "CD23456",
        "make": "Skoda",
        "model": "Octavia",
        "total_weight_kg": "1950",
        "owner_cpr": ps.LEASING_OWNER,
        "user_cpr": seeds.BO["cpr"],
    }
    own = run(robot.lookup_vehicle, "AB12345")
    assert own is not None
    assert (own.owner_cpr, own.user_cpr) == (seeds.ANNA["cpr"], None)
    assert run(robot.lookup_vehicle, "ZZ99999") is None


def test_resident_lookup_with_the_parking_zone(run: Runner, robot: PermitSystemRobot) -> None:
    anna = run(robot.lookup_resident, seeds.ANNA["cpr"])
    assert anna is not None
    assert (anna.cpr, anna.name, anna.address_id, anna.parking_zone) == (
        seeds.ANNA["cpr"],
        seeds.ANNA["name"],
        "a-old",
        "A",
    )
    assert anna.address == "Vestergade 12, 2. th, 8800 Viborg"
    assert (anna.address_known, anna.protected_address) == (True, False)
    freja = run(robot.lookup_resident, seeds.FREJA["cpr"])
    assert freja is not None
    assert (freja.address_id, freja.parking_zone) == ("a-new-2", None)
    hans = run(robot.lookup_resident, ps.HANS["cpr"])
    assert hans is not None
    assert (hans.address_id, hans.address_known, hans.address, hans.parking_zone) == (
        "a-gone",
        False,
        "",
        None,
    )
    assert run(robot.lookup_resident, "3113901234") is None


def test_permit_register_for_a_plate(run: Runner, robot: PermitSystemRobot) -> None:
    [active] = run(robot.permits_for, "gh 45 678")
    assert active.model_dump() == {
        "permit_id": ps.ACTIVE_PERMIT,
        "plate": "GH45678",
        "zone": "A",
        "valid_from": "2026-01-01",
        "valid_to": "2026-12-31",
        "case_id": None,
    }
    assert [p.case_id for p in run(robot.permits_for, "AB12345")] == ["PRK-2025-000042"]
    assert run(robot.permits_for, "EF34567") == []


def test_mark_in_progress_is_idempotent(
    run: Runner, robot: PermitSystemRobot, sandbox_url: str
) -> None:
    run(robot.mark_in_progress, ps.LEASED)
    run(robot.mark_in_progress, ps.LEASED)
    assert application_state(sandbox_url, ps.LEASED)["status"] == "in_progress"
    assert run(robot.read_application, ps.LEASED).status == "in_progress"
    run(robot.reject, ps.HEAVY, "For tung")
    run(robot.mark_in_progress, ps.HEAVY)  # a closed application is left as it is
    assert application_state(sandbox_url, ps.HEAVY)["status"] == "rejected"


def test_issuing_twice_makes_one_permit(
    run: Runner, robot: PermitSystemRobot, sandbox_url: str
) -> None:
    first = run(robot.issue_permit, ps.ROUTINE, "ab 12 345", "A", START, END)
    assert first.model_dump() == {
        "permit_id": "BP-000003",
        "plate": "AB12345",
        "zone": "A",
        "valid_from": "2026-12-01",
        "valid_to": "2027-11-30",
        "case_id": ps.ROUTINE,
    }
    # A rerun after a crash, with the dates as ISO text this time.
    again = run(robot.issue_permit, ps.ROUTINE, "AB12345", "A", "2026-12-01", "2027-11-30")
    assert again == first
    assert [p["permit_id"] for p in permits_of(sandbox_url, ps.ROUTINE)] == ["BP-000003"]
    application = run(robot.read_application, ps.ROUTINE)
    assert (application.status, application.permit_id) == ("issued", "BP-000003")


def test_a_read_back_that_differs_is_a_mismatch(
    run: Runner, robot: PermitSystemRobot, sandbox_url: str
) -> None:
    # The system cuts a period over a year without a word: the receipt shows another end.
    with pytest.raises(PermitMismatch, match=r"valid_to '2027-11-30' \(asked '2028-11-30'\)"):
        run(robot.issue_permit, ps.LEASED, "CD23456", "A", START, date(2028, 11, 30))
    assert error_code(PermitMismatch("x")) == "business.permit_mismatch"
    assert len(permits_of(sandbox_url, ps.LEASED)) == 1  # issued: a person must check it
    # A rerun finds that permit for the case, and it still differs from what is asked.
    with pytest.raises(PermitMismatch, match=r"zone 'A' \(asked 'B'\)"):
        run(robot.issue_permit, ps.LEASED, "CD23456", "B", START, END)
    assert len(permits_of(sandbox_url, ps.LEASED)) == 1


def test_a_permit_issued_meanwhile_by_another_run_is_confirmed_not_doubled(
    run: Runner, robot: PermitSystemRobot, sandbox_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="robots.sandbox.permits")
    # The robot reads the register, then opens the form; the form is held while another
    # run issues the same case, so the robot's own submit meets a 409.
    inject(
        sandbox_url,
        path_prefix=f"/parkering/{ps.ROUTINE}/tilladelse",
        method="GET",
        delay_ms=20_000,
    )

    def other_run() -> None:
        with httpx.Client(base_url=sandbox_url, timeout=10) as http:
            while http.get("/api/test/faults").json()["held"] == 0:
                threading.Event().wait(0.05)
            login = {"username": SANDBOX_USER, "password": SANDBOX_PASSWORD}
            http.post("/login", data=login)
            form = {"plate": "AB12345", "zone": "A", "valid_from": "2026-12-01"}
            http.post(f"/parkering/{ps.ROUTINE}/tilladelse", data=form | {"valid_to": "2027-11-30"})
            http.delete("/api/test/faults")

    other = threading.Thread(target=other_run)
    other.start()
    permit = run(robot.issue_permit, ps.ROUTINE, "AB12345", "A", START, END)
    other.join(10)
    assert [p["permit_id"] for p in permits_of(sandbox_url, ps.ROUTINE)] == [permit.permit_id]
    assert f"permit {permit.permit_id} was issued meanwhile" in caplog.text


def test_issuing_for_a_closed_application_is_a_business_error(
    run: Runner, robot: PermitSystemRobot, sandbox_url: str
) -> None:
    run(robot.reject, ps.HEAVY, "Køretøjet vejer over 3.500 kg")
    with pytest.raises(BusinessError, match="allerede afsluttet") as raised:
        run(robot.issue_permit, ps.HEAVY, "EF34567", "A", START, END)
    assert raised.value.code == "business.conflict"
    with pytest.raises(BusinessError, match="Ukendt parkeringszone") as invalid:
        run(robot.issue_permit, ps.ROUTINE, "AB12345", "Q", START, END)
    assert invalid.value.code == "business.refused"
    assert permits_of(sandbox_url, ps.HEAVY) == permits_of(sandbox_url, ps.ROUTINE) == []


def test_reject_is_idempotent_and_refuses_another_outcome(
    run: Runner, robot: PermitSystemRobot, sandbox_url: str
) -> None:
    reason = "Køretøjet vejer 4.200 kg.\nDer gives kun tilladelse til biler op til 3.500 kg."
    run(robot.reject, ps.HEAVY, reason)
    run(robot.reject, ps.HEAVY, reason)
    entry = application_state(sandbox_url, ps.HEAVY)
    assert (entry["status"], entry["reason"]) == ("rejected", reason)
    assert run(robot.read_application, ps.HEAVY).reason == reason
    with pytest.raises(BusinessError, match="already closed with another reason"):
        run(robot.reject, ps.HEAVY, "En anden begrundelse")
    with pytest.raises(BusinessError, match="already closed as rejected, not manual"):
        run(robot.close_manual, ps.HEAVY, "Manuel")
    with pytest.raises(ValueError, match="needs a reason"):
        run(robot.reject, ps.ROUTINE, " \n")
    assert application_state(sandbox_url, ps.ROUTINE)["status"] == "open"


def test_close_manual_is_idempotent(
    run: Runner, robot: PermitSystemRobot, sandbox_url: str
) -> None:
    run(robot.close_manual, ps.MALFORMED, "Sendt til manuel behandling af Mette Lund.")
    run(robot.close_manual, ps.MALFORMED, "Sendt til manuel behandling af Mette Lund.")
    entry = application_state(sandbox_url, ps.MALFORMED)
    assert (entry["status"], entry["note"]) == (
        "manual",
        "Sendt til manuel behandling af Mette Lund.",
    )
    assert run(robot.read_application, ps.MALFORMED).note == entry["note"]
    run(robot.issue_permit, ps.ROUTINE, "AB12345", "A", START, END)
    with pytest.raises(BusinessError, match="already closed as issued, not rejected"):
        run(robot.reject, ps.ROUTINE, "For sent")


@pytest.mark.parametrize("status", [404, 429, 500, 503])
def test_an_error_page_in_the_vehicle_lookup_is_a_fault_not_not_found(
    run: Runner, robot: PermitSystemRobot, sandbox_url: str, status: int
) -> None:
    run(robot.log_in)
    inject(sandbox_url, path_prefix="/koeretoejer", method="GET", status=status)
    with pytest.raises(HttpFault) as raised:
        run(robot.lookup_vehicle, "AB12345")
    assert raised.value.status == status
    assert error_code(raised.value) == f"system.http_{status}"
    assert isinstance(raised.value, SystemFault)


def test_a_maintenance_page_or_changed_layout_is_a_fault_not_not_found(
    run: Runner, robot: PermitSystemRobot, sandbox_url: str
) -> None:
    run(robot.log_in)
    inject(sandbox_url, path_prefix="/koeretoejer", kind="maintenance")
    with pytest.raises(UnexpectedPage, match="vehicle register"):
        run(robot.lookup_vehicle, "ZZ99999")
    inject(sandbox_url, path_prefix="/koeretoejer", kind="layout", test_id="vehicle-not-found")
    with pytest.raises(UnexpectedPage, match="neither results nor 'none found'"):
        run(robot.lookup_vehicle, "ZZ99999")
    inject(sandbox_url, path_prefix="/tilladelser", kind="layout", aria_label="Tilladelser")
    with pytest.raises(UnexpectedPage, match="permit register"):
        run(robot.permits_for, "GH45678")
    inject(sandbox_url, path_prefix="/adresseregister", kind="layout", test_id="parking-zone")
    with pytest.raises(UnexpectedPage, match="address"):
        run(robot.lookup_resident, seeds.ANNA["cpr"])
    inject(sandbox_url, path_prefix="/parkering/", kind="layout", test_id="remarks")
    with pytest.raises(UnexpectedPage, match="no remarks element"):
        run(robot.read_application, ps.ROUTINE)
    inject(sandbox_url, path_prefix="/parkering", kind="layout", aria_label="Ansøgninger")
    with pytest.raises(UnexpectedPage, match="parking inbox"):
        run(robot.open_case_ids)
    inject(sandbox_url, path_prefix="/parkering/", kind="layout", test_id="status")
    with pytest.raises(UnexpectedPage, match="application page has no status"):
        run(robot.read_application, ps.ROUTINE)
    inject(sandbox_url, path_prefix="/parkering/", method="GET", status=500)
    with pytest.raises(HttpFault, match="500"):
        run(robot.reject, ps.HEAVY, "For tung")
    assert application_state(sandbox_url, ps.HEAVY)["status"] == "open"


def test_an_error_reading_the_register_before_issuing_issues_nothing(
    run: Runner, robot: PermitSystemRobot, sandbox_url: str
) -> None:
    run(robot.log_in)
    inject(sandbox_url, path_prefix="/tilladelser", method="GET", status=429)
    with pytest.raises(HttpFault, match="429"):
        run(robot.issue_permit, ps.ROUTINE, "AB12345", "A", START, END)
    assert permits_of(sandbox_url, ps.ROUTINE) == []


def test_a_lost_session_costs_nothing_the_robot_logs_in_and_goes_on(
    run: Runner, robot: PermitSystemRobot, sandbox_url: str
) -> None:
    run(robot.read_application, ps.ROUTINE)
    httpx.post(f"{sandbox_url}/api/test/expire-sessions").raise_for_status()
    assert run(robot.read_application, ps.ROUTINE).case_id == ps.ROUTINE
    assert robot.logged_in is True
    # Logged out at the very submit: the rerun reads first and issues once.
    inject(sandbox_url, path_prefix="/parkering/", method="POST", kind="expire_session")
    permit = run(robot.issue_permit, ps.ROUTINE, "AB12345", "A", START, END)
    assert httpx.get(f"{sandbox_url}/api/test/faults").json()["faults"] == []  # it fired
    assert [p["permit_id"] for p in permits_of(sandbox_url, ps.ROUTINE)] == [permit.permit_id]


def test_a_session_lost_twice_in_a_row_is_a_retryable_fault(
    run: Runner, robot: PermitSystemRobot, sandbox_url: str
) -> None:
    run(robot.log_in)
    inject(sandbox_url, path_prefix="/koeretoejer", kind="expire_session", times=2)
    with pytest.raises(SessionLost):
        run(robot.lookup_vehicle, "AB12345")
    assert robot.logged_in is False
    assert run(robot.lookup_vehicle, "AB12345") is not None


def test_a_wrong_password_is_a_clear_error(
    run: Runner, browser_session: BrowserSession, sandbox_url: str, rendering: Rendering
) -> None:
    async def try_login() -> None:
        async with browser_session.context() as context:
            target = Target(
                base_url=sandbox_url,
                username="robot",
                password=SecretStr("wrong"),
                rendering=rendering,
            )
            await PermitSystemRobot(await context.new_page(), target).log_in()

    with pytest.raises(LoginRefused, match="RPA_TARGET__PASSWORD"):
        run(try_login)
