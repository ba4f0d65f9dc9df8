"""The kiosk's doors: the kiosk device's pages, the admin's kiosk list, the appointment slip."""

from webapp.kiosk.views.admin import bp as admin_bp
from webapp.kiosk.views.device import bp
from webapp.kiosk.views.slip import bp as slip_bp

__all__ = ["admin_bp", "bp", "slip_bp"]
