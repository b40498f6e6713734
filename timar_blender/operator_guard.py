# SPDX-License-Identifier: GPL-3.0-or-later
"""The operators' last resort: an exception nobody expected becomes one error report,
``internal error: ...; details in <log>`` (the traceback in that log file), and the
operator is cancelled, instead of Blender's traceback pop-up. User errors are reported by
the operators themselves before this is reached. No bpy."""
from __future__ import annotations

import functools

from . import core


def _cancelled(operator, exc: Exception) -> set:
    operator.report({'ERROR'}, core.last_resort.report_internal_error(exc, "addon"))
    return {'CANCELLED'}


def guarded(method):
    """Wrap an operator's ``execute(self, context)`` or ``invoke(self, context, event)`` with
    the last-resort handler (Blender checks the argument count, so each keeps its own)."""
    if method.__name__ == "invoke":
        @functools.wraps(method)
        def invoke(self, context, event):
            try:
                return method(self, context, event)
            except Exception as exc:  # noqa: BLE001 - a bug: logged, one line for the user
                return _cancelled(self, exc)
        return invoke

    @functools.wraps(method)
    def execute(self, context):
        try:
            return method(self, context)
        except Exception as exc:  # noqa: BLE001 - a bug: logged, one line for the user
            return _cancelled(self, exc)
    return execute
