"""Resident parking: the application inbox, an application, the vehicle and permit registers."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sandbox.parking import PERMIT_STATUSES
from sandbox.records import ConflictError, InvalidInputError
from sandbox.web import StoreDep, User, error_page, render, settings_of

router = APIRouter()
FormText = Annotated[str, Form()]


@router.get("/parkering", response_class=HTMLResponse)
def inbox(
    request: Request,
    user: User,
    store: StoreDep,
    status: str = "open",
    side: str = "1",
    cpr: str = "",
) -> HTMLResponse:
    """The applications by received_at, filtered by status and applicant CPR, a page at a time."""
    if status != "alle" and status not in PERMIT_STATUSES:
        return error_page(request, 422, f"Ukendt status: {status}")
    try:
        page_number = int(side)
    except ValueError:
        return error_page(request, 422, f"Ugyldigt sidenummer: {side}")
    cpr = cpr.strip()
    page = store.parking.list_applications(
        status=None if status == "alle" else status,
        cpr=cpr or None,
        page=page_number,
        page_size=settings_of(request).page_size,
    )

    def link(number: int) -> str:
        params = {"status": status, "side": str(number)} | ({"cpr": cpr} if cpr else {})
        return f"/parkering?{urlencode(params)}"

    return render(
        request,
        "parking_inbox.html",
        page=page,
        status=status,
        cpr=cpr,
        statuses=PERMIT_STATUSES,
        previous_url=link(page.page - 1) if page.page > 1 else None,
        next_url=link(page.page + 1) if page.page < page.pages else None,
    )


@router.get("/parkering/{case_id}", response_class=HTMLResponse)
def application_page(request: Request, case_id: str, user: User, store: StoreDep) -> HTMLResponse:
    """One application with every field as sent, its outcome and the actions left."""
    return render(request, "parking_application.html", application=store.parking.get(case_id))


@router.post("/parkering/{case_id}/under-behandling")
def mark_in_progress(case_id: str, user: User, store: StoreDep) -> RedirectResponse:
    """open -> in_progress, then back to the application."""
    store.parking.mark_in_progress(case_id)
    return RedirectResponse(f"/parkering/{case_id}", status_code=303)


@router.post("/parkering/{case_id}/afvis")
def reject(
    case_id: str, user: User, store: StoreDep, begrundelse: FormText = ""
) -> RedirectResponse:
    """Reject the application with a reason (required), then back to the application."""
    store.parking.reject(case_id, reason=begrundelse)
    return RedirectResponse(f"/parkering/{case_id}", status_code=303)


@router.post("/parkering/{case_id}/manuel")
def close_manual(
    case_id: str, user: User, store: StoreDep, note: FormText = ""
) -> RedirectResponse:
    """Send the application to manual handling with a note, then back to it."""
    store.parking.close_manual(case_id, note=note)
    return RedirectResponse(f"/parkering/{case_id}", status_code=303)


@router.get("/parkering/{case_id}/tilladelse", response_class=HTMLResponse)
def permit_form(
    request: Request,
    case_id: str,
    user: User,
    store: StoreDep,
    plate: str = "",
    zone: str = "",
    valid_from: str = "",
    valid_to: str = "",
) -> HTMLResponse:
    """The form that issues the application's permit (fields may come from the query string)."""
    application = store.parking.get(case_id)
    form = {"plate": plate, "zone": zone, "valid_from": valid_from, "valid_to": valid_to}
    return render(request, "permit_form.html", application=application, form=form)


@router.post("/parkering/{case_id}/tilladelse", response_model=None)
def issue_permit(
    request: Request,
    case_id: str,
    user: User,
    store: StoreDep,
    plate: FormText = "",
    zone: FormText = "",
    valid_from: FormText = "",
    valid_to: FormText = "",
) -> Response:
    """Issue the permit: 303 to the receipt; 409 a case with a permit or closed; 422 bad input."""
    application = store.parking.get(case_id)
    form = {"plate": plate, "zone": zone, "valid_from": valid_from, "valid_to": valid_to}
    try:
        permit = store.parking.issue(case_id=case_id, issued_by=user, **form)
    except ConflictError as exc:
        return render(
            request, "permit_form.html", 409, application=application, form=form, error=str(exc)
        )
    except InvalidInputError as exc:
        return render(
            request, "permit_form.html", 422, application=application, form=form, error=str(exc)
        )
    return RedirectResponse(f"/tilladelser/{permit.permit_id}", status_code=303)


@router.get("/tilladelser", response_class=HTMLResponse)
def permit_register(
    request: Request, user: User, store: StoreDep, nummerplade: str | None = None
) -> HTMLResponse:
    """Every permit for a plate (spaces and case ignored); no plate shows the empty form."""
    permits = store.parking.permits_for(nummerplade) if nummerplade is not None else []
    return render(
        request,
        "permits.html",
        plate=nummerplade or "",
        searched=nummerplade is not None,
        permits=permits,
    )


@router.get("/tilladelser/{permit_id}", response_class=HTMLResponse)
def permit_receipt(request: Request, permit_id: str, user: User, store: StoreDep) -> HTMLResponse:
    """One permit: the receipt shown after issuing it."""
    return render(request, "permit_receipt.html", permit=store.parking.get_permit(permit_id))


@router.get("/koeretoejer", response_class=HTMLResponse)
def vehicle_lookup(
    request: Request, user: User, store: StoreDep, nummerplade: str | None = None
) -> HTMLResponse:
    """Look a vehicle up by plate (spaces and case ignored); not found is a page of its own."""
    vehicle = store.parking.find_vehicle(nummerplade) if nummerplade is not None else None
    return render(
        request,
        "vehicles.html",
        plate=nummerplade or "",
        searched=nummerplade is not None,
        vehicle=vehicle,
    )
