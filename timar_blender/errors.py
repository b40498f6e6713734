# SPDX-License-Identifier: GPL-3.0-or-later
"""Every error the add-on shows a user, under one base.

:class:`UserError` derives from model_core's ``TimarError``, so one ``except TimarError``
(or ``except UserError`` for the add-on's own) catches a bad audio file, a missing model and
a head that does not fit its rig preset alike. ``str()`` of each is one line that says what
is wrong and what to do. Anything else reaching the operator or the batch is a bug, and is
reported with its traceback. No bpy."""
from __future__ import annotations

from .core import TimarError


class UserError(TimarError):
    """A problem the user can fix (an input, an option, a head, a file)."""


class GenerationError(UserError):
    """Generation cannot start or go on (PyTorch, device, model, a head removed mid-run)."""


class PresetError(UserError, ValueError):
    """A rig preset file is missing or malformed; the message names the file and the problem."""


class RigError(UserError, ValueError):
    """A head does not have what its preset needs (the message lists what is missing), or
    its take was changed while it was written."""


class SceneSetupError(UserError, ValueError):
    """A scene helper cannot do what was asked (no audio file, no audio support)."""


class ManifestError(UserError, ValueError):
    """The batch's dialogue list cannot be used; the message names the file, row and fix."""


class DialogueError(UserError):
    """One dialogue of a batch cannot be made; the message says why and what to do."""


class RenderError(UserError, RuntimeError):
    """A render failed; the message says why and what to try."""
