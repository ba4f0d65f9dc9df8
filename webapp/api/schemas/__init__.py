"""Pydantic models of the JSON API: what it accepts and what it returns.

One module per resource (``auth``, ``users``, ``departments``, ``patients``,
``appointments``, ``queue``) and ``common`` for what they share: the error
envelope, paging, the role and timestamp types and the helpers that document
the services' rules. This package re-exports nothing: import from the module
that names the resource (``from webapp.api.schemas.patients import PatientOut``),
so each model has one obvious home.

The models describe the shape of the data only (types, required fields, paging
bounds). Business rules such as password length, department code format or
uniqueness are checked by the services, so the HTML pages and the API share
them; their failures come back as 409/422 in the same error envelope.
"""
