"""What every provider offers the outbox: send one message, or say how it failed.

A provider never touches the database. It gets an :class:`OutgoingMessage`,
sends it, and returns a :class:`Sent`, or raises :class:`RetryableSendError`
(try again later: a timeout, a refused connection, a 5xx, a 429) or
:class:`PermanentSendError` (trying again cannot help: a 4xx such as an invalid
number). The outbox (``webapp.notifications.delivery``) turns those into the
row's status, its back-off and its error text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to one recipient.

    ``to`` is an E.164 phone number for SMS; for push it is unused and
    ``subscription`` holds the browser's push subscription (endpoint and keys).
    ``title`` and ``url`` are what a push notification shows and opens.
    """

    notification_id: int
    channel: str  # "sms" or "push"
    body: str
    to: str | None = None
    title: str | None = None
    url: str | None = None
    subscription: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Sent:
    """The provider accepted the message; ``provider_message_id`` when it gives one."""

    provider_message_id: str | None = None


class SendError(Exception):
    """A send that failed; the message is the error text kept on the row (no PHI)."""


class RetryableSendError(SendError):
    """A failure that may pass: try again after a back-off (at least ``retry_after`` seconds)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """A failure that trying again cannot fix (e.g. the gateway refused the number)."""


class SubscriptionGone(PermanentSendError):
    """The push service says the browser's subscription no longer exists (404 / 410)."""


class Provider(Protocol):
    """A way of sending one channel's messages."""

    name: str

    def send(self, message: OutgoingMessage) -> Sent:
        """Send ``message`` or raise a :class:`SendError` subclass."""
        ...
