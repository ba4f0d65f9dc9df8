"""The words of every message, from the templates in ``templates/notifications/``.

Each kind of message has one template (``<kind>.txt``). Messages say where and
when, in plain words, and nothing clinical: no name, no reason for the visit.
An SMS stays within one segment (160 GSM-7 characters) where the facts allow;
the check-in confirmation carries the ticket page's link and may need two.
"""

from __future__ import annotations

import math
from typing import Any

from flask import current_app

# The kinds of message, with how staff see them named.
KINDS: dict[str, str] = {
    "check_in": "Check-in confirmation",
    "transferred": "Moved to another queue",
    "turn_near": "Your turn is near",
    "called": "Called to a room",
    "recalled": "Called again",
    "appointment_booked": "Appointment booked",
    "appointment_rescheduled": "Appointment moved",
    "appointment_cancelled": "Appointment cancelled",
    "appointment_reminder": "Appointment reminder",
}
# What a browser that allowed notifications on the ticket page also gets.
PUSH_KINDS = frozenset({"transferred", "turn_near", "called", "recalled"})

STOP_TEXT = "Reply STOP to opt out."

# The GSM 03.38 basic character set (plus the extension table's characters, which count
# twice). A message with any other character is sent as UCS-2, 70 characters a segment.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€")


def sms_segments(text: str) -> int:
    """How many SMS segments ``text`` takes (concatenated segments carry a 6- or 7-byte header)."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in text):
        length = sum(2 if char in _GSM_EXTENDED else 1 for char in text)
        single, multi = 160, 153
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if length <= single else math.ceil(length / multi)


def render_message(kind: str, channel: str, **context: Any) -> str:
    """The text of one message: the kind's template, on one line, with the STOP line for SMS."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    context.setdefault("hospital", current_app.config["HOSPITAL_NAME"])
    # The template alone, without the pages' context processors: a message may be written
    # outside any request (a periodic task), and needs nothing of the signed-in user.
    template = current_app.jinja_env.get_template(f"notifications/{kind}.txt")
    text = " ".join(template.render(**context).split())
    if channel == "sms" and current_app.config["SMS_STOP_REPLIES"]:
        text = f"{text} {STOP_TEXT}"
    return text


def wait_phrase(ahead: int | None, minutes: int | None) -> str:
    """The wait in words, as the ticket page says it: "You are next", "About 20 min, …"."""
    if not ahead:
        return "You are next"
    people = "1 person" if ahead == 1 else f"{ahead} people"
    if minutes is None:
        return f"{people} ahead of you"
    return f"About {minutes} min, {people} ahead of you"
