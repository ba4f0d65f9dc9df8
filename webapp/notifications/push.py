"""The browsers that asked for push messages on a ticket page.

A patient allows notifications on the public ticket page (``/t/<token>``); the
browser's push subscription is kept for the ticket chain (the status token a
transfer carries over), so it gets the chain's queue messages. The token is the
only key: there is no sign-in, and nothing here knows who the patient is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from flask import current_app
from sqlalchemy import delete, func, select

from webapp.domain_errors import Conflict, NotFound, ValidationFailed
from webapp.extensions import db
from webapp.notifications.models import PushSubscription
from webapp.notifications.providers.webpush import (
    endpoint_problem,
    key_problems,
    normalised_key,
    vapid_key_problem,
)
from webapp.queue.models import FINAL_STATUSES, Ticket
from webapp.queue.state import latest_ticket_for_token

# One ticket, a few phones (a patient and a relative, a tablet): more is not a family.
MAX_SUBSCRIPTIONS_PER_CHAIN = 5
MAX_TOKEN_LENGTH = 64


def push_enabled(config: Mapping[str, Any]) -> bool:
    """Whether Web Push is configured: both VAPID keys set (``flask generate-vapid-keys``)."""
    return bool(config.get("VAPID_PUBLIC_KEY") and config.get("VAPID_PRIVATE_KEY"))


def vapid_public_key(config: Mapping[str, Any]) -> str | None:
    """The application server key browsers subscribe with; None while push is off."""
    if not push_enabled(config):
        return None
    key: str = config["VAPID_PUBLIC_KEY"].strip().rstrip("=")
    return key


def push_problem(config: Mapping[str, Any]) -> str | None:
    """What stops push from working under ``config``, in plain words; None when it works."""
    return vapid_key_problem(config.get("VAPID_PUBLIC_KEY"), config.get("VAPID_PRIVATE_KEY"))


def _allow_loopback_http() -> bool:
    # A fake push service on this machine, for tests and trials; never in production.
    return bool(current_app.config.get("APP_ENV") != "production")


def _chain_ticket(status_token: str) -> Ticket:
    """The newest ticket of the chain, under a row lock.

    Subscribing waits for a move in flight on that ticket (a transfer, the end of
    the visit), and two subscriptions to one chain queue up behind each other, so
    the limit per chain holds. A transfer that committed meanwhile made a newer
    ticket: that one is locked instead.
    """
    if not status_token or len(status_token) > MAX_TOKEN_LENGTH:
        raise NotFound("No such ticket.")
    ticket = latest_ticket_for_token(status_token)
    for _attempt in range(3):
        locked = db.session.scalar(
            select(Ticket)
            .where(Ticket.id == ticket.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        newest = latest_ticket_for_token(status_token)
        if locked is not None and newest.id == locked.id:
            return locked
        ticket = newest
    raise Conflict("The ticket changed while you asked; reload the page and try again.")


def _valid_subscription(subscription: object) -> tuple[str, str, str]:
    """``(endpoint, p256dh, auth)`` from the browser's ``PushSubscription.toJSON()``."""
    if not isinstance(subscription, Mapping):
        raise ValidationFailed(
            {"subscription": "Send the browser's push subscription (endpoint and keys)."}
        )
    errors: dict[str, str] = {}
    endpoint = subscription.get("endpoint")
    problem = endpoint_problem(
        endpoint,
        allow_loopback_http=_allow_loopback_http(),
        allowed_hosts=tuple(current_app.config["WEBPUSH_ALLOWED_HOSTS"]),
    )
    if problem is not None:
        errors["endpoint"] = problem
    keys = subscription.get("keys")
    errors.update(key_problems(keys))
    if errors:
        raise ValidationFailed(errors)
    checked_keys = cast(Mapping[str, str], keys)
    return (
        cast(str, endpoint),
        normalised_key(checked_keys["p256dh"]),
        normalised_key(checked_keys["auth"]),
    )


def subscribe_push(status_token: str, subscription: object) -> PushSubscription:
    """Keep ``subscription`` for the ticket chain of ``status_token``.

    The same browser again (same endpoint) updates its keys instead of adding a
    row. Raises NotFound for an unknown token, Conflict for a ticket that has
    ended or a chain that already has MAX_SUBSCRIPTIONS_PER_CHAIN browsers, and
    ValidationFailed (by field) for a subscription that is not one.
    """
    ticket = _chain_ticket(status_token)
    endpoint, p256dh, auth = _valid_subscription(subscription)
    if ticket.status in FINAL_STATUSES:
        raise Conflict("This ticket has ended, so there is nothing more to send to this phone.")
    existing = db.session.scalar(
        select(PushSubscription).where(
            PushSubscription.status_token == status_token,
            PushSubscription.endpoint == endpoint,
        )
    )
    if existing is not None:
        existing.p256dh, existing.auth = p256dh, auth
        db.session.flush()
        return existing
    count = db.session.scalar(
        select(func.count())
        .select_from(PushSubscription)
        .where(PushSubscription.status_token == status_token)
    )
    if (count or 0) >= MAX_SUBSCRIPTIONS_PER_CHAIN:
        raise Conflict(
            f"Notifications are already on for {MAX_SUBSCRIPTIONS_PER_CHAIN} phones or browsers "
            "for this ticket, the most there can be. Turn them off on one of them first."
        )
    row = PushSubscription(status_token=status_token, endpoint=endpoint, p256dh=p256dh, auth=auth)
    db.session.add(row)
    db.session.flush()
    return row


def unsubscribe_push(status_token: str, endpoint: object) -> bool:
    """Stop sending the chain's messages to ``endpoint``; False when it was not subscribed.

    Allowed whatever the ticket's status: turning notifications off always works.
    """
    if not status_token or len(status_token) > MAX_TOKEN_LENGTH:
        raise NotFound("No such ticket.")
    latest_ticket_for_token(status_token)  # NotFound for a token that names no ticket
    if not isinstance(endpoint, str) or not endpoint:
        raise ValidationFailed({"endpoint": "Give the push service's address (endpoint)."})
    result = db.session.execute(
        delete(PushSubscription).where(
            PushSubscription.status_token == status_token,
            PushSubscription.endpoint == endpoint,
        )
    )
    return bool(getattr(result, "rowcount", 0))


def subscriptions_for(status_token: str) -> list[PushSubscription]:
    """The chain's push subscriptions, oldest first."""
    return list(
        db.session.scalars(
            select(PushSubscription)
            .where(PushSubscription.status_token == status_token)
            .order_by(PushSubscription.created_at, PushSubscription.id)
        )
    )
