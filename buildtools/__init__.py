# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of build.py: the wheels each platform's zip carries (wheels.py) and the files the
add-on needs at run time (runtime_files.py). Build time only; never shipped in the zip."""
