"""The list envelope: ``{"items": [...], "total": N, "page": P, "per_page": K}``."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select

from webapp.api.schemas.common import PageQuery
from webapp.extensions import db

T = TypeVar("T")


def paginate(query: Select[tuple[T]], paging: PageQuery) -> tuple[list[T], dict[str, Any]]:
    """One page of ``query`` (already ordered) and the envelope's counters."""
    total = (
        db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    )
    items = list(
        db.session.scalars(query.offset((paging.page - 1) * paging.per_page).limit(paging.per_page))
    )
    return items, {"total": total, "page": paging.page, "per_page": paging.per_page}
