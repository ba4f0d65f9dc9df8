"""An SMS gateway reached over HTTP: Twilio's Messages API or any gateway like it.

One POST per message to ``SMS_GATEWAY_URL``, with either a form body as Twilio
takes (``To``, ``From``, ``Body``) or a JSON body (``{"to", "from", "body"}``),
authenticated with HTTP basic auth (Twilio's Account SID and Auth Token) or a
bearer token. The answer decides what the outbox does next:

- 2xx: sent; the gateway's message id is kept when its JSON answer has one.
- a timeout, a refused or broken connection, 408, 429, 5xx: try again later
  (429 and 503 say how long to wait in ``Retry-After``).
- a redirect or any other 4xx: trying again cannot help.

A read timeout is retried although the gateway may have accepted the message
before it went quiet: a rare duplicate SMS is better than a lost one.

Error texts end up on the notification row and the admin page, so they never
carry the phone number, the message body, the gateway's address (it may hold a
key) or the credentials.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC
from typing import Any

import requests
from requests.auth import AuthBase

from webapp.database import utcnow
from webapp.notifications.providers.base import (
    OutgoingMessage,
    PermanentSendError,
    RetryableSendError,
    Sent,
)

FORMATS = ("form", "json")
# The longest wait a gateway may ask for; a day covers any sane Retry-After.
MAX_RETRY_AFTER_SECONDS = 24 * 60 * 60
# How much of the gateway's own error message an error text quotes.
MAX_SNIPPET_CHARS = 200
# A gateway's answer is small; reading stops here so a wrong URL serving a large file
# cannot fill a worker's memory.
MAX_ANSWER_BYTES = 64 * 1024
# A body this long or longer that the gateway echoes is cut out of its error message
# (a shorter one would cut ordinary words).
MIN_ECHOED_BODY_CHARS = 12
# Fits Notification.provider_message_id.
MAX_MESSAGE_ID_CHARS = 128

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# A run of seven or more digits, single spaces/dots/dashes/brackets allowed between them:
# any phone number a gateway echoes, in whatever format it prints it.
_PHONE_LIKE = re.compile(r"[+(]?\d(?:[\s.()-]?\d){6,}")
_RETRY_AFTER_STATUSES = (429, 503)
_RETRYABLE_CLIENT_STATUSES = (408, 429)


class _BearerAuth(AuthBase):
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class HttpSmsGateway:
    """Sends SMS through an HTTP gateway (see the module docstring)."""

    name = "http"

    def __init__(
        self,
        url: str,
        *,
        body_format: str = "form",
        sender: str | None = None,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if body_format not in FORMATS:
            raise ValueError(f"SMS gateway format must be one of {', '.join(FORMATS)}")
        if token and (username or password):
            raise ValueError(
                "give the SMS gateway either a username and password or a token, not both"
            )
        if password and not username:
            raise ValueError("an SMS gateway password needs a username")
        if not timeout > 0:
            raise ValueError("the SMS gateway timeout must be more than 0 seconds")
        self.url = url
        self.body_format = body_format
        self.sender = sender
        self.timeout = timeout
        # An auth object, never a bare header: without one requests would let a ~/.netrc
        # entry for the gateway's host replace the token.
        self._auth: tuple[str, str] | _BearerAuth | None = None
        if username:
            self._auth = (username, password or "")
        elif token:
            self._auth = _BearerAuth(token)
        self._session = requests.Session()
        self._session.headers["Accept"] = "application/json"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HttpSmsGateway:
        """The gateway ``SMS_GATEWAY_*`` and ``SMS_SENDER`` describe (webapp/config.py)."""
        url = config.get("SMS_GATEWAY_URL")
        if not url:
            raise ValueError("SMS_GATEWAY_URL is not set")
        return cls(
            url,
            body_format=config.get("SMS_GATEWAY_FORMAT") or "form",
            sender=config.get("SMS_SENDER"),
            username=config.get("SMS_GATEWAY_USERNAME"),
            password=config.get("SMS_GATEWAY_PASSWORD"),
            token=config.get("SMS_GATEWAY_TOKEN"),
            timeout=float(config.get("SMS_GATEWAY_TIMEOUT") or 10.0),
        )

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def __repr__(self) -> str:  # no credentials
        return f"<HttpSmsGateway {self.body_format}>"

    def send(self, message: OutgoingMessage) -> Sent:
        """POST ``message`` to the gateway; raise a ``SendError`` subclass when that fails."""
        if not message.to:
            raise PermanentSendError("No phone number to send the SMS to")
        if not _E164.match(message.to):
            raise PermanentSendError("Phone number not in international (E.164) form")
        try:
            with self._post(message) as response:
                answer = _read_capped(response)
        except requests.Timeout:
            raise RetryableSendError(f"SMS gateway timed out after {self.timeout:g} s") from None
        except requests.ConnectionError:
            # Refused, reset, broken mid-answer, a proxy or TLS failure: the exception's own
            # text names the gateway's address, which is not copied onto the row.
            raise RetryableSendError(
                "SMS gateway unreachable: connection refused, reset or failed"
            ) from None
        except requests.exceptions.ChunkedEncodingError:
            raise RetryableSendError("SMS gateway's answer broke off") from None
        except requests.RequestException as error:
            raise PermanentSendError(
                f"SMS gateway request failed ({type(error).__name__}); check SMS_GATEWAY_URL"
            ) from None
        return _outcome(response.status_code, response.headers, answer, message)

    def _post(self, message: OutgoingMessage) -> requests.Response:
        fields = {"to": message.to, "from": self.sender, "body": message.body}
        payload = {key: value for key, value in fields.items() if value is not None}
        body: dict[str, Any]
        if self.body_format == "json":
            body = {"json": payload}
        else:
            body = {"data": {key.title(): value for key, value in payload.items()}}
        return self._session.post(
            self.url,
            **body,
            auth=self._auth,
            timeout=(self.timeout, self.timeout),
            allow_redirects=False,
            stream=True,
        )


def _read_capped(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(8192):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_ANSWER_BYTES:
            break
    return b"".join(chunks)[:MAX_ANSWER_BYTES]


def _outcome(
    status: int, headers: Mapping[str, str], answer: bytes, message: OutgoingMessage
) -> Sent:
    if 200 <= status < 300:
        return Sent(provider_message_id=_message_id(_json(answer)))
    if 300 <= status < 400:
        raise PermanentSendError(
            f"SMS gateway answered {status}, a redirect, which is not followed; "
            "check SMS_GATEWAY_URL"
        )
    if status >= 500 or status in _RETRYABLE_CLIENT_STATUSES:
        retry_after = (
            retry_after_seconds(headers.get("Retry-After"))
            if status in _RETRY_AFTER_STATUSES
            else None
        )
        text = f"SMS gateway answered {status}"
        if retry_after is not None:
            text += f" and asked to wait {retry_after:g} s"
        raise RetryableSendError(text, retry_after=retry_after)
    if 400 <= status < 500:
        detail = _error_detail(_json(answer), message)
        raise PermanentSendError(
            f"SMS gateway answered {status}" + (f": {detail}" if detail else "")
        )
    raise PermanentSendError(f"SMS gateway answered an unexpected {status}")


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header as seconds to wait: a number of seconds or an HTTP date.

    Never negative (a date in the past means now), at most a day; None when absent
    or unreadable.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000": the date is in UTC
            when = when.replace(tzinfo=UTC)
        # An HTTP date has whole seconds: round up, so the wait is never shorter than asked.
        seconds = float(math.ceil((when - utcnow()).total_seconds()))
    return min(max(seconds, 0.0), float(MAX_RETRY_AFTER_SECONDS))


def _json(answer: bytes) -> Any:
    try:
        return json.loads(answer)
    except ValueError:  # not JSON (UnicodeDecodeError is a ValueError too)
        return None


def _message_id(answer: Any) -> str | None:
    if not isinstance(answer, dict):
        return None
    for key in ("sid", "id", "message_id"):
        value = answer.get(key)
        if isinstance(value, bool) or not isinstance(value, str | int):
            continue
        text = str(value).strip()
        if text:
            return text[:MAX_MESSAGE_ID_CHARS]
    return None


def _error_detail(answer: Any, message: OutgoingMessage) -> str | None:
    """The gateway's own words about a refusal, without the number or the body we sent."""
    if not isinstance(answer, dict):
        return None
    text = None
    for key in ("message", "error"):
        value = answer.get(key)
        if isinstance(value, dict):  # {"error": {"message": "..."}}
            value = value.get("message")
        if isinstance(value, str) and value.strip():
            text = value
            break
    if text is None:
        return None
    code = answer.get("code")
    prefix = f"(code {code}) " if isinstance(code, int | str) and str(code).isalnum() else ""
    return prefix + _sanitised(text, message)


def _sanitised(text: str, message: OutgoingMessage) -> str:
    body = message.body.strip()
    if len(body) >= MIN_ECHOED_BODY_CHARS:
        text = text.replace(body, "[message]")
    if message.to:
        for form in (message.to, message.to.lstrip("+")):
            text = text.replace(form, "[number]")
    text = _PHONE_LIKE.sub("[number]", text)
    # One line of printable text: the snippet is shown in a table cell.
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if len(text) > MAX_SNIPPET_CHARS:
        text = text[: MAX_SNIPPET_CHARS - 1].rstrip() + "…"
    return text
