# SPDX-License-Identifier: GPL-3.0-or-later
# A package, so that its conftest.py is "gui.conftest" and does not shadow tests/conftest.py.
