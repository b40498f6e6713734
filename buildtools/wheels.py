# SPDX-License-Identifier: GPL-3.0-or-later
"""The compiled and pure wheels each platform's zip carries, fetched once with
``pip download`` into a cache: one folder per platform and Python, reused while the pinned
requirements stay the same. Standard library only."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# soundfile and its dependency closure, numpy excepted (Blender ships its own numpy).
# Pinned, so that every platform's zip carries the same versions.
REQUIREMENTS = ("soundfile==0.14.0", "cffi==2.1.1", "pycparser==3.12",
                "typing_extensions==4.16.0")
# Blender 4.2-5.0 run CPython 3.11; 5.1 and 5.2 LTS run 3.13.
PYTHONS = ("3.11", "3.13")
# Blender's platform names -> the wheel platform tags pip may take for them (pip does not
# widen an explicit --platform to the older manylinux or macOS tags by itself).
PLATFORMS = {
    "linux-x64": ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx_11_0_arm64", "macosx_12_0_arm64", "macosx_13_0_arm64",
                    "macosx_14_0_arm64"),
}
STAMP = "requirements.txt"      # in each cache folder: what its wheels were fetched for


class MissingWheels(RuntimeError):
    """pip found no wheel of a pinned requirement for a platform and Python."""


@dataclass(frozen=True)
class WheelName:
    name: str
    version: str
    pythons: tuple[str, ...]
    abis: tuple[str, ...]
    platforms: tuple[str, ...]

    @classmethod
    def parse(cls, filename: str) -> "WheelName":
        parts = Path(filename).name[:-len(".whl")].split("-")
        if len(parts) not in (5, 6) or not filename.endswith(".whl"):
            raise ValueError(f"not a wheel file name: {filename}")
        return cls(parts[0], parts[1], *(tuple(p.split(".")) for p in parts[-3:]))

    def is_pure(self) -> bool:
        return self.platforms == ("any",)


def cache_dir(cache: Path, platform: str, python: str) -> Path:
    return cache / platform / ("cp" + python.replace(".", ""))


def pip_download_command(platform: str, python: str, dest: Path,
                         requirements=REQUIREMENTS) -> list[str]:
    """pip download of the pinned wheels for one platform and Python, binaries only."""
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}: one of {', '.join(PLATFORMS)}")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--progress-bar", "off",
           "--python-version", python, "--implementation", "cp", "--dest", str(dest)]
    for tag in PLATFORMS[platform]:
        cmd += ["--platform", tag]
    return cmd + list(requirements)


def fetch(cache: Path, platform: str, python: str, log=print,
          requirements=REQUIREMENTS) -> list[Path]:
    """The wheels for one platform and Python, from the cache or downloaded into it.
    Raises MissingWheels naming what pip could not find."""
    folder = cache_dir(cache, platform, python)
    stamp = folder / STAMP
    want = "\n".join(requirements) + "\n"
    wheels = sorted(folder.glob("*.whl"))
    if stamp.is_file() and stamp.read_text() == want and len(wheels) == len(requirements):
        return wheels
    folder.mkdir(parents=True, exist_ok=True)
    for old in wheels:
        old.unlink()
    stamp.unlink(missing_ok=True)
    log(f"downloading wheels for {platform}, Python {python}: {' '.join(requirements)}")
    proc = subprocess.run(pip_download_command(platform, python, folder, requirements),
                          capture_output=True, text=True)
    wheels = sorted(folder.glob("*.whl"))
    have = {WheelName.parse(w.name).name.lower().replace("_", "-") for w in wheels}
    missing = [r for r in requirements
               if r.split("==")[0].lower().replace("_", "-") not in have]
    if proc.returncode != 0 or missing:
        errors = [l for l in (proc.stdout + proc.stderr).splitlines() if "ERROR" in l]
        raise MissingWheels(
            f"no wheel for {platform}, Python {python} of {', '.join(missing) or '?'} on the "
            f"package index (pip: {' | '.join(errors[-2:]) or 'exit ' + str(proc.returncode)})")
    stamp.write_text(want)
    return wheels


def platform_wheels(cache: Path, platform: str, log=print) -> list[Path]:
    """Every wheel one platform's zip carries: all Pythons, a pure wheel once."""
    by_name: dict[str, Path] = {}
    for python in PYTHONS:
        for w in fetch(cache, platform, python, log):
            by_name.setdefault(w.name, w)
    return [by_name[n] for n in sorted(by_name)]


def check_coverage(wheels: list[Path], platform: str) -> list[str]:
    """Problems that would make the zip refuse to install somewhere: every compiled
    requirement needs a wheel for each of PYTHONS, for this platform."""
    problems = []
    parsed = [WheelName.parse(w.name) for w in wheels]
    for req in REQUIREMENTS:
        name = req.split("==")[0].lower().replace("-", "_")
        mine = [p for p in parsed if p.name.lower() == name]
        if not mine:
            problems.append(f"{req}: no wheel")
            continue
        if any(p.is_pure() for p in mine):
            continue
        for python in PYTHONS:     # "none": a library loaded through cffi, any Python
            tag = "cp" + python.replace(".", "")
            if not any(tag in p.pythons or {"abi3", "none"} & set(p.abis) for p in mine):
                problems.append(f"{req}: no wheel for Python {python} ({tag})")
        if any(not any(t in PLATFORMS[platform] for t in p.platforms) for p in mine):
            problems.append(f"{req}: a wheel for another platform")
    return problems
