"""The default SMS provider: print each message on the server's standard output.

For a trial run (``make run`` shows every message as it would go) and for a
hospital that has no SMS gateway yet. It writes to stdout directly, not to the
log, and shows only the last digits of the phone number.
"""

from __future__ import annotations

import sys
from typing import TextIO

from webapp.notifications.providers.base import OutgoingMessage, PermanentSendError, Sent


def masked_phone(number: str | None) -> str:
    """``+14155550123`` → ``+1…0123``: enough to tell two phones apart, not to call one."""
    if not number:
        return "(no number)"
    return f"{number[:2]}…{number[-4:]}"


class ConsoleProvider:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, message: OutgoingMessage) -> Sent:
        if not message.to:
            raise PermanentSendError("No phone number to send to.")
        stream = self.stream or sys.stdout
        stream.write(
            f"[SMS #{message.notification_id} to {masked_phone(message.to)}] {message.body}\n"
        )
        stream.flush()
        return Sent(provider_message_id=f"console-{message.notification_id}")
