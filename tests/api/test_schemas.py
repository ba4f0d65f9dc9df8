"""The pydantic models of the API stay in step with the domain (webapp/api/schemas/)."""

from __future__ import annotations

from typing import get_args

from webapp.api.errors import CODES
from webapp.api.schemas.common import MAX_PER_PAGE, ErrorBody, PageQuery, Role
from webapp.auth.models import ROLES


def test_it_keeps_the_role_literal_equal_to_the_roles():
    assert get_args(Role) == ROLES


def test_it_declares_every_error_code_the_api_sends():
    declared = set(get_args(ErrorBody.model_fields["code"].annotation))

    assert set(CODES.values()) <= declared


def test_it_pages_fifty_by_default_and_two_hundred_at_most():
    paging = PageQuery()

    assert (paging.page, paging.per_page) == (1, 50)
    assert MAX_PER_PAGE == 200
