#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the Blender extension zip: ``python build.py`` -> dist/timar_blender-<version>.zip.

Stages timar_blender/ at the zip's root with model_core/, assets/ (rig presets, sample
dialogue, bundled weights) and wheels/ beside it, then runs Blender's own extension builder
and validator through the bpy wheel (no Blender binary needed). The wheels listed in
blender_manifest.toml are taken from the cache folder .whl/ or fetched there with
``pip download``. ``--with-torch`` adds a CPU PyTorch and its dependencies (offline studios).
Run it with the project's venv: ``.venv/bin/python build.py``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
MAX_ASSET_BYTES = 300 * 1024 * 1024
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_PLATFORM = "manylinux_2_28_x86_64"


def log(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


def wheel_tags(filename: str) -> tuple[str, str, list[str], list[str], list[str]]:
    """(name, version, python tags, abi tags, platform tags) of a wheel file name."""
    parts = filename[:-4].split("-")
    name, version = parts[0], parts[1]
    py, abi, plat = parts[-3], parts[-2], parts[-1]
    return name, version, py.split("."), abi.split("."), plat.split(".")


def fetch_wheel(filename: str, cache: Path) -> Path:
    """The wheel from the cache, downloaded there with pip when missing."""
    path = cache / filename
    if path.is_file():
        return path
    name, version, _py, abis, plats = wheel_tags(filename)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--python-version", "3.11", "--dest", str(cache), f"{name}=={version}"]
    if plats != ["any"]:
        cmd += [a for p in plats for a in ("--platform", p)]
        cmd += ["--implementation", "cp"] + [a for b in abis for a in ("--abi", b)]
    log(f"downloading {filename}")
    subprocess.run(cmd, check=True)
    if not path.is_file():
        raise SystemExit(f"pip did not produce {filename} in {cache}")
    return path


def fetch_torch(cache: Path) -> list[Path]:
    """CPU PyTorch (the version in this venv) and its dependencies, numpy excepted."""
    import importlib.metadata as md
    version = md.version("torch").split("+")[0]
    dest = cache / "torch-cpu"
    dest.mkdir(parents=True, exist_ok=True)
    if not any(dest.glob("torch-*.whl")):
        log(f"downloading torch {version} (CPU) and its dependencies")
        subprocess.run([sys.executable, "-m", "pip", "download", "--only-binary=:all:",
                        "--python-version", "3.11", "--platform", TORCH_PLATFORM,
                        "--implementation", "cp", "--index-url", TORCH_INDEX,
                        "--extra-index-url", "https://pypi.org/simple",
                        "--dest", str(dest), f"torch=={version}"], check=True)
    return sorted(p for p in dest.glob("*.whl") if not p.name.startswith("numpy-"))


def stage(stage_dir: Path, manifest_text: str, wheels: list[Path]) -> None:
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    shutil.copytree(ROOT / "timar_blender", stage_dir, ignore=IGNORE)
    shutil.copytree(ROOT / "model_core", stage_dir / "model_core", ignore=IGNORE)
    assets = stage_dir / "assets"
    assets.mkdir()
    for item in sorted((ROOT / "assets").iterdir()):
        if item.is_dir():
            shutil.copytree(item, assets / item.name, ignore=IGNORE)
        elif item.stat().st_size <= MAX_ASSET_BYTES:
            shutil.copy2(item, assets / item.name)
        else:
            log(f"warning: {item.name} is over {MAX_ASSET_BYTES >> 20} MB, left out")
    (stage_dir / "wheels").mkdir()
    for w in wheels:
        shutil.copy2(w, stage_dir / "wheels" / w.name)
    (stage_dir / "blender_manifest.toml").write_text(manifest_text, encoding="utf-8")


def add_wheels_to_manifest(text: str, extra: list[Path]) -> str:
    """Append wheels to the manifest's ``wheels = [...]`` list."""
    start = text.index("wheels = [")
    end = text.index("]", start)
    lines = "".join(f'  "./wheels/{w.name}",\n' for w in extra)
    return text[:end] + lines + text[end:]


def blender_cli(args: list[str]) -> int:
    import bpy  # noqa: F401  (the bpy wheel provides Blender's extension tools)
    import bl_pkg
    return bl_pkg.cli_extension(args)


def check_zip(path: Path) -> list[str]:
    """Paths the extension cannot work without; returns warnings for optional ones."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
    for need in ("__init__.py", "blender_manifest.toml", "model_core/__init__.py",
                 "model_core/generate.py", "assets/rigs/flame.json",
                 "assets/rigs/timar_demo.json"):
        if need not in names:
            raise SystemExit(f"the zip lacks {need}")
    warnings = []
    if "assets/timar_small.pt" not in names:
        warnings.append("assets/timar_small.pt (the bundled weights) is not there yet: "
                        "the extension will ask for a checkpoint file")
    return warnings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output-dir", default=str(ROOT / "dist"))
    ap.add_argument("--stage-dir", default=str(ROOT / "build_stage" / "timar_blender"))
    ap.add_argument("--wheel-cache", default=str(ROOT / ".whl"))
    ap.add_argument("--with-torch", action="store_true",
                    help="also bundle a CPU PyTorch (an all-in-one zip for offline studios)")
    args = ap.parse_args(argv)

    manifest_text = (ROOT / "blender_manifest.toml").read_text(encoding="utf-8")
    manifest = tomllib.loads(manifest_text)
    cache = Path(args.wheel_cache)
    cache.mkdir(parents=True, exist_ok=True)
    wheels = [fetch_wheel(Path(w).name, cache) for w in manifest.get("wheels", [])]
    if args.with_torch:
        extra = fetch_torch(cache)
        manifest_text = add_wheels_to_manifest(manifest_text, extra)
        wheels += extra
    stage_dir = Path(args.stage_dir)
    stage(stage_dir, manifest_text, wheels)
    log(f"staged {stage_dir}")

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    zip_path = out / f"{manifest['id']}-{manifest['version']}.zip"
    if zip_path.exists():
        zip_path.unlink()
    if blender_cli(["build", "--source-dir", str(stage_dir), "--output-dir", str(out)]) != 0:
        raise SystemExit("Blender's extension builder failed (see above)")
    if args.with_torch:
        final = out / f"{manifest['id']}-{manifest['version']}-with-torch-cpu.zip"
        os.replace(zip_path, final)
        zip_path = final
    if blender_cli(["validate", str(zip_path)]) != 0:
        raise SystemExit(f"Blender's validator rejected {zip_path}")
    for w in check_zip(zip_path):
        log(f"warning: {w}")
    log(f"built and validated {zip_path} ({zip_path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
