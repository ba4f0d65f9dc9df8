"""Request and response examples of every /api/v1 operation, for the OpenAPI document.

``webapp.api.document`` places them in each operation's media types; tests/api/test_docs.py
checks that every operation has them and that each one is valid against its schema. They are
illustrations of one small hospital's morning, not data the app holds.
"""

from __future__ import annotations

from typing import Any

AT = "2026-11-24T09:30:00+00:00"
EARLIER = "2026-11-24T09:12:00+00:00"
CREATED = "2026-03-02T08:00:00+00:00"

USER: dict[str, Any] = {
    "id": 7,
    "username": "jsmith",
    "full_name": "Jo Smith",
    "role": "receptionist",
    "active": True,
    "created_at": CREATED,
    "last_login_at": AT,
}
SERVICE_POINT: dict[str, Any] = {"id": 12, "name": "Room 3", "active": True, "department_id": 3}
DEPARTMENT: dict[str, Any] = {
    "id": 3,
    "code": "CARD",
    "name": "Cardiology",
    "accepts_walk_ins": True,
    "default_service_minutes": 15,
    "opening_hours": {
        "mon": [["08:00", "12:30"], ["13:30", "17:00"]],
        "tue": [["08:00", "17:00"]],
    },
    "active": True,
    "wait_targets": {"emergency": 0, "urgent": 15, "priority": 30, "routine": 60},
    "service_points": [{"id": 12, "name": "Room 3", "active": True}],
}
PATIENT: dict[str, Any] = {
    "id": 42,
    "mrn": "MRN-004217",
    "first_name": "Amira",
    "last_name": "Haddad",
    "date_of_birth": "1984-05-17",
    "sex": "female",
    "phone": "+441632960123",
    "email": "amira.haddad@example.org",
    "sms_opt_in": True,
    "notes": "",
    "created_at": CREATED,
    "updated_at": AT,
}
APPOINTMENT: dict[str, Any] = {
    "id": 77,
    "patient_id": 42,
    "department_id": 3,
    "clinician_id": 9,
    "starts_at": "2026-11-24T10:00:00+00:00",
    "ends_at": "2026-11-24T10:20:00+00:00",
    "duration_minutes": 20,
    "status": "booked",
    "reason": "Follow-up after echocardiogram",
    "cancel_reason": None,
    "reference": "K7M2QX",
    "created_at": CREATED,
}
TICKET: dict[str, Any] = {
    "id": 501,
    "number": "CARD-014",
    "status": "waiting",
    "priority": "routine",
    "patient_id": 42,
    "department_id": 3,
    "appointment_id": 77,
    "service_point_id": None,
    "clinician_id": None,
    "position": 3,
    "estimated_wait_minutes": 18,
    "target_minutes": 60,
    "target_state": "ok",
    "late": False,
    "checked_in_at": EARLIER,
    "called_at": None,
    "started_at": None,
    "ended_at": None,
    "transferred_from": None,
    "status_url": "https://queue.hospital.example/t/Xk3v9QpL2mZ8",
}
CALLED_TICKET: dict[str, Any] = {
    **TICKET,
    "status": "called",
    "service_point_id": 12,
    "clinician_id": 9,
    "position": None,
    "estimated_wait_minutes": None,
    "target_minutes": None,
    "target_state": None,
    "called_at": AT,
}
WITHIN_TARGET: dict[str, Any] = {
    "called": 10,
    "within_target": 9,
    "target_minutes": 60,
    "share": 0.9,
}
METRICS: dict[str, Any] = {
    "tickets_issued": 46,
    "walk_ins": 12,
    "appointments": 38,
    "served": 41,
    "no_shows": 2,
    "cancelled": 1,
    "transferred": 2,
    "mean_wait_minutes": 14.2,
    "median_wait_minutes": 12.0,
    "p90_wait_minutes": 31.5,
    "mean_service_minutes": 16.8,
    "estimate_mean_abs_error_minutes": 4.1,
    "arrivals_by_hour": [0] * 8 + [9, 11, 8, 6, 3, 5, 3, 1] + [0] * 8,
    "called_within_target": {
        "emergency": {"called": 1, "within_target": 1, "target_minutes": 0, "share": 1.0},
        "urgent": {"called": 4, "within_target": 4, "target_minutes": 15, "share": 1.0},
        "priority": {"called": 0, "within_target": 0, "target_minutes": 30, "share": None},
        "routine": {**WITHIN_TARGET, "called": 38, "within_target": 35, "share": 0.921},
    },
    "served_by_clinician": [{"clinician_id": 9, "name": "Dr Lee", "served": 41}],
}
HISTORY_ENTRY: dict[str, Any] = {
    "id": 9001,
    "at": AT,
    "action": "call",
    "from_status": "waiting",
    "to_status": "called",
    "service_point_id": 12,
    "user_id": 9,
    "username": "dlee",
    "reason": None,
}


def page(*items: dict[str, Any], total: int | None = None) -> dict[str, Any]:
    return {
        "items": list(items),
        "total": len(items) if total is None else total,
        "page": 1,
        "per_page": 50,
    }


# (method, path under /api/v1) -> the request body example (None: no body) and one response
# example per success status that has a body.
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/auth/login"): {
        "request": {"username": "jsmith", "password": "correct horse battery"},
        "responses": {
            "200": {
                "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3In0.c2lnbmF0dXJl",
                "refresh_token": "rt_9c1f0b7e4d2a4c58a1e3f6b2d8e0c7a5",
                "token_type": "bearer",
                "expires_in": 900,
            }
        },
    },
    ("post", "/auth/refresh"): {
        "request": {"refresh_token": "rt_9c1f0b7e4d2a4c58a1e3f6b2d8e0c7a5"},
        "responses": {
            "200": {
                "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3In1.bmV3c2lnbmF0dXJl",
                "refresh_token": "rt_2b8e5d1c9f0a4e7b8c3d6a1f0e9b7c42",
                "token_type": "bearer",
                "expires_in": 900,
            }
        },
    },
    ("get", "/me"): {
        "responses": {
            "200": {"id": 7, "username": "jsmith", "full_name": "Jo Smith", "role": "receptionist"}
        }
    },
    ("post", "/users"): {
        "request": {
            "username": "jsmith",
            "full_name": "Jo Smith",
            "role": "receptionist",
            "password": "a long passphrase",
        },
        "responses": {"201": {**USER, "last_login_at": None}},
    },
    ("get", "/users"): {"responses": {"200": page(USER)}},
    ("patch", "/users/{id}"): {
        "request": {"role": "clinician", "active": True},
        "responses": {"200": {**USER, "role": "clinician"}},
    },
    ("post", "/departments"): {
        "request": {
            "code": "CARD",
            "name": "Cardiology",
            "accepts_walk_ins": True,
            "default_service_minutes": 15,
            "opening_hours": {
                "mon": [["08:00", "12:30"], ["13:30", "17:00"]],
                "tue": [["08:00", "17:00"]],
            },
        },
        "responses": {"201": {**DEPARTMENT, "service_points": []}},
    },
    ("get", "/departments"): {"responses": {"200": [DEPARTMENT]}},
    ("patch", "/departments/{id}"): {
        "request": {"default_service_minutes": 20, "wait_targets": {"routine": 45}},
        "responses": {
            "200": {
                **DEPARTMENT,
                "default_service_minutes": 20,
                "wait_targets": {**DEPARTMENT["wait_targets"], "routine": 45},
            }
        },
    },
    ("post", "/departments/{id}/service-points"): {
        "request": {"name": "Room 3"},
        "responses": {"201": SERVICE_POINT},
    },
    ("post", "/patients"): {
        "request": {
            "first_name": "Amira",
            "last_name": "Haddad",
            "date_of_birth": "1984-05-17",
            "sex": "female",
            "phone": "07700 900123",
            "sms_opt_in": True,
        },
        "responses": {"201": PATIENT},
    },
    ("get", "/patients"): {"responses": {"200": page(PATIENT)}},
    ("get", "/patients/{id}"): {"responses": {"200": PATIENT}},
    ("patch", "/patients/{id}"): {
        "request": {"phone": "+441632960999", "email": None},
        "responses": {"200": {**PATIENT, "phone": "+441632960999", "email": None}},
    },
    ("post", "/appointments"): {
        "request": {
            "patient_id": 42,
            "department_id": 3,
            "clinician_id": 9,
            "starts_at": "2026-11-24T10:00:00+00:00",
            "duration_minutes": 20,
            "reason": "Follow-up after echocardiogram",
        },
        "responses": {"201": APPOINTMENT},
    },
    ("get", "/appointments"): {"responses": {"200": page(APPOINTMENT)}},
    ("get", "/appointments/{id}"): {"responses": {"200": APPOINTMENT}},
    ("patch", "/appointments/{id}"): {
        "request": {"starts_at": "2026-11-24T11:00:00+00:00"},
        "responses": {
            "200": {
                **APPOINTMENT,
                "starts_at": "2026-11-24T11:00:00+00:00",
                "ends_at": "2026-11-24T11:20:00+00:00",
            }
        },
    },
    ("delete", "/appointments/{id}"): {"responses": {}},
    ("post", "/queue/check-in"): {
        "request": {"appointment_id": 77},
        "responses": {"201": {**TICKET, "matched_booking": False}},
    },
    ("get", "/queue/current"): {
        "responses": {
            "200": {
                "department_id": 3,
                "waiting": [TICKET],
                "called": [
                    {
                        **CALLED_TICKET,
                        "id": 498,
                        "number": "CARD-011",
                        "patient_id": 40,
                        "appointment_id": None,
                    }
                ],
                "in_service": [],
                "generated_at": AT,
                "typical_visit_minutes": 16.0,
                "mean_service_minutes": 16.0,
                "active_service_points": 2,
            }
        }
    },
    ("get", "/queue/{id}"): {"responses": {"200": TICKET}},
    ("post", "/queue/call-next"): {
        "request": {"service_point_id": 12},
        "responses": {"200": CALLED_TICKET},
    },
    ("patch", "/queue/{id}/status"): {
        "request": {"status": "in_service"},
        "responses": {
            "200": {
                **CALLED_TICKET,
                "status": "in_service",
                "started_at": "2026-11-24T09:32:00+00:00",
            }
        },
    },
    ("post", "/queue/override"): {
        "request": {
            "action": "set_priority",
            "ticket_id": 501,
            "priority": "urgent",
            "reason": "Chest pain reported at the desk",
        },
        "responses": {
            "200": {
                **TICKET,
                "priority": "urgent",
                "position": 1,
                "estimated_wait_minutes": 4,
                "target_minutes": 15,
            }
        },
    },
    ("get", "/queue/{id}/history"): {
        "responses": {
            "200": page(
                {
                    **HISTORY_ENTRY,
                    "id": 8990,
                    "at": EARLIER,
                    "action": "check_in",
                    "from_status": None,
                    "to_status": "waiting",
                    "service_point_id": None,
                    "user_id": 7,
                    "username": "jsmith",
                },
                HISTORY_ENTRY,
            )
        }
    },
    ("get", "/audit"): {
        "responses": {
            "200": page(
                {
                    "id": "audit-3120",
                    "at": AT,
                    "user_id": 7,
                    "username": "jsmith",
                    "action": "patient.view",
                    "entity_type": "patient",
                    "entity_id": 42,
                    "summary": "Viewed patient MRN-004217",
                    "ip": "10.0.4.21",
                },
                {
                    "id": "queue-9001",
                    "at": AT,
                    "user_id": 9,
                    "username": "dlee",
                    "action": "call",
                    "entity_type": "ticket",
                    "entity_id": 501,
                    "summary": "CARD-014 called to Room 3",
                    "ip": None,
                },
            )
        }
    },
    ("get", "/notifications"): {
        "responses": {
            "200": page(
                {
                    "id": 330,
                    "channel": "sms",
                    "status": "failed",
                    "ticket_id": 501,
                    "appointment_id": None,
                    "attempts": 5,
                    "created_at": AT,
                    "sent_at": None,
                    "last_error": "Provider answered 503",
                }
            )
        }
    },
    ("post", "/notifications/resend"): {
        "request": {"ids": [330, 331]},
        "responses": {"202": {"queued": 2}},
    },
    ("get", "/analytics/daily"): {
        "responses": {
            "200": {
                "date": "2026-11-23",
                "totals": METRICS,
                "departments": [{**METRICS, "department_id": 3}],
            }
        }
    },
    ("get", "/analytics/weekly"): {
        "responses": {
            "200": {
                "week": "2026-W48",
                "start": "2026-11-23",
                "end": "2026-11-29",
                "totals": METRICS,
                "departments": [{**METRICS, "department_id": 3}],
                "days": [{**METRICS, "date": "2026-11-23"}],
            }
        }
    },
    ("get", "/screens"): {
        "responses": {
            "200": page(
                {
                    "id": 4,
                    "department_id": 3,
                    "name": "Cardiology waiting room",
                    "last_seen_at": AT,
                    "stale": False,
                    "sound_started": True,
                    "version": "2026.11.2",
                }
            )
        }
    },
}

# One example per error status: the envelope every error answer uses.
ERRORS: dict[str, dict[str, Any]] = {
    "400": {
        "error": {
            "code": "bad_request",
            "message": "The request could not be read. Send "
            "JSON with Content-Type: application/json.",
            "details": [],
        }
    },
    "401": {
        "error": {
            "code": "unauthorized",
            "message": "Send a valid access token: Authorization: Bearer <access_token>.",
            "details": [],
        }
    },
    "403": {"error": {"code": "forbidden", "message": "Your role may not do this.", "details": []}},
    "404": {"error": {"code": "not_found", "message": "Not found.", "details": []}},
    "409": {
        "error": {
            "code": "conflict",
            "message": "This clashes with the current state.",
            "details": [{"field": "status", "message": "This clashes with the current state."}],
        }
    },
    "422": {
        "error": {
            "code": "validation_error",
            "message": "Some fields are invalid.",
            "details": [
                {
                    "field": "starts_at",
                    "message": "Give a time with its offset, e.g. 2026-11-24T10:00:00+00:00.",
                }
            ],
        }
    },
    "429": {
        "error": {
            "code": "rate_limited",
            "message": "Too many requests. Wait a minute and try again.",
            "details": [],
        }
    },
}

# Query and path parameters: one example per name, whatever the operation...
PARAMETERS: dict[str, Any] = {
    "page": 1,
    "per_page": 50,
    "department_id": 3,
    "clinician_id": 9,
    "patient_id": 42,
    "user_id": 7,
    "date": "2026-11-24",
    "week": "2026-W48",
    "format": "json",
    "q": "haddad",
    "action": "patient.view",
    "entity_type": "patient",
    "entity_id": 42,
    "from": "2026-11-01",
    "to": "2026-11-24",
    "channel": "sms",
    "kind": "called",
    "delivery_id": 880,
}
# ... but the `id` in a path names the resource the path is about, and `status` differs.
PATH_IDS: dict[str, int] = {
    "/users": 7,
    "/departments": 3,
    "/patients": 42,
    "/appointments": 77,
    "/queue": 501,
    "/webhooks": 2,
}
STATUS_FILTERS: dict[str, str] = {"/appointments": "booked", "/notifications": "failed"}


def parameter_example(path: str, name: str) -> Any:
    """The example of parameter ``name`` of the operation at ``path`` (under /api/v1), or
    None when there is none."""
    collection = "/" + path.split("/")[1]
    if name == "id":
        return PATH_IDS.get(collection)
    if name == "status":
        return STATUS_FILTERS.get(collection)
    return PARAMETERS.get(name)
