"""The registers: address search, a person in CPR and registering a move."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sandbox.records import DuplicateRegistrationError, InvalidInputError
from sandbox.web import StoreDep, User, render

router = APIRouter()
FormText = Annotated[str, Form()]


@router.get("/adresseregister", response_class=HTMLResponse)
def address_search(
    request: Request,
    user: User,
    store: StoreDep,
    vejnavn: str | None = None,
    husnr: str | None = None,
    etage: str | None = None,
    doer: str | None = None,
    postnr: str | None = None,
) -> HTMLResponse:
    """Search the address register; no parameters at all shows the empty form."""
    query = {"vejnavn": vejnavn, "husnr": husnr, "etage": etage, "doer": doer, "postnr": postnr}
    searched = any(value is not None for value in query.values())
    results = (
        store.search_addresses(
            street=vejnavn or "",
            house_number=husnr or "",
            floor=etage or "",
            door=doer or "",
            postcode=postnr or "",
        )
        if searched
        else []
    )
    form = {key: value or "" for key, value in query.items()}
    return render(request, "addresses.html", form=form, searched=searched, results=results)


@router.get("/adresseregister/{address_id}", response_class=HTMLResponse)
def address_page(request: Request, address_id: str, user: User, store: StoreDep) -> HTMLResponse:
    """One address and who lives there."""
    address = store.get_address(address_id)
    return render(
        request, "address.html", address=address, residents=store.residents_at(address_id)
    )


@router.get("/cpr", response_class=HTMLResponse)
def person_lookup(
    request: Request, user: User, store: StoreDep, cpr: str | None = None
) -> HTMLResponse:
    """Look a person up by CPR number: where they live and the moves registered for them."""
    person = store.find_person(cpr) if cpr else None
    address = None
    if person is not None and store.has_address(person.address_id):
        address = store.get_address(person.address_id)
    return render(
        request,
        "person.html",
        cpr=cpr or "",
        searched=cpr is not None,
        person=person,
        address=address,
        registrations=store.registrations_for(person.cpr) if person else [],
    )


@router.get("/cpr/flytning", response_class=HTMLResponse)
def move_form(
    request: Request,
    user: User,
    cpr: str = "",
    address_id: str = "",
    move_date: str = "",
    case_id: str = "",
) -> HTMLResponse:
    """The form to register a move (fields may be filled in from the query string)."""
    form = {"cpr": cpr, "address_id": address_id, "move_date": move_date, "case_id": case_id}
    return render(request, "move.html", form=form)


@router.post("/cpr/flytning", response_model=None)
def register_move(
    request: Request,
    user: User,
    store: StoreDep,
    cpr: FormText = "",
    address_id: FormText = "",
    move_date: FormText = "",
    case_id: FormText = "",
) -> Response:
    """Register a move; 303 to the receipt, 409 for a repeat in the same case, 422 for bad input."""
    form = {"cpr": cpr, "address_id": address_id, "move_date": move_date, "case_id": case_id}
    try:
        registration = store.register_move(
            cpr=cpr, address_id=address_id, move_date=move_date, case_id=case_id, registered_by=user
        )
    except DuplicateRegistrationError as exc:
        return render(request, "move.html", 409, form=form, error=str(exc))
    except InvalidInputError as exc:
        return render(request, "move.html", 422, form=form, error=str(exc))
    return RedirectResponse(f"/cpr/flytning/{registration.registration_id}", status_code=303)


@router.get("/cpr/flytning/{registration_id}", response_class=HTMLResponse)
def receipt(request: Request, registration_id: str, user: User, store: StoreDep) -> HTMLResponse:
    """The receipt of a registered move."""
    return render(request, "receipt.html", registration=store.get_registration(registration_id))
