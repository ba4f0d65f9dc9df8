"""Absolute links and the ``Host`` header.

Every absolute link the app hands out (a ticket's ``status_url``, the QR code
on a printed ticket) is built by :func:`public_url_for`. With
``PUBLIC_BASE_URL`` set the link is that address plus the page's path, whatever
``Host`` the request carried. Without it the request's own host is used, and
:func:`refuse_untrusted_host` has already made sure that host is a loopback
name: a forged ``Host`` never ends up in a link (a "host header injection"
would otherwise put an attacker's address on a patient's ticket).

Accepted ``Host`` values (docs/configuration.md):

- ``PUBLIC_BASE_URL`` unset: loopback names only (``localhost``,
  ``127.0.0.0/8``, ``[::1]``), any port.
- ``PUBLIC_BASE_URL`` set: its host name (any port) and the loopback names.
- ``/healthz`` and ``/readyz`` answer under any host: a load balancer probes
  them by the server's own address, and they build no link.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request, url_for

# Probes a load balancer calls by the server's address; they build no link.
HOST_CHECK_EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})


class NoPublicAddress(RuntimeError):
    """An absolute link was needed where no trusted address is known."""


def public_url_for(endpoint: str, **values: Any) -> str:
    """The absolute address of ``endpoint``, from PUBLIC_BASE_URL or a trusted request host.

    Works without a request when PUBLIC_BASE_URL is set (background tasks, the
    CLI). Keeps a path prefix of PUBLIC_BASE_URL (``https://example.org/queue``
    gives ``https://example.org/queue/t/<token>``).
    """
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        parts = urlsplit(base)
        adapter = current_app.url_map.bind(
            parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
        )
        return adapter.build(endpoint, values, force_external=True)
    if not has_request_context():
        raise NoPublicAddress("Set PUBLIC_BASE_URL to build links outside a request.")
    if not is_loopback_host(request.host):
        # refuse_untrusted_host answers such requests with 400 first; this is the backstop.
        raise NoPublicAddress(f"Refusing to build a link for the untrusted host {request.host!r}.")
    return url_for(endpoint, _external=True, **values)


def host_name(host: str) -> str:
    """``host`` without its port and brackets, lower-cased (``[::1]:5000`` → ``::1``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def is_loopback_host(host: str) -> bool:
    """``localhost``, an address in 127.0.0.0/8 or ``[::1]``, with any port."""
    name = host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_trusted_host(host: str) -> bool:
    if is_loopback_host(host):
        return True
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return False
    public = urlsplit(base).hostname or ""
    return host_name(host) == public.lower()


def untrusted_host() -> bool:
    """Whether this request's ``Host`` (after ProxyFix, if configured) may not be served."""
    if request.path in HOST_CHECK_EXEMPT_PATHS:
        return False
    return not is_trusted_host(request.host)
