"""How a patient's MRN reads on screen."""

from __future__ import annotations

import pytest

from webapp.patients.display import mrn_label


@pytest.mark.parametrize(
    ("mrn", "shown"),
    [
        ("MRN44407369", "MRN44407369"),  # generated: the word is already there
        ("mrn-0001", "mrn-0001"),
        ("AB-12345", "MRN AB-12345"),  # a hospital's own number gets the label
        ("", ""),
        (None, ""),
    ],
)
def test_it_names_mrn_once(mrn: str | None, shown: str) -> None:
    assert mrn_label(mrn) == shown
