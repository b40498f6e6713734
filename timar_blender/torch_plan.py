# SPDX-License-Identifier: GPL-3.0-or-later
"""Which PyTorch to install, and the pip command that installs it. Pure (no bpy, no
network): the facts about the machine come in as a ``Machine``, so every OS, CPU, Python and
GPU combination is a unit test.

- Windows or Linux on x86-64 with an NVIDIA driver: the CUDA build (from PyTorch's CUDA
  index; PyPI's Windows wheel is CPU only).
- macOS on Apple silicon: PyPI's default build, which runs on the GPU through MPS.
- Anything else: the CPU build (PyTorch's CPU index; a Linux wheel from PyPI would pull
  gigabytes of CUDA libraries).
- A folder of wheels (Local wheels): pip runs with ``--no-index --find-links`` and touches
  no network, whatever the build.
"""
from __future__ import annotations

import os
import platform as _platform
import shutil
import sys
from dataclasses import dataclass

TORCH_VERSION = "2.13.0"
# PyTorch 2.13 has wheels for these CPython versions (Blender 4.2-5.0: 3.11; 5.1-5.2: 3.13).
SUPPORTED_PYTHONS = ((3, 10), (3, 11), (3, 12), (3, 13), (3, 14))
CUDA_TAG = "cu130"   # CUDA 13.0, the build PyPI ships for Linux: NVIDIA driver 580 or newer
INDEX = {
    "CPU": "https://download.pytorch.org/whl/cpu",
    "CUDA": f"https://download.pytorch.org/whl/{CUDA_TAG}",
}
PYPI = "https://pypi.org/simple"
BUILDS = ("AUTO", "CPU", "CUDA", "DEFAULT")


class PlanError(ValueError):
    """No PyTorch build fits; the message is one line saying what to do."""


@dataclass(frozen=True)
class Machine:
    os: str                       # "linux" | "windows" | "macos"
    arch: str                     # "x86_64" | "arm64"
    python: tuple[int, int]       # Blender's Python
    nvidia: bool = False          # an NVIDIA driver is installed

    @property
    def label(self) -> str:
        gpu = ", NVIDIA GPU" if self.nvidia else ""
        return f"{self.os} {self.arch}, Python {self.python[0]}.{self.python[1]}{gpu}"


@dataclass(frozen=True)
class Plan:
    build: str                    # "CUDA" | "CPU" | "DEFAULT"
    packages: tuple[str, ...]
    index_url: str | None         # None: PyPI
    find_links: str = ""          # a local folder: offline
    why: str = ""                 # one line for the preferences

    @property
    def offline(self) -> bool:
        return bool(self.find_links)

    def pip_args(self) -> list[str]:
        """The arguments after ``python -m pip install --target DIR ...``. Offline, pip is
        isolated from the machine's pip settings too (``--isolated`` and env()): a
        find-links folder or index set there must not add other wheels."""
        if self.offline:
            return ["--isolated", "--no-index", "--find-links", self.find_links, *self.packages]
        if self.index_url:
            return ["--index-url", self.index_url, "--extra-index-url", PYPI, *self.packages]
        return [*self.packages]

    def env(self) -> dict[str, str]:
        """Environment for the pip run: offline, no pip configuration file is read."""
        return {"PIP_CONFIG_FILE": os.devnull} if self.offline else {}

    def command(self, python: str, target: str) -> list[str]:
        return [python, "-m", "pip", "install", "--target", target, "--upgrade",
                "--no-input", "--disable-pip-version-check", "--progress-bar", "off",
                "--no-warn-script-location", *self.pip_args()]


def normalise_arch(machine: str) -> str:
    m = machine.lower()
    if m in ("x86_64", "amd64", "x64"):
        return "x86_64"
    if m in ("arm64", "aarch64", "armv8", "arm64e"):
        return "arm64"
    return m


def normalise_os(name: str) -> str:
    n = name.lower()
    if n.startswith("win"):
        return "windows"
    if n in ("darwin", "macos"):
        return "macos"
    return n


def has_nvidia_driver(os_name: str, exists=os.path.exists, which=shutil.which) -> bool:
    """An NVIDIA driver is installed (its kernel module on Linux, its CUDA library on
    Windows, nvidia-smi on the PATH on either). Cheap, no import of torch."""
    if os_name == "linux" and exists("/proc/driver/nvidia/version"):
        return True
    if os_name == "windows":
        root = os.environ.get("SystemRoot", r"C:\Windows")
        if exists(os.path.join(root, "System32", "nvcuda.dll")):
            return True
    return os_name in ("linux", "windows") and which("nvidia-smi") is not None


def this_machine() -> Machine:
    os_name = normalise_os(sys.platform)
    return Machine(os_name, normalise_arch(_platform.machine()), sys.version_info[:2],
                   has_nvidia_driver(os_name))


def packages_for(spec: str) -> tuple[str, ...]:
    """The packages field of the preferences; a bare ``torch`` is pinned to TORCH_VERSION
    (an unpinned torch may pick a release this extension was not tested with)."""
    out = []
    for p in spec.split():
        out.append(f"torch=={TORCH_VERSION}" if p == "torch" else p)
    return tuple(out) or (f"torch=={TORCH_VERSION}",)


def plan(machine: Machine, build: str = "AUTO", find_links: str = "",
         packages: str = "torch") -> Plan:
    """The PyTorch build for ``machine`` and how pip gets it; PlanError when none fits."""
    if build not in BUILDS:
        raise PlanError(f"unknown build {build!r}: one of {', '.join(BUILDS)}")
    py = f"{machine.python[0]}.{machine.python[1]}"
    if machine.python not in SUPPORTED_PYTHONS:
        raise PlanError(f"PyTorch {TORCH_VERSION} has no build for Blender's Python {py}: "
                        "use Blender 4.2 LTS or newer")
    if machine.os == "macos" and machine.arch != "arm64":
        raise PlanError(f"PyTorch {TORCH_VERSION} has no build for Intel Macs: use a Mac "
                        "with Apple silicon, or Linux or Windows")
    if machine.os not in ("linux", "windows", "macos"):
        raise PlanError(f"no PyTorch build for {machine.os}: Linux, Windows and macOS only")
    pkgs = packages_for(packages)
    if build == "AUTO":
        if machine.os == "macos":
            build = "DEFAULT"
        elif machine.nvidia and machine.arch == "x86_64":
            build = "CUDA"
        else:
            build = "CPU"
    if build == "CUDA" and (machine.os == "macos" or machine.arch != "x86_64"):
        raise PlanError(f"no CUDA build of PyTorch for {machine.os} {machine.arch}: "
                        "choose Automatic or CPU")
    if build == "DEFAULT" and machine.os != "macos":
        build = "CPU"       # PyPI's Linux default is the multi-GB CUDA build, Windows' is CPU
    why = {"CUDA": f"CUDA build ({CUDA_TAG}) for the NVIDIA GPU, several GB",
           "CPU": "CPU build, about 200 MB",
           "DEFAULT": "macOS build (Apple GPU through MPS), about 80 MB"}[build]
    index = None if build == "DEFAULT" else INDEX[build]
    if find_links:
        why += f"; offline from {find_links}"
    return Plan(build, pkgs, index, find_links, f"{machine.label}: {why}")
