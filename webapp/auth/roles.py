"""The role groups, defined once: every door and every rule book names these.

Admins are listed wherever they may act (as in API.md), not implied by a hierarchy.
"""

from __future__ import annotations

from webapp.auth.models import ROLES

RECEPTIONIST, CLINICIAN, ADMIN = "receptionist", "clinician", "admin"

STAFF: tuple[str, ...] = ROLES
"""Everyone signed in."""

FRONT_DESK: tuple[str, ...] = (RECEPTIONIST, ADMIN)
"""Who registers, books, checks in and overrides the queue."""

CLINICAL: tuple[str, ...] = (CLINICIAN, ADMIN)
"""Who calls patients to a room and serves them."""

ADMINS: tuple[str, ...] = (ADMIN,)
