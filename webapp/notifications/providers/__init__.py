"""The ways a message leaves the hospital, chosen by configuration.

SMS: ``SMS_PROVIDER=console`` (the default, prints each message) or ``http``
(an SMS gateway's HTTP API). Push: Web Push with the VAPID keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.notifications.providers.base import Provider
from webapp.notifications.providers.console import ConsoleProvider


def provider_for(channel: str, config: Mapping[str, Any]) -> Provider:
    """The provider that sends ``channel``'s messages under ``config``."""
    if channel == "push":
        from webapp.notifications.providers.webpush import WebPushProvider

        return WebPushProvider.from_config(config)
    if config["SMS_PROVIDER"] == "http":
        from webapp.notifications.providers.http_gateway import HttpSmsGateway

        return HttpSmsGateway.from_config(config)
    return ConsoleProvider()
