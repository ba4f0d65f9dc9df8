"""Web Push with VAPID: a notification on the phone that allowed it on its ticket page.

The browser's push subscription (its push service's ``endpoint`` and the keys
``p256dh`` and ``auth``) is stored per ticket chain
(:class:`~webapp.notifications.models.PushSubscription`). Sending encrypts a
small JSON payload ``{"title", "body", "url"}`` for that browser (RFC 8291,
``aes128gcm``) and POSTs it to the endpoint, signed with the hospital's VAPID
key (RFC 8292). The service worker (``static/js/push-worker.js``) shows it and
opens ``url`` when the patient taps it.

What the push service answers decides what the outbox does next:

- 2xx: sent.
- 404 or 410: the browser dropped the subscription (:class:`SubscriptionGone`;
  the outbox deletes it).
- a timeout, a refused connection, 429 or 5xx: try again later
  (``Retry-After`` honoured).
- a redirect or any other 4xx (a bad VAPID signature is a 401 or 403): trying
  again cannot help.

Keys: ``flask generate-vapid-keys`` prints a pair. ``VAPID_PRIVATE_KEY`` is
the raw 32-byte P-256 private key, base64url (a DER key in base64url or a PEM
key are accepted too); ``VAPID_PUBLIC_KEY`` is the uncompressed public point,
base64url without padding, the ``applicationServerKey`` browsers subscribe with.
``VAPID_SUBJECT`` is how a push service can reach whoever runs the server: when
unset it is ``mailto:admin@<the host of PUBLIC_BASE_URL>``, or
``mailto:admin@localhost`` without a usable host (set it for a real deployment:
some push services refuse ``localhost``).

Error texts end up on the notification row and the admin page: they never carry
the endpoint (a capability address) or the message.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid, VapidException  # type: ignore[import-untyped]
from pywebpush import WebPusher, WebPushException  # type: ignore[import-untyped]

from webapp.config import DEFAULT_PUSH_HOSTS
from webapp.database import utcnow
from webapp.notifications.providers.base import (
    OutgoingMessage,
    PermanentSendError,
    RetryableSendError,
    Sent,
    SubscriptionGone,
)
from webapp.notifications.providers.http_gateway import retry_after_seconds

# How long a push service keeps a message for a phone that is offline: a queue message
# an hour old is of no use any more.
DEFAULT_TTL_SECONDS = 60 * 60
# RFC 8292: the VAPID token may be valid for at most 24 hours.
VAPID_TOKEN_LIFETIME = timedelta(hours=12)
MAX_ENDPOINT_LENGTH = 1024
# Fits Notification.provider_message_id.
MAX_MESSAGE_ID_CHARS = 128
NOT_CONFIGURED = "Web Push is not configured (VAPID keys)"
DEFAULT_SUBJECT = "mailto:admin@localhost"

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
# A subscription's keys (RFC 8291): an uncompressed P-256 point and a 16-byte secret.
P256DH_BYTES = 65
AUTH_BYTES = 16
_LOOPBACK_NAMES = {"localhost"}


# ------------------------------------------------------------------ keys


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes | None:
    """base64url with or without padding; None for anything else."""
    if not _BASE64URL.match(text):
        return None
    stripped = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        return None


def public_key_of(private_key: ec.EllipticCurvePrivateKey) -> str:
    """The application server key browsers subscribe with: the uncompressed public point."""
    return _b64url(
        private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def generate_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair as ``(public, private)``, both base64url without padding.

    ``private`` is the raw 32-byte private value, which ``VAPID_PRIVATE_KEY`` takes.
    """
    private_key = ec.generate_private_key(ec.SECP256R1())
    raw = private_key.private_numbers().private_value.to_bytes(32, "big")
    return public_key_of(private_key), _b64url(raw)


def load_vapid_key(private_key: str) -> Any:
    """The signer for ``VAPID_PRIVATE_KEY`` (raw or DER in base64url, or PEM).

    Raises :class:`ValueError` for anything that is not a P-256 private key.
    """
    text = private_key.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError("not an elliptic-curve key")
            vapid = Vapid(key)
        else:
            vapid = Vapid.from_string(private_key=text)
    except (ValueError, TypeError, binascii.Error, VapidException) as error:
        raise ValueError(f"not a VAPID private key ({type(error).__name__})") from None
    if not isinstance(vapid.private_key.curve, ec.SECP256R1):
        raise ValueError("VAPID keys are P-256 (prime256v1) keys")
    return vapid


def vapid_key_problem(public_key: str | None, private_key: str | None) -> str | None:
    """What is wrong with a configured key pair, in plain words; None when it is usable."""
    if not public_key or not private_key:
        return NOT_CONFIGURED
    try:
        vapid = load_vapid_key(private_key)
    except ValueError:
        return "VAPID_PRIVATE_KEY is not a valid key (make a pair with flask generate-vapid-keys)"
    if public_key_of(vapid.private_key) != public_key.strip().rstrip("="):
        return "VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY"
    return None


def default_subject(public_base_url: str | None) -> str:
    """``mailto:admin@<host of PUBLIC_BASE_URL>``, or ``mailto:admin@localhost``.

    Only a host name with a dot makes an e-mail domain; an address such as
    ``http://10.0.0.5`` or ``http://queue`` falls back to localhost.
    """
    host = (urlsplit(public_base_url).hostname or "") if public_base_url else ""
    if "." in host and not _is_ip_address(host) and re.fullmatch(r"[A-Za-z0-9.-]+", host):
        return f"mailto:admin@{host}"
    return DEFAULT_SUBJECT


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------ subscriptions


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``host`` is one of ``patterns`` ("push.example.org", "*.example.org" or "*")."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


def endpoint_problem(
    endpoint: object,
    *,
    allow_loopback_http: bool,
    allowed_hosts: tuple[str, ...] = ("*",),
) -> str | None:
    """Why ``endpoint`` cannot be a push service's address; None when it can.

    Push services are reached over https, at one of ``allowed_hosts``: the worker
    posts to whatever address a browser handed in, so without the list a forged
    subscription could make it call a host inside the hospital. Plain http is
    allowed only to this machine (``allow_loopback_http``, outside production) so
    tests can run a fake push service.
    """
    if not isinstance(endpoint, str) or not endpoint.strip():
        return "Give the push service's address (endpoint)."
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        return f"The endpoint may be at most {MAX_ENDPOINT_LENGTH} characters."
    if any(ch.isspace() or not ch.isprintable() for ch in endpoint):
        return "The endpoint may not contain spaces or control characters."
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:
        return "The endpoint is not a valid web address."
    if not host or parts.username is not None or parts.password is not None:
        return "The endpoint must be a full https:// address with a host name."
    if allow_loopback_http and is_loopback(host) and parts.scheme in ("http", "https"):
        return None
    if parts.scheme != "https":
        return "The endpoint must be an https:// address."
    if not host_allowed(host, allowed_hosts):
        return "This push service is not one this hospital allows (WEBPUSH_ALLOWED_HOSTS)."
    return None


def key_problems(keys: object) -> dict[str, str]:
    """What is wrong with a subscription's ``keys`` (``p256dh``, ``auth``), by field."""
    if not isinstance(keys, Mapping):
        return {"keys": "Give the subscription's keys (p256dh and auth)."}
    problems = {}
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    raw = _b64url_decode(p256dh) if isinstance(p256dh, str) and len(p256dh) <= 100 else None
    if raw is None or len(raw) != P256DH_BYTES or not _is_p256_point(raw):
        problems["keys.p256dh"] = "p256dh must be the browser's P-256 public key in base64url."
    raw = _b64url_decode(auth) if isinstance(auth, str) and len(auth) <= 32 else None
    if raw is None or len(raw) != AUTH_BYTES:
        problems["keys.auth"] = "auth must be the browser's 16-byte secret in base64url."
    return problems


def _is_p256_point(raw: bytes) -> bool:
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return False
    return True


def normalised_key(text: str) -> str:
    """A key as base64url without padding (how browsers write them)."""
    return text.rstrip("=")


# ------------------------------------------------------------------ the provider


class _NoRedirectSession(requests.Session):
    """A session that follows no redirect and takes no credentials from ~/.netrc.

    A push service answers a POST itself; following a redirect would send the message
    somewhere nobody checked. requests consults ~/.netrc when a request has no auth,
    which would replace the VAPID Authorization header.
    """

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        kwargs.setdefault("auth", _keep_headers)
        return super().request(*args, **kwargs)


def _keep_headers(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


@dataclass
class WebPushProvider:
    """Sends push messages with pywebpush (see the module docstring)."""

    public_key: str | None
    private_key: str | None
    subject: str = DEFAULT_SUBJECT
    timeout: float = 10.0
    ttl: int = DEFAULT_TTL_SECONDS
    default_title: str = "Hospital Queue"
    allow_loopback_http: bool = False
    allowed_hosts: tuple[str, ...] = DEFAULT_PUSH_HOSTS
    name: str = "webpush"

    def __post_init__(self) -> None:
        self._signer: Any = None
        self._session = _NoRedirectSession()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WebPushProvider:
        """The provider ``VAPID_*`` and ``WEBPUSH_TIMEOUT`` describe (webapp/config.py)."""
        return cls(
            public_key=config.get("VAPID_PUBLIC_KEY"),
            private_key=config.get("VAPID_PRIVATE_KEY"),
            subject=config.get("VAPID_SUBJECT") or default_subject(config.get("PUBLIC_BASE_URL")),
            timeout=float(config.get("WEBPUSH_TIMEOUT") or 10.0),
            default_title=config.get("HOSPITAL_NAME") or "Hospital Queue",
            allow_loopback_http=config.get("APP_ENV") != "production",
            allowed_hosts=tuple(config.get("WEBPUSH_ALLOWED_HOSTS") or DEFAULT_PUSH_HOSTS),
        )

    def __repr__(self) -> str:  # no keys
        return f"<WebPushProvider {self.subject}>"

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def send(self, message: OutgoingMessage) -> Sent:
        """Encrypt ``message`` for its subscription and POST it to the push service."""
        signer = self._vapid()
        subscription = self._subscription(message)
        endpoint = subscription["endpoint"]
        parts = urlsplit(endpoint)
        claims = {
            "sub": self.subject,
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int((utcnow() + VAPID_TOKEN_LIFETIME).timestamp()),
        }
        try:
            headers = signer.sign(claims)
        except VapidException:
            raise PermanentSendError(
                "Could not sign for this push service; check VAPID_SUBJECT "
                "(mailto:someone@example.org or an https:// address)"
            ) from None
        # Queue messages matter now: ask the push service to wake the phone for them.
        headers["Urgency"] = "high"
        try:
            response = WebPusher(subscription, requests_session=self._session).send(
                self._payload(message),
                headers,
                ttl=self.ttl,
                content_encoding="aes128gcm",
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise RetryableSendError(f"Push service timed out after {self.timeout:g} s") from None
        except requests.ConnectionError:
            # The exception's text names the endpoint, which is not copied onto the row.
            raise RetryableSendError(
                "Push service unreachable: connection refused, reset or failed"
            ) from None
        except requests.RequestException as error:
            raise PermanentSendError(f"Push request failed ({type(error).__name__})") from None
        except (WebPushException, ValueError):
            # Keys that make no P-256 point (pywebpush, http_ece, cryptography); checked
            # before, so only a subscription that bypassed subscribe_push gets here.
            raise PermanentSendError("The push subscription's keys are invalid") from None
        return _outcome(response)

    def _vapid(self) -> Any:
        if self._signer is None:
            problem = vapid_key_problem(self.public_key, self.private_key)
            if problem is not None:
                raise PermanentSendError(problem)
            self._signer = load_vapid_key(self.private_key or "")
        return self._signer

    def _subscription(self, message: OutgoingMessage) -> dict[str, Any]:
        info = message.subscription
        if not isinstance(info, Mapping):
            raise PermanentSendError("The message has no push subscription")
        problem = endpoint_problem(
            info.get("endpoint"),
            allow_loopback_http=self.allow_loopback_http,
            allowed_hosts=self.allowed_hosts,
        )
        if problem is not None:
            raise PermanentSendError(f"The push subscription is unusable: {problem}")
        if key_problems(info.get("keys")):
            raise PermanentSendError("The push subscription's keys are invalid")
        keys = info["keys"]
        return {
            "endpoint": info["endpoint"],
            "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]},
        }

    def _payload(self, message: OutgoingMessage) -> str:
        payload: dict[str, str] = {
            "title": message.title or self.default_title,
            "body": message.body,
        }
        if message.url:
            payload["url"] = message.url
        return json.dumps(payload, ensure_ascii=False)


def _outcome(response: requests.Response) -> Sent:
    status = response.status_code
    if 200 <= status < 300:
        return Sent(provider_message_id=_message_id(response.headers.get("Location")))
    if status in (404, 410):
        raise SubscriptionGone(
            f"Push service answered {status}: the browser's subscription is gone"
        )
    if status == 429 or status >= 500:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        text = f"Push service answered {status}"
        if retry_after is not None:
            text += f" and asked to wait {retry_after:g} s"
        raise RetryableSendError(text, retry_after=retry_after)
    if 300 <= status < 400:
        raise PermanentSendError(
            f"Push service answered {status}, a redirect, which is not followed"
        )
    if status in (401, 403):
        raise PermanentSendError(
            f"Push service answered {status}: it refused the VAPID signature "
            "(check VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT)"
        )
    if status == 413:
        raise PermanentSendError("Push service answered 413: the message is too long")
    raise PermanentSendError(f"Push service answered {status}")


def _message_id(location: str | None) -> str | None:
    """The last part of the ``Location`` the push service gives the message, if any."""
    if not location:
        return None
    last = urlsplit(location).path.rstrip("/").rpartition("/")[2]
    return last[-MAX_MESSAGE_ID_CHARS:] or None
