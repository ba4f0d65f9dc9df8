"""The public-screen fixtures: a department GM with Room 1."""

from tests.public_screens import department, room  # noqa: F401  (fixtures used by these tests)
