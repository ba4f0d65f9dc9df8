"""POST/GET /patients, GET/PATCH /patients/{id} (webapp/api/patients.py).

The rules are webapp/patients/services.py's; these tests check that each one
reaches an API caller with its field and message, and the API's own mapping
(null versus absent on PATCH, the likely-duplicate 409, the audit of a view).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from tests.api.conftest import API, detail_fields, error_of
from tests.factories import PatientFactory
from webapp.audit.models import AuditLog
from webapp.extensions import db
from webapp.patients.models import Patient

PATIENTS = f"{API}/patients"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
NEW_PATIENT: dict[str, Any] = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "date_of_birth": "1986-12-09",
}


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def patient(app):
    patient = PatientFactory(
        mrn="MRN-0001",
        first_name="Ada",
        last_name="Lovelace",
        date_of_birth=date(1990, 12, 10),
        phone="+12015550123",
        email="ada@example.org",
        sex="female",
        sms_opt_in=True,
    )
    db.session.commit()
    return patient


def create(client, headers, **fields: Any):
    return client.post(PATIENTS, json={**NEW_PATIENT, **fields}, headers=headers)


def details(response) -> dict[str, str]:
    return {detail["field"]: detail["message"] for detail in error_of(response)["details"]}


def audit_rows(action: str) -> list[AuditLog]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


# ------------------------------------------------------------------ access


def _calls(patient_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("post", PATIENTS, NEW_PATIENT),
        ("get", PATIENTS, None),
        ("get", f"{PATIENTS}/{patient_id}", None),
        ("patch", f"{PATIENTS}/{patient_id}", {"first_name": "Augusta"}),
    ]


CALL_IDS = ["create", "search", "view", "update"]


@pytest.mark.parametrize("call", range(4), ids=CALL_IDS)
def test_it_wants_a_token_for_every_patient_endpoint(client, patient, call):
    method, path, body = _calls(patient.id)[call]

    response = getattr(client, method)(path, json=body)

    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize("call", [0, 3], ids=["create", "update"])
def test_it_refuses_changes_to_clinicians(client, colin, patient, call):
    method, path, body = _calls(patient.id)[call]

    response = getattr(client, method)(path, json=body, headers=colin)

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    db.session.expire_all()
    assert db.session.scalar(select(Patient).where(Patient.last_name == "Hopper")) is None
    assert patient.first_name == "Ada"


def test_a_clinician_gets_403_not_422_for_an_invalid_body(client, colin):
    response = client.post(PATIENTS, json={"first_name": 5}, headers=colin)

    assert response.status_code == 403


@pytest.mark.parametrize("call", [1, 2], ids=["search", "view"])
def test_clinicians_may_search_and_view(client, colin, patient, call):
    method, path, body = _calls(patient.id)[call]

    assert getattr(client, method)(path, json=body, headers=colin).status_code == 200


@pytest.mark.parametrize("persona", ["rita", "ada"])
@pytest.mark.parametrize(("call", "status"), [(0, 201), (1, 200), (2, 200), (3, 200)], ids=CALL_IDS)
def test_receptionists_and_admins_use_every_patient_endpoint(
    client, request, patient, persona, call, status
):
    method, path, body = _calls(patient.id)[call]

    response = getattr(client, method)(path, json=body, headers=request.getfixturevalue(persona))

    assert response.status_code == status, response.get_json()


# ------------------------------------------------------------------ create


def test_it_registers_a_patient(client, rita, receptionist):
    response = create(
        client,
        rita,
        phone="(201) 555-0123",
        email="Grace@Example.org",
        sex="female",
        sms_opt_in=True,
        mrn="abc-123",
        notes="  Prefers mornings.  ",
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body == {
        "id": body["id"],
        "mrn": "ABC-123",
        "first_name": "Grace",
        "last_name": "Hopper",
        "date_of_birth": "1986-12-09",
        "phone": "+12015550123",
        "email": "Grace@example.org",
        "sex": "female",
        "sms_opt_in": True,
        "notes": "Prefers mornings.",
        "created_at": "2026-03-02T08:00:00+00:00",
        "updated_at": "2026-03-02T08:00:00+00:00",
    }
    stored = db.session.get(Patient, body["id"])
    assert stored is not None and stored.phone == "+12015550123"
    [row] = audit_rows("patient.create")
    assert row.user_id == receptionist.id and row.entity_id == body["id"]


def test_consent_to_sms_is_off_unless_given_and_an_mrn_is_generated(client, ada):
    body = create(client, ada).get_json()

    assert body["sms_opt_in"] is False
    assert body["mrn"].startswith("MRN") and len(body["mrn"]) == 11
    assert (body["phone"], body["email"], body["sex"]) == (None, None, None)


@pytest.mark.parametrize("field", ["first_name", "last_name", "date_of_birth"])
def test_names_and_birth_date_are_required(client, rita, field):
    body = {key: value for key, value in NEW_PATIENT.items() if key != field}

    response = client.post(PATIENTS, json=body, headers=rita)

    assert response.status_code == 422
    assert detail_fields(response) == [field]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"first_name": "   "}, "first_name", "Enter the patient's first name."),
        ({"last_name": ""}, "last_name", "Enter the patient's last name."),
        ({"last_name": "x" * 81}, "last_name", "Use at most 80 characters."),
        (
            {"date_of_birth": "2026-03-03"},
            "date_of_birth",
            "The date of birth cannot be in the future.",
        ),
        (
            {"date_of_birth": "1896-03-01"},
            "date_of_birth",
            "That is more than 130 years ago; check the year.",
        ),
        ({"phone": "555"}, "phone", "Enter a valid phone number"),
        ({"phone": "+1 201 555 012"}, "phone", "Enter a valid phone number"),
        ({"phone": "call me"}, "phone", "Enter a valid phone number"),
        ({"email": "not-an-address"}, "email", "Enter a valid email address"),
        ({"sex": "f"}, "sex", "Choose female, male, other or unknown."),
        ({"sms_opt_in": True}, "sms_opt_in", "SMS needs a phone number"),
        ({"mrn": "a!"}, "mrn", "Use 3–32 letters, digits or dashes"),
    ],
    ids=[
        "blank first name",
        "empty last name",
        "long name",
        "born tomorrow",
        "over 130",
        "short phone",
        "phone a digit short",
        "words for a phone",
        "email",
        "sex",
        "sms without phone",
        "mrn",
    ],
)
def test_it_reports_each_rule_on_its_field(client, rita, fields, field, message):
    response = create(client, rita, **fields)

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert list(details(response)) == [field]
    assert details(response)[field].startswith(message)
    assert db.session.scalar(select(Patient.id)) is None


def test_it_lists_every_bad_field_at_once_without_echoing_them(client, rita):
    response = create(client, rita, phone="12", email="secret@", sex="x", first_name=" ")

    assert response.status_code == 422
    assert set(detail_fields(response)) == {"first_name", "phone", "email", "sex"}
    assert "secret@" not in response.get_data(as_text=True)


def test_a_birth_date_exactly_130_years_ago_and_today_are_fine(client, rita):
    assert create(client, rita, date_of_birth="1896-03-02").status_code == 201
    response = create(client, rita, first_name="Baby", date_of_birth="2026-03-02")
    assert response.status_code == 201


@pytest.mark.parametrize("value", ["1986-13-01", "09/12/1986", "", 19861209])
def test_an_unreadable_date_is_422_on_the_field(client, rita, value):
    response = create(client, rita, date_of_birth=value)

    assert response.status_code == 422
    assert detail_fields(response) == ["date_of_birth"]


def test_the_advertised_phone_example_uses_the_region(client, rita):
    response = create(client, rita, phone="12")

    assert "(201) 555-0123" in details(response)["phone"]


def test_a_duplicate_mrn_is_a_conflict(client, rita, patient):
    response = create(client, rita, mrn="mrn-0001")

    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert details(response) == {"mrn": "MRN MRN-0001 belongs to another patient."}


def test_a_likely_duplicate_needs_allow_duplicate(client, rita, patient, receptionist):
    same_person = {"first_name": "ADA", "last_name": "lovelace", "date_of_birth": "1990-12-10"}

    refused = client.post(PATIENTS, json=same_person, headers=rita)

    assert refused.status_code == 409
    error = error_of(refused)
    assert error["code"] == "conflict"
    assert "MRN-0001" in error["message"] and "allow_duplicate" in error["message"]
    assert error["details"] == [
        {
            "field": "duplicate",
            "message": f"Possibly the same person as patient {patient.id} (MRN MRN-0001).",
        }
    ]
    assert db.session.scalar(select(Patient).where(Patient.id != patient.id)) is None

    accepted = client.post(PATIENTS, json={**same_person, "allow_duplicate": True}, headers=rita)

    assert accepted.status_code == 201
    assert accepted.get_json()["id"] != patient.id
    [row] = audit_rows("patient.create")
    assert row.details == {"duplicate_confirmed": True}


def test_the_same_phone_is_a_likely_duplicate_listing_every_candidate(client, rita, patient):
    other = PatientFactory(mrn="MRN-0002", phone="+12015550123")
    db.session.commit()

    response = create(client, rita, phone="201.555.0123")

    assert response.status_code == 409
    assert [d["message"] for d in error_of(response)["details"]] == [
        f"Possibly the same person as patient {patient.id} (MRN MRN-0001).",
        f"Possibly the same person as patient {other.id} (MRN MRN-0002).",
    ]


class TestInGreatBritain:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "DEFAULT_PHONE_REGION": "GB"}

    def test_a_national_number_is_read_in_the_region_and_stored_as_e164(self, client, rita):
        response = create(client, rita, phone="020 7946 0018")

        assert response.status_code == 201
        assert response.get_json()["phone"] == "+442079460018"

    def test_an_international_number_from_elsewhere_is_kept(self, client, rita):
        response = create(client, rita, phone="+1 (201) 555-0123")

        assert response.get_json()["phone"] == "+12015550123"

    def test_a_us_national_number_is_not_valid_in_gb(self, client, rita):
        response = create(client, rita, phone="(415) 555-0132")

        assert response.status_code == 422
        assert "e.g. 0121 234 5678" in details(response)["phone"]

    def test_a_patch_reads_national_numbers_in_the_region_too(self, client, rita, patient):
        response = client.patch(
            f"{PATIENTS}/{patient.id}", json={"phone": "020 7946 0018"}, headers=rita
        )

        assert response.get_json()["phone"] == "+442079460018"


# ------------------------------------------------------------------ search


@pytest.fixture
def people(app):
    made = {
        "ada": PatientFactory(
            mrn="MRN-0001", first_name="Ada", last_name="Lovelace", phone="+12015550123"
        ),
        "alan": PatientFactory(
            mrn="T000777", first_name="Alan", last_name="Turing", phone="+442079460018"
        ),
        "grace": PatientFactory(mrn="GH-1906", first_name="Grace", last_name="Hopper", phone=None),
    }
    db.session.commit()
    return made


def search(client, headers, q: str | None = None, **params: Any) -> dict[str, Any]:
    query = {"q": q, **params} if q is not None else params
    response = client.get(PATIENTS, query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def mrns(body: dict[str, Any]) -> list[str]:
    return [item["mrn"] for item in body["items"]]


def test_without_q_it_lists_everyone_by_name_in_the_envelope(client, colin, people):
    body = search(client, colin)

    assert set(body) == {"items", "total", "page", "per_page"}
    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 50)
    assert mrns(body) == ["GH-1906", "MRN-0001", "T000777"]  # Hopper, Lovelace, Turing
    assert set(body["items"][0]) >= {"id", "mrn", "first_name", "date_of_birth", "sms_opt_in"}


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("love", ["MRN-0001"]),
        ("ADA LOVE", ["MRN-0001"]),
        ("lovelace ada", ["MRN-0001"]),
        ("gra", ["GH-1906"]),
        ("a", ["GH-1906", "MRN-0001", "T000777"]),
        ("gh-19", ["GH-1906"]),
        ("t000777", ["T000777"]),
        ("(201) 555-01", ["MRN-0001"]),
        ("201.555.0123", ["MRN-0001"]),
        ("+1 201 555 0123", ["MRN-0001"]),
        ("2015550", ["MRN-0001"]),
        ("020 7946", ["T000777"]),
        ("7946 0018", ["T000777"]),
        ("nobody", []),
        ("50%", []),
    ],
)
def test_q_finds_patients_by_name_mrn_or_phone_in_any_format(client, rita, people, q, found):
    body = search(client, rita, q)

    assert mrns(body) == found
    assert body["total"] == len(found)


def test_it_pages_search_results(client, rita, people):
    body = search(client, rita, "", page=2, per_page=2)

    assert mrns(body) == ["T000777"]
    assert (body["total"], body["page"], body["per_page"]) == (3, 2, 2)


@pytest.mark.parametrize("params", [{"page": 0}, {"per_page": 0}, {"per_page": 201}])
def test_bad_paging_is_422(client, rita, params):
    response = client.get(PATIENTS, query_string=params, headers=rita)

    assert response.status_code == 422
    assert detail_fields(response) == [next(iter(params))]


def test_a_search_is_not_audited(client, rita, people):
    search(client, rita, "love")

    assert audit_rows("patient.view") == []


# ------------------------------------------------------------------- view


def test_it_shows_a_patient_and_audits_the_view(client, colin, clinician, patient):
    response = client.get(f"{PATIENTS}/{patient.id}", headers=colin)

    assert response.status_code == 200
    body = response.get_json()
    assert {key: body[key] for key in NEW_PATIENT | {"id": 0, "mrn": 0, "phone": 0}} == {
        "id": patient.id,
        "mrn": "MRN-0001",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_of_birth": "1990-12-10",
        "phone": "+12015550123",
    }
    assert (body["email"], body["sex"], body["sms_opt_in"]) == ("ada@example.org", "female", True)
    [row] = audit_rows("patient.view")
    assert (row.user_id, row.entity_type, row.entity_id) == (clinician.id, "patient", patient.id)


@pytest.mark.parametrize("patient_id", [999, 2**31, 10**20])
def test_an_unknown_patient_is_404(client, rita, patient_id):
    response = client.get(f"{PATIENTS}/{patient_id}", headers=rita)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert audit_rows("patient.view") == []


# ------------------------------------------------------------------ update


def patch(client, headers, patient_id: int, **fields: Any):
    return client.patch(f"{PATIENTS}/{patient_id}", json=fields, headers=headers)


def test_it_changes_only_the_fields_sent_and_audits_their_names(
    client, rita, receptionist, patient
):
    response = patch(client, rita, patient.id, first_name="  Augusta  Ada ", mrn="mrn-0009")

    assert response.status_code == 200
    body = response.get_json()
    assert (body["first_name"], body["mrn"]) == ("Augusta Ada", "MRN-0009")
    assert (body["last_name"], body["phone"], body["email"], body["sex"]) == (
        "Lovelace",
        "+12015550123",
        "ada@example.org",
        "female",
    )
    [row] = audit_rows("patient.update")
    assert row.user_id == receptionist.id and row.entity_id == patient.id
    assert row.details == {"fields": ["first_name", "mrn"]}
    assert "Augusta" not in row.summary  # names of fields, never their values


def test_null_clears_phone_email_sex_and_notes(client, ada, patient):
    response = patch(
        client, ada, patient.id, phone=None, email=None, sex=None, notes=None, sms_opt_in=False
    )

    assert response.status_code == 200
    body = response.get_json()
    assert (body["phone"], body["email"], body["sex"], body["notes"]) == (None, None, None, "")
    assert body["sms_opt_in"] is False
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).phone is None


def test_clearing_the_phone_of_a_patient_who_wants_sms_is_refused(client, rita, patient):
    response = patch(client, rita, patient.id, phone=None)

    assert response.status_code == 422
    assert details(response) == {"sms_opt_in": "SMS needs a phone number: add one or untick SMS."}
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).phone == "+12015550123"


@pytest.mark.parametrize("field", ["first_name", "last_name", "date_of_birth", "mrn", "sms_opt_in"])
def test_fields_that_cannot_be_cleared_refuse_null(client, rita, patient, field):
    response = patch(client, rita, patient.id, **{field: None})

    assert response.status_code == 422
    assert details(response) == {
        field: "This field cannot be null; leave it out to keep its value."
    }


def test_an_empty_patch_changes_nothing_and_is_not_audited(client, rita, patient):
    response = patch(client, rita, patient.id)

    assert response.status_code == 200
    assert response.get_json()["first_name"] == "Ada"
    assert audit_rows("patient.update") == []


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"first_name": " "}, "first_name", "Enter the patient's first name."),
        ({"date_of_birth": "2027-01-01"}, "date_of_birth", "The date of birth cannot be"),
        ({"date_of_birth": "1800-01-01"}, "date_of_birth", "That is more than 130 years"),
        ({"phone": "12345"}, "phone", "Enter a valid phone number"),
        ({"email": "ada@"}, "email", "Enter a valid email address"),
        ({"sex": "woman"}, "sex", "Choose female, male, other or unknown."),
        ({"mrn": ""}, "mrn", "A patient always has an MRN; enter one."),
        ({"mrn": "a b"}, "mrn", "Use 3–32 letters, digits or dashes"),
    ],
)
def test_a_patch_follows_the_same_rules(client, rita, patient, fields, field, message):
    response = patch(client, rita, patient.id, **fields)

    assert response.status_code == 422
    assert details(response)[field].startswith(message)
    assert audit_rows("patient.update") == []


def test_a_patch_stores_national_numbers_as_e164(client, rita, patient):
    response = patch(client, rita, patient.id, phone="415 555 0132")

    assert response.get_json()["phone"] == "+14155550132"


def test_a_patch_to_another_patients_mrn_is_a_conflict(client, rita, patient):
    other = PatientFactory(mrn="MRN-0002")
    db.session.commit()

    response = patch(client, rita, other.id, mrn="MRN-0001")

    assert response.status_code == 409
    assert detail_fields(response) == ["mrn"]


def test_patching_an_unknown_patient_is_404(client, rita):
    assert patch(client, rita, 999, first_name="X").status_code == 404
