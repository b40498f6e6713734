#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the Blender extension: ``python build.py`` -> one validated zip per platform in
dist/ (``timar_blender-<version>-linux_x64.zip``, ``-windows_x64``, ``-macos_arm64``:
Blender's --split-platforms names). ``--platform NAME`` builds one.

Each zip holds the add-on at its root, the part of model_core it imports, the assets it
reads at run time (buildtools/runtime_files.py), the Whisper encoder's first four layers
for a mouth head that hears through Whisper (buildtools/whisper_assets.py), and wheels/ with soundfile and its
dependencies for CPython 3.11 (Blender 4.2-5.0) and 3.13 (Blender 5.1-5.2), listed in the
zip's copy of blender_manifest.toml; so one zip installs in every supported Blender on its
platform. The wheels are fetched once with ``pip download`` into .whl/ (buildtools/wheels.py).
Blender's own extension builder and validator run through the bpy wheel (no Blender binary
needed). Run it with the project's venv: ``.venv/bin/python build.py``."""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from buildtools import runtime_files, wheels  # noqa: E402
from buildtools.whisper_assets import write_whisper_assets  # noqa: E402

REQUIRED = ("__init__.py", "blender_manifest.toml", "core.py", "sequencer.py",
            "torch_plan.py", "rig/take.py", "batch/__main__.py",
            "model_core/__init__.py", "model_core/generate.py", "model_core/speech/audio.py",
            "model_core/speech/audio_stream.py", "model_core/face/flame.py",
            "assets/rigs/flame.json", "assets/rigs/timar_demo.json",
            "model_core/speech/whisper_mouth.py", "assets/whisper_base_encoder_l4.npz",
            "assets/whisper_base_encoder_l4.LICENSE.txt")
NOT_RUNTIME = ("model_core/train.py", "model_core/evaluation/", "model_core/corpus/",
               "assets/MODEL_CARD.md", "assets/readme_frame.png", "tests/", "buildtools/")


def log(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


def _toml_list(items: list[str]) -> str:
    return "[\n" + "".join(f'  "{i}",\n' for i in items) + "]"


def platform_manifest(text: str, platform: str, wheel_names: list[str]) -> str:
    """The source manifest with ``platforms`` narrowed to one platform and ``wheels``
    listing that zip's wheels."""
    for key, value in (("platforms", _toml_list([platform])),
                       ("wheels", _toml_list([f"./wheels/{w}" for w in wheel_names]))):
        text, n = re.subn(rf"(?ms)^{key}\s*=\s*\[.*?\]", f"{key} = {value}", text, count=1)
        if n != 1:
            raise SystemExit(f"blender_manifest.toml has no '{key} = [...]' line")
    return text


def stage(stage_dir: Path, manifest_text: str, wheel_files: list[Path]) -> None:
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    for src, arc in runtime_files.runtime_files(ROOT):
        dst = stage_dir / arc
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
    write_whisper_assets(ROOT, stage_dir / "assets")       # from the installed wheels
    (stage_dir / "wheels").mkdir()
    for w in wheel_files:
        shutil.copy2(w, stage_dir / "wheels" / w.name)
    (stage_dir / "blender_manifest.toml").write_text(manifest_text, encoding="utf-8")


def blender_cli(args: list[str]) -> int:
    import bpy  # noqa: F401  (the bpy wheel provides Blender's extension tools)
    import bl_pkg
    return bl_pkg.cli_extension(args)


def zip_name(manifest: dict, platform: str) -> str:
    return f"{manifest['id']}-{manifest['version']}-{platform.replace('-', '_')}.zip"


def check_zip(path: Path, platform: str) -> list[str]:
    """Raise SystemExit when the zip lacks what the extension needs or carries what it does
    not; returns warnings."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        manifest = tomllib.loads(z.read("blender_manifest.toml").decode())
    for need in REQUIRED:
        if need not in names:
            raise SystemExit(f"{path.name} lacks {need}")
    extra = [n for n in names if n.startswith(NOT_RUNTIME) or "__pycache__" in n]
    if extra:
        raise SystemExit(f"{path.name} carries files not needed at run time: {sorted(extra)[:5]}")
    if manifest.get("platforms") != [platform]:
        raise SystemExit(f"{path.name}: manifest platforms {manifest.get('platforms')}")
    listed = [w[2:] for w in manifest.get("wheels", [])]
    if set(listed) != {n for n in names if n.startswith("wheels/")}:
        raise SystemExit(f"{path.name}: the manifest's wheels and wheels/ differ")
    problems = wheels.check_coverage([Path(w) for w in listed], platform)
    if problems:
        raise SystemExit(f"{path.name}: " + "; ".join(problems))
    warnings = []
    if "assets/timar_small.pt" not in names:
        warnings.append("assets/timar_small.pt (the bundled weights) is not there yet: "
                        "the extension will ask for a checkpoint file")
    return warnings


def build_platform(platform: str, manifest_text: str, manifest: dict, out: Path,
                   stage_root: Path, cache: Path) -> Path:
    wheel_files = wheels.platform_wheels(cache, platform, log)
    problems = wheels.check_coverage(wheel_files, platform)
    if problems:
        raise wheels.MissingWheels("; ".join(problems))
    text = platform_manifest(manifest_text, platform, [w.name for w in wheel_files])
    stage_dir = stage_root / platform / manifest["id"]
    stage(stage_dir, text, wheel_files)
    path = out / zip_name(manifest, platform)
    path.unlink(missing_ok=True)
    if blender_cli(["build", "--source-dir", str(stage_dir), "--output-dir", str(out),
                    "--split-platforms"]) != 0 or not path.is_file():
        raise SystemExit(f"Blender's extension builder failed for {platform} (see above)")
    if blender_cli(["validate", str(path)]) != 0:
        raise SystemExit(f"Blender's validator rejected {path}")
    for w in check_zip(path, platform):
        log(f"warning: {w}")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--platform", action="append", choices=sorted(wheels.PLATFORMS),
                    help="build only this platform's zip (repeatable; default: all)")
    ap.add_argument("--output-dir", default=str(ROOT / "dist"))
    ap.add_argument("--stage-dir", default=str(ROOT / "build_stage"))
    ap.add_argument("--wheel-cache", default=str(ROOT / ".whl"))
    args = ap.parse_args(argv)

    manifest_text = (ROOT / "blender_manifest.toml").read_text(encoding="utf-8")
    manifest = tomllib.loads(manifest_text)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for platform in args.platform or list(wheels.PLATFORMS):
        try:
            path = build_platform(platform, manifest_text, manifest, out,
                                  Path(args.stage_dir), Path(args.wheel_cache))
        except wheels.MissingWheels as exc:
            log(f"NOT BUILT {platform}: {exc}")
            failed.append(platform)
            continue
        log(f"built and validated {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if failed:
        log(f"missing wheels: no zip for {', '.join(failed)} (the others are built)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
