"""Staff accounts (webapp/auth/services.py)."""

from __future__ import annotations

import bcrypt
import pytest
from sqlalchemy import select

from tests.factories import DEFAULT_PASSWORD, UserFactory
from webapp.audit.models import AuditLog
from webapp.auth.services import (
    authenticate,
    create_user,
    find_user_by_username,
    hash_password,
    password_matches,
    update_user,
)
from webapp.domain_errors import Conflict, ValidationFailed
from webapp.extensions import db

GOOD = {
    "username": "jdoe",
    "full_name": "Jane Doe",
    "role": "clinician",
    "password": "a long password",
}


def _create(**changes):
    return create_user(**{**GOOD, **changes}, actor=None)


def _errors(**changes) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        _create(**changes)
    return caught.value.errors


# --------------------------------------------------------------------------- create_user


def test_it_creates_a_user_with_a_bcrypt_hash(app):
    user = _create(username="  jdoe ", full_name="  Jane Doe ")

    assert user.id is not None
    assert user.username == "jdoe"
    assert user.full_name == "Jane Doe"
    assert user.role == "clinician"
    assert user.active is True
    assert user.password_hash != GOOD["password"]
    assert bcrypt.checkpw(GOOD["password"].encode(), user.password_hash.encode())


def test_it_audits_a_created_user(app, admin):
    user = create_user(**GOOD, actor=admin)

    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.create"))
    assert entry.user_id == admin.id
    assert entry.entity_id == user.id
    assert entry.details == {"username": "jdoe", "role": "clinician"}
    assert "password" not in str(entry.details)


def test_it_refuses_a_short_password_mentioning_the_minimum(app):
    errors = _errors(password="123456789")

    assert set(errors) == {"password"}
    assert "10" in errors["password"]


def test_it_accepts_a_password_of_exactly_ten_characters(app):
    assert _create(password="0123456789").id is not None


def test_it_refuses_a_password_over_72_bytes(app):
    errors = _errors(password="é" * 37)  # 37 characters, 74 bytes

    assert "72" in errors["password"]


def test_it_accepts_a_password_of_exactly_72_bytes(app):
    assert _create(password="x" * 72).id is not None


@pytest.mark.parametrize("username", ["a", "", "   ", "jane doe", "-jane", "jane!", "j" * 65])
def test_it_refuses_a_bad_username(app, username):
    assert "username" in _errors(username=username)


def test_it_refuses_an_unknown_role(app):
    errors = _errors(role="doctor")

    assert "role" in errors
    assert "receptionist" in errors["role"]


@pytest.mark.parametrize("full_name", ["", "   "])
def test_it_refuses_an_empty_full_name(app, full_name):
    assert "full_name" in _errors(full_name=full_name)


def test_it_refuses_an_overlong_full_name(app):
    assert "full_name" in _errors(full_name="x" * 121)


def test_it_reports_every_problem_at_once(app):
    errors = _errors(username="!", full_name="", role="boss", password="short")

    assert set(errors) == {"username", "full_name", "role", "password"}


def test_it_refuses_a_username_taken_in_another_case(app):
    _create(username="JDoe")

    with pytest.raises(Conflict) as caught:
        _create(username="jdoe")

    assert caught.value.field == "username"
    assert "jdoe" in caught.value.message


def test_it_finds_a_user_whatever_the_case(app):
    user = _create(username="JDoe")

    assert find_user_by_username("jdoe") is user
    assert find_user_by_username("JDOE") is user


# --------------------------------------------------------------------------- update_user


def test_it_refuses_to_let_an_admin_deactivate_themselves(app, admin):
    UserFactory(role="admin")

    with pytest.raises(Conflict, match="your own account"):
        update_user(admin, actor=admin, active=False)

    assert admin.active is True


def test_it_refuses_to_let_an_admin_demote_themselves(app, admin):
    UserFactory(role="admin")

    with pytest.raises(Conflict) as caught:
        update_user(admin, actor=admin, role="clinician")

    assert caught.value.field == "role"
    assert admin.role == "admin"


def test_it_keeps_at_least_one_active_admin_on_deactivation(app, admin):
    with pytest.raises(Conflict, match="at least one active administrator"):
        update_user(admin, actor=None, active=False)

    assert admin.active is True


def test_it_keeps_at_least_one_active_admin_on_demotion(app, admin):
    UserFactory(role="admin", active=False)

    with pytest.raises(Conflict, match="at least one active administrator"):
        update_user(admin, actor=None, role="receptionist")

    assert admin.role == "admin"


def test_it_lets_an_admin_deactivate_another_admin(app, admin):
    other = UserFactory(role="admin")

    update_user(other, actor=admin, active=False)

    assert other.active is False


def test_it_bumps_auth_version_on_a_password_change(app, admin, receptionist):
    before = receptionist.auth_version

    update_user(receptionist, actor=admin, password="a new long password")

    assert receptionist.auth_version == before + 1
    assert password_matches("a new long password", receptionist.password_hash)
    assert not password_matches(DEFAULT_PASSWORD, receptionist.password_hash)


def test_it_bumps_auth_version_on_deactivation(app, admin, receptionist):
    before = receptionist.auth_version

    update_user(receptionist, actor=admin, active=False)

    assert receptionist.auth_version == before + 1


def test_it_keeps_auth_version_on_other_changes(app, admin, receptionist):
    before = receptionist.auth_version

    update_user(receptionist, actor=admin, full_name="Someone Else", role="clinician")

    assert receptionist.auth_version == before


def test_it_validates_a_new_password(app, admin, receptionist):
    with pytest.raises(ValidationFailed) as caught:
        update_user(receptionist, actor=admin, password="short")

    assert "10" in caught.value.errors["password"]


@pytest.mark.parametrize(
    ("changes", "action"),
    [
        ({"active": False}, "user.deactivate"),
        ({"password": "another long password"}, "user.password_reset"),
        ({"full_name": "New Name"}, "user.update"),
    ],
)
def test_it_audits_a_change(app, admin, receptionist, changes, action):
    update_user(receptionist, actor=admin, **changes)

    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == action))
    assert entry is not None
    assert entry.entity_id == receptionist.id
    assert "another long password" not in str(entry.details)


def test_it_audits_nothing_when_nothing_changes(app, admin, receptionist):
    update_user(receptionist, actor=admin, full_name=receptionist.full_name)

    assert db.session.scalar(select(AuditLog)) is None


# --------------------------------------------------------------------------- authenticate


def test_it_authenticates_an_active_user(app, receptionist):
    assert authenticate("rita", DEFAULT_PASSWORD) is receptionist
    assert receptionist.last_login_at is not None


def test_it_does_not_authenticate_an_inactive_user(app):
    user = UserFactory(username="gone", active=False)

    assert authenticate("gone", DEFAULT_PASSWORD) is None
    assert user.last_login_at is None


def test_it_does_not_authenticate_a_wrong_password_or_unknown_user(app, receptionist):
    assert authenticate("rita", "wrong password") is None
    assert authenticate("nobody", DEFAULT_PASSWORD) is None


def test_it_does_not_authenticate_a_password_over_72_bytes_sharing_its_prefix(app):
    user = UserFactory(username="longpw", password_hash=hash_password("p" * 72))

    assert authenticate("longpw", "p" * 72) is user
    assert authenticate("longpw", "p" * 73) is None


@pytest.mark.parametrize("app_config", [{"BCRYPT_ROUNDS": 6}])
@pytest.mark.parametrize(
    "password", ["a wrong password", "p" * 73], ids=["wrong password", "over 72 bytes"]
)
def test_it_does_as_much_hashing_for_an_unknown_username_as_for_a_known_one(
    app, receptionist, monkeypatch, password
):
    """Otherwise response times tell an attacker which usernames exist."""
    real_checkpw = bcrypt.checkpw
    costs: list[str] = []

    def recording_checkpw(candidate: bytes, hashed: bytes) -> bool:
        costs.append(hashed.decode()[:7])  # "$2b$06$": the cost factor
        return real_checkpw(candidate, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", recording_checkpw)

    assert authenticate("rita", password) is None
    known = list(costs)
    costs.clear()
    assert authenticate("nobody-by-that-name", password) is None
    unknown = list(costs)

    assert unknown == known
