"""The words of the messages (templates/notifications/, webapp/notifications/messages.py)."""

from __future__ import annotations

from typing import Any

import pytest

from webapp.notifications.messages import KINDS, render_message, sms_segments, wait_phrase

LINK = "https://queue.example-hospital.org/t/" + "x" * 32
# Long but real values: the longest department name and room name seed-demo has, and more.
CONTEXT: dict[str, Any] = {
    "number": "GM-123",
    "previous_number": "RA-045",
    "department": "Physiotherapy & Rehab",
    "room": "Consulting Room 12",
    "ahead": 3,
    "wait": wait_phrase(12, 180),
    "url": LINK,
    "when": "Wed 30 Dec at 09:30",
    "hospital": "St Elsewhere General",
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_it_fits_each_message_in_one_sms_segment_except_those_with_a_link(app, kind):
    text = render_message(kind, "sms", **CONTEXT)

    assert text.endswith("Reply STOP to opt out.")
    assert "\n" not in text and "  " not in text
    assert sms_segments(text) <= (2 if kind in ("check_in", "transferred") else 1), text


def test_it_leaves_out_the_stop_line_for_push_and_where_the_gateway_has_no_stop(app):
    assert "STOP" not in render_message("called", "push", **CONTEXT)
    app.config["SMS_STOP_REPLIES"] = False
    assert "STOP" not in render_message("called", "sms", **CONTEXT)


def test_it_refuses_an_unknown_kind(app):
    with pytest.raises(ValueError, match="unknown message kind"):
        render_message("marketing", "sms", **CONTEXT)


def test_it_says_the_wait_in_plain_words():
    assert wait_phrase(0, 0) == "You are next"
    assert wait_phrase(None, None) == "You are next"
    assert wait_phrase(1, 15) == "About 15 min, 1 person ahead of you"
    assert wait_phrase(4, 60) == "About 60 min, 4 people ahead of you"


def test_it_counts_sms_segments_as_phones_do():
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("a" * 306) == 2 and sms_segments("a" * 307) == 3
    assert sms_segments("€" * 80) == 1  # an extension character counts twice
    assert sms_segments("ł" * 70) == 1 and sms_segments("ł" * 71) == 2  # outside GSM: UCS-2
