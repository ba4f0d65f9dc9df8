"""The webhook event types (API.md "Webhooks") and the domain events they come from."""

from __future__ import annotations

# Queue actions (webapp.queue.rules / moves) → event type. A transfer sends
# ticket.transferred for the old ticket and ticket.checked_in for the new one.
TICKET_EVENTS = {
    "check_in": "ticket.checked_in",
    "call": "ticket.called",
    "recall": "ticket.recalled",
    "start": "ticket.started",
    "complete": "ticket.completed",
    "no_show": "ticket.no_show",
    "cancel": "ticket.cancelled",
    "transfer": "ticket.transferred",
}
APPOINTMENT_EVENTS = {
    "booked": "appointment.booked",
    "rescheduled": "appointment.rescheduled",
    "cancelled": "appointment.cancelled",
}
EVENT_TYPES: tuple[str, ...] = (*TICKET_EVENTS.values(), *APPOINTMENT_EVENTS.values())
