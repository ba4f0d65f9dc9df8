"""Booking references: what a patient types or scans at the self check-in kiosk.

Six characters from an alphabet without the look-alikes I, O, 0 and 1, so a reference
read from an SMS or a slip is typed right the first time (32 characters: about a billion
references). Drawn with :mod:`secrets`. A reference is unique among open (``booked``)
appointments: the partial unique index ``uq_appointments_open_reference`` is the final
guard, :func:`assign_reference` checks first and retries a clash the index still finds.
Rescheduling keeps the reference; a checked-in, cancelled or completed appointment keeps
its reference on record, and the same six characters may be drawn again for a new booking.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.appointments.models import Appointment
from webapp.domain_errors import Conflict
from webapp.extensions import db

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 6
# A clash is one in a billion per open booking: a few tries are more than enough.
MAX_TRIES = 8
# What may separate groups when a reference is typed or printed: ignored when read.
_SEPARATORS = str.maketrans("", "", " -\t")


def new_reference() -> str:
    """A fresh random reference (not yet checked against the open bookings)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(typed: str | None) -> str:
    """What was typed, upper-cased, without spaces or dashes.

    Nothing is mapped: an O is not turned into a 0 nor an I into a 1. Neither is in the
    alphabet, so a reference typed with one simply matches nothing.
    """
    return (typed or "").translate(_SEPARATORS).strip().upper()


def is_well_formed(reference: str) -> bool:
    """Six characters of the alphabet (after :func:`normalise`)."""
    return len(reference) == LENGTH and all(char in ALPHABET for char in reference)


def reference_taken(reference: str) -> bool:
    """Whether an open (booked) appointment holds ``reference``."""
    return (
        db.session.scalar(
            select(Appointment.id)
            .where(Appointment.reference == reference, Appointment.status == "booked")
            .limit(1)
        )
        is not None
    )


def assign_reference(appointment: Appointment, generate: Callable[[], str] | None = None) -> str:
    """Give a flushed, booked ``appointment`` a reference no other open booking holds.

    Each try checks the open bookings first, then writes inside a SAVEPOINT so a clash
    the unique index finds (a concurrent booking drew the same one) undoes only that
    write, and another reference is drawn.
    """
    draw = generate or new_reference
    for _ in range(MAX_TRIES):
        candidate = draw()
        if reference_taken(candidate):
            continue
        try:
            with db.session.begin_nested():
                appointment.reference = candidate
                db.session.flush()
        except IntegrityError:
            continue
        return candidate
    raise Conflict("Could not choose a booking reference just now. Please try again.")


def find_open_by_reference(typed: str | None) -> Appointment | None:
    """The booked appointment holding the reference typed (normalised), or None."""
    reference = normalise(typed)
    if not is_well_formed(reference):
        return None
    return db.session.scalar(
        select(Appointment).where(
            Appointment.reference == reference, Appointment.status == "booked"
        )
    )
