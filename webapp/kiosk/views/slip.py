"""The printable appointment slip: the booking reference, large and as a QR code, for the
patient to type or scan at the entrance kiosk. No name, date of birth or phone: a slip is
easily lost."""

from __future__ import annotations

import segno
from flask import Blueprint, current_app, render_template
from markupsafe import Markup

from webapp.appointments.services import get_appointment
from webapp.auth.permissions import role_required
from webapp.auth.roles import STAFF

bp = Blueprint("slips", __name__, url_prefix="/appointments")


def reference_qr_svg(reference: str) -> Markup:
    """A QR code of the reference alone (what a handheld scanner then types at the kiosk)."""
    svg = segno.make(reference, error="m").svg_inline(
        scale=4,
        border=2,
        svgclass="slip-qr",
        lineclass=None,
        omitsize=True,
        title=f"QR code of the booking reference {reference}",
    )
    svg = svg.replace("<svg ", '<svg role="img" ', 1)
    return Markup(svg)  # noqa: S704 (segno's own markup of a reference we made)


@bp.get("/<int:appointment_id>/slip")
@role_required(*STAFF)
def slip(appointment_id: int) -> str:
    appointment = get_appointment(appointment_id)
    reference = appointment.reference
    return render_template(
        "kiosk/slip.html",
        appointment=appointment,
        reference=reference,
        qr=reference_qr_svg(reference) if reference else None,
        hospital_name=current_app.config["HOSPITAL_NAME"],
    )
