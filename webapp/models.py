"""Imports every model so that Alembic and ``db.create_all`` see the whole schema."""

from webapp.appointments.models import Appointment
from webapp.audit.models import AuditLog
from webapp.auth.models import RefreshToken, User
from webapp.departments.models import Department, ServicePoint
from webapp.kiosk.models import Kiosk
from webapp.live.models import QueueVersion
from webapp.notifications.models import Notification, PushSubscription
from webapp.patients.models import Patient
from webapp.queue.models import QueueEvent, Ticket, TicketSequence
from webapp.reports.models import DailyMetric
from webapp.screens.models import Screen
from webapp.webhooks.models import WebhookDelivery, WebhookSubscription

__all__ = [
    "Appointment",
    "AuditLog",
    "DailyMetric",
    "Department",
    "Kiosk",
    "Notification",
    "Patient",
    "PushSubscription",
    "QueueEvent",
    "QueueVersion",
    "RefreshToken",
    "Screen",
    "ServicePoint",
    "Ticket",
    "TicketSequence",
    "User",
    "WebhookDelivery",
    "WebhookSubscription",
]
