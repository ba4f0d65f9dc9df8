"""How a patient's identifiers read on screen."""

from __future__ import annotations


def mrn_label(mrn: str | None) -> str:
    """An MRN with the word "MRN" once: generated ones already start with it.

    ``MRN44407369`` stays as it is; a hospital's own ``AB-12345`` reads ``MRN AB-12345``.
    """
    if not mrn:
        return ""
    return mrn if mrn.upper().startswith("MRN") else f"MRN {mrn}"
