# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m timar_blender.batch ARGS``: see cli.py."""
import sys

from .cli import main

sys.exit(main())
