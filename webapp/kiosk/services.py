"""Self check-in kiosks: registering and revoking devices, and a patient checking in at one.

A kiosk is a browser on a touch screen in the entrance. An admin registers it and gets, once,
a kiosk address holding a secret device token; only the token's SHA-256 is stored, so the
address cannot be read back from the database (a lost one is revoked and a new kiosk
registered). Every kiosk page finds its kiosk by the token's hash: an unknown or revoked
token is simply not found.

At the kiosk a patient types (or scans) the booking reference and their year of birth. A
booked appointment of today (the hospital's service day) with that reference, whose patient
was born that year, is checked in through the desk's own service
(:func:`webapp.queue.moves.check_in`), the kiosk named on its QueueEvent and in the audit
log. Anything else is one answer, "not found": the kiosk never tells which part was wrong,
so it cannot be used to learn whether a reference exists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from webapp import clock
from webapp.appointments.models import Appointment
from webapp.appointments.references import find_open_by_reference, is_well_formed, normalise
from webapp.audit.services import record_audit
from webapp.auth.models import User
from webapp.database import get_by_id, utcnow
from webapp.domain_errors import DomainError, NotFound, ValidationFailed
from webapp.extensions import db
from webapp.kiosk.models import Kiosk
from webapp.queue.models import Ticket
from webapp.queue.moves import check_in

NAME_MAX = 60
# secrets.token_urlsafe(24) gives 32 characters; anything not shaped like a token is not one.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
YEAR_PATTERN = re.compile(r"^\d{4}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Registration:
    """A newly registered kiosk and its secret token (shown once, never stored)."""

    kiosk: Kiosk
    token: str


def _clean_name(name: str | None) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationFailed({"name": "Give the kiosk a name, such as “Main entrance”."})
    if len(cleaned) > NAME_MAX:
        raise ValidationFailed({"name": f"Use at most {NAME_MAX} characters."})
    return cleaned


def register_kiosk(name: str | None, *, actor: User | None) -> Registration:
    """A new kiosk; its token is returned here only, and only its hash is kept."""
    cleaned = _clean_name(name)
    token = secrets.token_urlsafe(24)
    kiosk = Kiosk(
        name=cleaned, token_hash=hash_token(token), created_by_id=actor.id if actor else None
    )
    db.session.add(kiosk)
    db.session.flush()
    record_audit(
        "kiosk.register",
        actor,
        entity_type="kiosk",
        entity_id=kiosk.id,
        summary=f"Registered kiosk {cleaned}",
    )
    return Registration(kiosk=kiosk, token=token)


def get_kiosk(kiosk_id: int) -> Kiosk:
    kiosk = get_by_id(Kiosk, kiosk_id)
    if kiosk is None:
        raise NotFound("No such kiosk.")
    return kiosk


def list_kiosks() -> list[Kiosk]:
    """Active kiosks first, then revoked ones; by name."""
    return list(
        db.session.scalars(
            select(Kiosk).order_by(Kiosk.revoked_at.is_not(None), Kiosk.name, Kiosk.id)
        )
    )


def revoke_kiosk(kiosk: Kiosk, *, actor: User | None) -> Kiosk:
    """Its address stops working at once. Revoking twice changes nothing more."""
    if kiosk.revoked_at is not None:
        return kiosk
    kiosk.revoked_at = utcnow()
    db.session.flush()
    record_audit(
        "kiosk.revoke",
        actor,
        entity_type="kiosk",
        entity_id=kiosk.id,
        summary=f"Revoked kiosk {kiosk.name}",
    )
    return kiosk


def find_active_kiosk(token: str | None) -> Kiosk | None:
    """The active kiosk whose token this is, or None (unknown, malformed or revoked).

    The token is never compared as typed: its SHA-256 is looked up, and compared once more
    in constant time, so neither the lookup nor the comparison tells how close a guess was.
    """
    if not token or not TOKEN_PATTERN.match(token):
        return None
    wanted = hash_token(token)
    kiosk = db.session.scalar(select(Kiosk).where(Kiosk.token_hash == wanted))
    if kiosk is None or not hmac.compare_digest(kiosk.token_hash, wanted):
        return None
    return kiosk if kiosk.active else None


# ------------------------------------------------------------------ check-in


def reference_looks_right(typed: str | None) -> bool:
    """Whether a typed reference has the shape of one (6 characters once spaces and dashes
    are dropped); a character outside the alphabet still "looks right" here and then
    matches nothing, so the kiosk answers it like any other unknown reference."""
    return len(normalise(typed)) == 6


def year_looks_right(typed: str | None) -> bool:
    return bool(YEAR_PATTERN.match((typed or "").strip()))


def _todays_booking(typed_reference: str | None, typed_year: str | None) -> Appointment | None:
    reference = normalise(typed_reference)
    year = (typed_year or "").strip()
    if not is_well_formed(reference) or not YEAR_PATTERN.match(year):
        return None
    appointment = find_open_by_reference(reference)
    if appointment is None:
        return None
    start, end = clock.day_bounds(clock.today())
    if not start <= appointment.starts_at < end:
        return None
    if appointment.patient.date_of_birth.year != int(year):
        return None
    return appointment


def kiosk_check_in(
    kiosk: Kiosk, *, reference: str | None, year_of_birth: str | None
) -> Ticket | None:
    """Check in today's booking with this reference and year of birth; None when none matches.

    The desk's check-in service does the work (same ticket, same rules); a refusal it raises
    (say, the patient already holds a ticket in that department) is "not found" here too, and
    undoes nothing but its own savepoint. Every attempt is audited with the kiosk's name: a
    check-in by the appointment and ticket, a failed one with the reference typed (never the
    year of birth), so repeated guessing shows in the audit log.
    """
    kiosk.last_used_at = utcnow()
    appointment = _todays_booking(reference, year_of_birth)
    ticket: Ticket | None = None
    if appointment is not None:
        try:
            with db.session.begin_nested():
                ticket = check_in(
                    actor=None,
                    appointment_id=appointment.id,
                    reason=f"Self check-in at kiosk {kiosk.name}",
                )
        except DomainError:
            ticket = None
    if ticket is None:
        record_audit(
            "kiosk.check_in_failed",
            None,
            entity_type="kiosk",
            entity_id=kiosk.id,
            summary=f"Kiosk {kiosk.name}: no booking of today matched",
            details={"reference": normalise(reference)[:12]},
        )
        return None
    record_audit(
        "kiosk.check_in",
        None,
        entity_type="appointment",
        entity_id=ticket.appointment_id,
        summary=f"Checked in as ticket {ticket.number} at kiosk {kiosk.name}",
        details={"kiosk_id": kiosk.id, "ticket_id": ticket.id},
    )
    return ticket


def kiosk_ticket(ticket_id: object) -> Ticket | None:
    """The ticket a kiosk just issued (its id kept in the kiosk browser's session), while it is
    still today's; None otherwise."""
    if not isinstance(ticket_id, int):
        return None
    ticket = get_by_id(Ticket, ticket_id)
    if ticket is None or ticket.service_day != clock.service_day():
        return None
    return ticket
