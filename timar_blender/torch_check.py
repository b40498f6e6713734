# SPDX-License-Identifier: GPL-3.0-or-later
"""Is the PyTorch that Blender finds usable here? One line for the preferences for each
way it is not: built for another Python, not importable, a CUDA build without a working
NVIDIA driver, or the CPU build on a machine with an NVIDIA GPU. Pure (no bpy); the facts
come in as arguments so each case is a unit test."""
from __future__ import annotations

import glob
import os
import sys


def wheel_pythons(site: str, name: str = "torch") -> set[str]:
    """The CPython tags (``cp311``) the wheel installed in ``site`` was built for, read from
    its ``.dist-info/WHEEL``; empty when there is none or it says nothing."""
    tags: set[str] = set()
    for wheel in glob.glob(os.path.join(site, f"{name}-*.dist-info", "WHEEL")):
        with open(wheel, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("Tag:"):
                    py = line.split(":", 1)[1].strip().split("-")[0]
                    tags.update(t for t in py.split(".") if t.startswith("cp"))
    return tags


def python_tag(version: tuple[int, int] | None = None) -> str:
    major, minor = version or sys.version_info[:2]
    return f"cp{major}{minor}"


def diagnose(import_error: str | None = None, site: str | None = None,
             python: tuple[int, int] | None = None, cuda_built: bool | None = None,
             cuda_available: bool | None = None, nvidia_driver: bool = False,
             os_name: str = "linux") -> tuple[str, str] | None:
    """(severity, one line) or None when all is well. ``severity`` is ERROR (generation
    cannot run) or INFO (it runs, slower than it could)."""
    here = python_tag(python)
    built_for = wheel_pythons(site) if site else set()
    py = f"{here[2]}.{here[3:]}"
    if built_for and here not in built_for:
        other = ", ".join(f"{t[2]}.{t[3:]}" for t in sorted(built_for))
        return ("ERROR", f"The PyTorch in {site} is for Python {other}, this Blender runs "
                         f"Python {py}: click Install PyTorch to get the right build")
    if import_error is not None:
        first = import_error.strip().splitlines()[0][:120] if import_error.strip() else "error"
        return ("ERROR", f"PyTorch does not import ({first}): click Install PyTorch to "
                         "reinstall it")
    if cuda_built and cuda_available is False:
        return ("INFO", "This PyTorch is a CUDA build but no working NVIDIA driver was "
                        "found: Generate runs on the CPU; install or update the NVIDIA driver, "
                        "or install the CPU build (smaller)")
    if cuda_built is False and nvidia_driver and os_name in ("linux", "windows"):
        return ("INFO", "An NVIDIA GPU is present but this PyTorch is the CPU build: set "
                        "Build to Automatic or CUDA and click Install PyTorch to use the GPU")
    return None
