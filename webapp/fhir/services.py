"""What the FHIR facade reads: patients by MRN, a patient's appointments and ticket chains.

Read-only. A ticket chain is a ticket and the tickets it was transferred to; they share
``status_token``, and the chain's first ticket (no ``transferred_from_id``) names it.
Days are service days in the hospital's zone (webapp.clock), so a date search never
picks up another day's visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select

from webapp import clock
from webapp.appointments.models import Appointment
from webapp.domain_errors import NotFound
from webapp.extensions import db
from webapp.patients.models import Patient
from webapp.queue.models import Ticket

T = TypeVar("T")

DEFAULT_COUNT = 20
MAX_COUNT = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    count: int

    @property
    def has_next(self) -> bool:
        return self.page * self.count < self.total


def page_of(query: Select[tuple[T]], *, page: int, count: int) -> Page[T]:
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(db.session.scalars(query.offset((page - 1) * count).limit(count)))
    return Page(items=items, total=total or 0, page=page, count=count)


def patients_by_mrn(mrn: str) -> Select[tuple[Patient]]:
    return select(Patient).where(Patient.mrn == mrn).order_by(Patient.id)


def no_patients() -> Select[tuple[Patient]]:
    return select(Patient).where(Patient.id.is_(None))


def appointments_of(patient_id: int, day: date | None) -> Select[tuple[Appointment]]:
    query = select(Appointment).where(Appointment.patient_id == patient_id)
    if day is not None:
        start, end = clock.day_bounds(day)
        query = query.where(Appointment.starts_at >= start, Appointment.starts_at < end)
    return query.order_by(Appointment.starts_at, Appointment.id)


def chain_heads_of(patient_id: int, day: date | None) -> Select[tuple[Ticket]]:
    """The first ticket of each of the patient's chains (of ``day``, if given)."""
    query = select(Ticket).where(
        Ticket.patient_id == patient_id, Ticket.transferred_from_id.is_(None)
    )
    if day is not None:
        query = query.where(Ticket.service_day == day)
    return query.order_by(Ticket.checked_in_at, Ticket.id)


def chains(heads: list[Ticket]) -> list[list[Ticket]]:
    """Each head's whole chain, in order (one query for them all)."""
    tokens = {head.status_token for head in heads}
    members = list(
        db.session.scalars(
            select(Ticket).where(Ticket.status_token.in_(tokens)).order_by(Ticket.id)
        )
    )
    by_token: dict[str, list[Ticket]] = {}
    for ticket in members:
        by_token.setdefault(ticket.status_token, []).append(ticket)
    return [by_token[head.status_token] for head in heads]


def encounter_chain(encounter_id: int) -> list[Ticket]:
    """The chain an Encounter id names: its first ticket's id, not a later ticket's."""
    head = db.session.get(Ticket, encounter_id)
    if head is None or head.transferred_from_id is not None:
        raise NotFound("No such encounter.")
    return chains([head])[0]
