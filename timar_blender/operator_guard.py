# SPDX-License-Identifier: GPL-3.0-or-later
"""The operators' last resort: an exception nobody expected becomes one error report,
``internal error: ...; details in <log>`` (the traceback in that log file), and the
operator is cancelled, instead of Blender's traceback pop-up. User errors are reported by
the operators themselves before this is reached. No bpy."""
from __future__ import annotations

import functools

from . import core


def guarded(method):
    """Wrap an operator's ``execute`` or ``invoke`` with the last-resort handler."""
    @functools.wraps(method)
    def wrapper(self, context, *args):
        try:
            return method(self, context, *args)
        except Exception as exc:  # noqa: BLE001 - a bug: logged, one line for the user
            self.report({'ERROR'}, core.last_resort.report_internal_error(exc, "addon"))
            return {'CANCELLED'}
    return wrapper
