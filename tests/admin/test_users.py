"""The staff pages: create, edit, deactivate / reactivate, reset password."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.admin.helpers import can_sign_in, field_error, flashes, input_value, page_text
from tests.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, UserFactory
from webapp.auth.models import User
from webapp.auth.services import find_user_by_username, update_user
from webapp.domain_errors import Conflict
from webapp.extensions import db

NEW_PASSWORD = "a brand new password"


def _user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def _new_user_form(**overrides: str) -> dict[str, str]:
    data = {
        "username": "nadia",
        "full_name": "Nadia Nurse",
        "role": "clinician",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


@pytest.fixture
def staff_member(admin: User) -> User:
    user = UserFactory(username="sam", full_name="Sam Staff", role="receptionist")
    db.session.commit()
    return user


# ------------------------------------------------------------------ create


def test_it_creates_an_account_that_is_listed_and_can_sign_in(
    as_admin: FlaskClient, other_client: FlaskClient
) -> None:
    response = as_admin.post("/admin/users/new", data=_new_user_form())

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    listing = page_text(as_admin.get("/admin/users"))
    assert ">nadia</a>" in listing and "Nadia Nurse" in listing
    assert any("Account nadia created" in message for message in flashes(listing))
    user = find_user_by_username("nadia")
    assert user is not None and user.role == "clinician" and user.active
    assert can_sign_in(other_client, "nadia", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"password": "short", "confirm": "short"}, "password", "10 characters"),
        ({"confirm": "something else entirely"}, "confirm", "The two passwords differ."),
        ({"username": "RITA"}, "username", "“RITA” is already taken"),
        ({"username": "bad name!"}, "username", "letters, digits, dots, dashes or underscores"),
    ],
    ids=["short-password", "passwords-differ", "duplicate-username", "bad-username"],
)
def test_it_refuses_a_bad_new_account_showing_the_error_by_the_field_and_keeping_input(
    as_admin: FlaskClient,
    receptionist: User,
    overrides: dict[str, str],
    field: str,
    expected: str,
) -> None:
    before = _user_count()
    data = _new_user_form(**overrides)

    response = as_admin.post("/admin/users/new", data=data)

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    error = field_error(body, field)
    assert error is not None and expected in error
    assert input_value(body, "username") == data["username"]
    assert input_value(body, "full_name") == "Nadia Nurse"
    assert 'value="clinician" selected' in body or 'selected value="clinician"' in body
    assert _user_count() == before


def test_it_treats_usernames_case_insensitively_when_refusing_a_duplicate(
    as_admin: FlaskClient, staff_member: User
) -> None:
    response = as_admin.post("/admin/users/new", data=_new_user_form(username="SaM"))

    assert response.status_code == 422
    assert "“SaM” is already taken" in (
        field_error(response.get_data(as_text=True), "username") or ""
    )
    assert (
        db.session.scalar(
            select(func.count()).select_from(User).where(func.lower(User.username) == "sam")
        )
        == 1
    )


def test_it_never_shows_the_typed_password_again(as_admin: FlaskClient) -> None:
    response = as_admin.post(
        "/admin/users/new", data=_new_user_form(confirm="a different password 1")
    )

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert NEW_PASSWORD not in body
    assert input_value(body, "password") in (None, "")


# ------------------------------------------------------------------ edit


def test_it_changes_role_and_full_name(as_admin: FlaskClient, staff_member: User) -> None:
    response = as_admin.post(
        f"/admin/users/{staff_member.id}", data={"full_name": "Samira Staff", "role": "clinician"}
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert staff_member.full_name == "Samira Staff"
    assert staff_member.role == "clinician"
    assert "Samira Staff" in page_text(as_admin.get("/admin/users"))


def test_it_shows_the_current_values_on_the_edit_page(
    as_admin: FlaskClient, staff_member: User
) -> None:
    body = as_admin.get(f"/admin/users/{staff_member.id}").get_data(as_text=True)

    assert input_value(body, "full_name") == "Sam Staff"
    assert 'selected value="receptionist"' in body or 'value="receptionist" selected' in body


def test_it_keeps_the_typed_name_when_an_edit_is_refused(
    as_admin: FlaskClient, staff_member: User
) -> None:
    response = as_admin.post(
        f"/admin/users/{staff_member.id}", data={"full_name": "x" * 121, "role": "clinician"}
    )

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "120 characters" in (field_error(body, "full_name") or "")
    assert input_value(body, "full_name") == "x" * 121
    db.session.expire_all()
    assert staff_member.full_name == "Sam Staff" and staff_member.role == "receptionist"


# ------------------------------------------------------------- deactivate


def test_it_deactivates_an_account_and_signs_its_session_out(
    as_admin: FlaskClient, staff_member: User, other_client: FlaskClient
) -> None:
    sign_in(other_client, staff_member)
    assert other_client.get("/").status_code == 200

    response = as_admin.post(f"/admin/users/{staff_member.id}/deactivate")

    assert response.status_code == 302
    assert any("sam is deactivated" in m for m in flashes(page_text(as_admin.get("/admin/users"))))
    db.session.expire_all()
    assert staff_member.active is False
    next_request = other_client.get("/")
    assert next_request.status_code == 302
    assert next_request.headers["Location"].startswith("/login")
    assert not can_sign_in(other_client.application.test_client(), "sam")


def test_it_reactivates_an_account(
    as_admin: FlaskClient, staff_member: User, other_client: FlaskClient
) -> None:
    as_admin.post(f"/admin/users/{staff_member.id}/deactivate")
    assert not can_sign_in(other_client, "sam")

    response = as_admin.post(f"/admin/users/{staff_member.id}/reactivate")

    assert response.status_code == 302
    db.session.expire_all()
    assert staff_member.active is True
    assert can_sign_in(other_client, "sam")


def test_it_refuses_to_let_an_admin_deactivate_themselves(
    as_admin: FlaskClient, admin: User
) -> None:
    response = as_admin.post(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)

    assert response.status_code == 200
    assert "You cannot deactivate your own account." in " ".join(flashes(page_text(response)))
    db.session.expire_all()
    assert admin.active is True
    assert as_admin.get("/admin/users").status_code == 200  # still signed in


def test_it_refuses_to_demote_the_last_active_admin(as_admin: FlaskClient, admin: User) -> None:
    response = as_admin.post(
        f"/admin/users/{admin.id}", data={"full_name": admin.full_name, "role": "clinician"}
    )

    assert response.status_code == 422
    assert "administrator" in (field_error(response.get_data(as_text=True), "role") or "")
    db.session.expire_all()
    assert admin.role == "admin"


def test_it_refuses_to_demote_the_last_active_admin_even_without_an_acting_admin(
    admin: User,
) -> None:
    with pytest.raises(Conflict, match="at least one active administrator"):
        update_user(admin, actor=None, role="clinician")
    with pytest.raises(Conflict, match="at least one active administrator"):
        update_user(admin, actor=None, active=False)


def test_it_lets_an_admin_demote_another_admin_while_one_remains(
    as_admin: FlaskClient, admin: User
) -> None:
    second = UserFactory(username="bea", role="admin")
    db.session.commit()

    response = as_admin.post(
        f"/admin/users/{second.id}", data={"full_name": second.full_name, "role": "receptionist"}
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert second.role == "receptionist"


# --------------------------------------------------------- reset password


def test_it_resets_a_password_and_ends_the_users_sessions(
    as_admin: FlaskClient, staff_member: User, other_client: FlaskClient
) -> None:
    sign_in(other_client, staff_member)

    response = as_admin.post(
        f"/admin/users/{staff_member.id}/password",
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/users/{staff_member.id}"
    next_request = other_client.get("/")
    assert next_request.status_code == 302 and next_request.headers["Location"].startswith("/login")
    fresh = other_client.application.test_client()
    assert not can_sign_in(fresh, "sam", DEFAULT_PASSWORD)
    assert can_sign_in(fresh, "sam", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("password", "confirm", "field", "expected"),
    [
        ("short", "short", "password", "10 characters"),
        (NEW_PASSWORD, "not the same one", "confirm", "The two passwords differ."),
    ],
    ids=["short", "differ"],
)
def test_it_refuses_a_bad_new_password_and_keeps_the_old_one(
    as_admin: FlaskClient,
    staff_member: User,
    other_client: FlaskClient,
    password: str,
    confirm: str,
    field: str,
    expected: str,
) -> None:
    response = as_admin.post(
        f"/admin/users/{staff_member.id}/password", data={"password": password, "confirm": confirm}
    )

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert expected in (field_error(body, field) or "")
    assert input_value(body, "full_name") == "Sam Staff"  # the details form still shows the user
    assert can_sign_in(other_client, "sam", DEFAULT_PASSWORD)


def test_it_returns_404_for_an_unknown_user(as_admin: FlaskClient) -> None:
    assert as_admin.get("/admin/users/9999").status_code == 404
    assert as_admin.post("/admin/users/9999/deactivate").status_code == 404
