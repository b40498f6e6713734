# SPDX-License-Identifier: GPL-3.0-or-later
"""The extension's own folder for PyTorch (Install PyTorch puts it there), one per Python
version, and putting it on ``sys.path``: used by the preferences at register time and by
the headless batch, so neither needs the other. Not a UI module."""
from __future__ import annotations

import os
import sys

import bpy

from . import torch_check

ADDON_PACKAGE = __package__     # the extension's module name (bl_ext.<repo>.timar_blender)


def site_packages_dir() -> str:
    """The folder (created on demand), one per Python version: a PyTorch built for Blender
    5.0's Python 3.11 never shadows 5.2's (3.13)."""
    name = f"site-packages-{torch_check.python_tag()}"
    try:
        return bpy.utils.extension_path_user(ADDON_PACKAGE, path=name, create=True)
    except ValueError:  # loaded as a plain add-on (repository checkout, tests)
        return bpy.utils.user_resource('DATAFILES', path=os.path.join("timar_blender", name),
                                       create=True)


def add_site_packages() -> str:
    path = site_packages_dir()
    if path not in sys.path:
        sys.path.append(path)
    return path
