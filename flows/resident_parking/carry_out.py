"""What the robot does for each decision on a parking permit application.

Each step is idempotent in the case system (the robot reads before it writes) and read
back, so a crash and a rerun never issue two permits or write a rejection twice.
"""

from __future__ import annotations

from datetime import date, timedelta

from checkpoints.process import APPROVE, EDIT, MANUAL, REJECT, Decided, Outcome
from flows.resident_parking.case import PermitCase, PermitForm
from flows.resident_parking.process import parking
from robots.sandbox.permits import PermitSystemRobot


@parking.on_decision(APPROVE, EDIT)
async def issue(robot: PermitSystemRobot, case: PermitCase, decided: Decided) -> Outcome:
    """Issue the permit for exactly the cleared values, for one year."""
    form = decided.form(PermitForm)
    valid_to = _one_year_from(form.start_date)
    permit = await robot.issue_permit(
        case.case_id, form.plate, form.zone, form.start_date, valid_to
    )
    return Outcome(
        action="issued",
        note=f"Tilladelse {permit.permit_id} til {permit.plate} i zone {permit.zone}, "
        f"{permit.valid_from} til {permit.valid_to}.",
        references=[permit.permit_id],
        details={"plate": permit.plate, "zone": permit.zone, "valid_to": permit.valid_to},
    )


@parking.on_decision(REJECT)
async def reject(robot: PermitSystemRobot, case: PermitCase, decided: Decided) -> Outcome:
    """Write the person's reason to the case and close it as rejected."""
    reason = decided.comment.strip()
    await robot.reject(case.case_id, reason)
    return Outcome(action="rejected", note=reason)


@parking.on_decision(MANUAL)
async def manual(robot: PermitSystemRobot, case: PermitCase, decided: Decided) -> Outcome:
    """Hand the case to manual handling, with who decided and their comment."""
    comment = f" Kommentar: {decided.comment}" if decided.comment else ""
    note = f"Sendt til manuel behandling af {decided.decided_by}.{comment}"
    await robot.close_manual(case.case_id, note)
    return Outcome(action="manual", note=note)


def _one_year_from(start: date) -> date:
    try:
        return start.replace(year=start.year + 1) - timedelta(days=1)
    except ValueError:  # 29 February
        return start.replace(year=start.year + 1, day=28)
