"""Helpers for Web Push tests: a browser's subscription with real keys, and reading what a fake
push service (pytest-httpserver's ``httpserver`` on loopback) received as the browser would."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from pytest_httpserver import HTTPServer
from werkzeug import Request

from webapp.notifications.providers.webpush import generate_vapid_keys

PUSH_PATH = "/push/v1/subscription-0001"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class FakeBrowser:
    """What a browser keeps for one push subscription: its key pair and its auth secret."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def subscription(self) -> dict[str, Any]:
        """The subscription as ``PushSubscription.toJSON()`` gives it."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}

    def decrypt(self, request: Request) -> dict[str, Any]:
        """The payload of a push request, decrypted as the browser would (RFC 8291)."""
        plain = http_ece.decrypt(
            request.get_data(),
            private_key=self.private_key,
            auth_secret=self.auth_secret,
            version="aes128gcm",
        )
        payload: dict[str, Any] = json.loads(plain)
        return payload


@dataclass(frozen=True)
class VapidPair:
    public: str
    private: str

    def config(self, **extra: Any) -> dict[str, Any]:
        return {"VAPID_PUBLIC_KEY": self.public, "VAPID_PRIVATE_KEY": self.private, **extra}


def vapid_pair() -> VapidPair:
    public, private = generate_vapid_keys()
    return VapidPair(public=public, private=private)


def push_requests(server: HTTPServer, path: str = PUSH_PATH) -> list[Request]:
    """The requests the fake push service received at ``path``, oldest first."""
    return [request for request, _response in server.log if request.path == path]


def vapid_claims(request: Request, public_key: str) -> dict[str, Any]:
    """The claims of the request's ``Authorization: vapid t=…, k=…``, after checking that
    ``k`` is ``public_key`` and ``t`` is signed with its private key (as a push service does)."""
    scheme, _, parameters = request.headers["Authorization"].partition(" ")
    assert scheme == "vapid"
    parts = dict(part.strip().split("=", 1) for part in parameters.split(","))
    assert parts["k"] == public_key
    assert Vapid.verify(request.headers["Authorization"]), "VAPID signature does not verify"
    claims: dict[str, Any] = jwt.decode(parts["t"], options={"verify_signature": False})
    return claims
