# SPDX-License-Identifier: GPL-3.0-or-later
"""What goes into the extension zip: the add-on's own modules (its packages ``rig/`` and
``batch/`` included), the part of ``model_core`` they reach (followed through their import
statements, so training, evaluation and the corpus synthesiser stay out), and the assets
read at run time. Standard library only."""
from __future__ import annotations

import ast
from pathlib import Path

ADDON = "timar_blender"
CORE = "model_core"
# Read by the add-on at run time: rig presets, the sample dialogue (Add Demo Heads, batch
# --sample) and the bundled weights. MODEL_CARD.md, the README picture and the corpus
# statistics are for the repository only.
RUNTIME_ASSETS = ("rigs", "sample/sample_speaker1.wav", "sample/sample_speaker2.wav",
                  "sample/README.md", "timar_small.pt")
SKIP_PARTS = {"__pycache__", ".pytest_cache"}


def _module_file(root: Path, dotted: str) -> Path | None:
    """model_core.x.y -> root/model_core/x/y.py or its package __init__.py."""
    base = root.joinpath(*dotted.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _dotted(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _referenced(root: Path, path: Path) -> set[str]:
    """model_core modules one file names in its import statements: absolute (``from
    model_core import audio``), relative, and the add-on's vendored ``from .model_core
    import audio`` (core.py imports both ways; the torch-needing modules inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    me = _dotted(root, path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    # The add-on vendors model_core inside itself: timar_blender.model_core == model_core.
    prefix = f"{ADDON}.{CORE}"
    found = {CORE + m[len(prefix):] if m.startswith(prefix) else m for m in found}
    return {m for m in found if m.split(".")[0] == CORE and _module_file(root, m)}


def addon_modules(root: Path) -> list[Path]:
    """The add-on's own .py files, its sub-packages included."""
    return sorted(p for p in (root / ADDON).rglob("*.py")
                  if not SKIP_PARTS & set(p.parts) and CORE not in p.relative_to(root / ADDON).parts)


def core_modules(root: Path) -> list[Path]:
    """The model_core files the add-on can reach, each package's __init__ included."""
    todo = addon_modules(root)
    seen: set[Path] = set()
    core: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for mod in _referenced(root, path):
            parts = mod.split(".")
            for i in range(1, len(parts) + 1):       # parent packages run first
                f = _module_file(root, ".".join(parts[:i]))
                if f is not None and f not in seen:
                    core.add(f)
                    todo.append(f)
    return sorted(core)


def runtime_files(root: Path) -> list[tuple[Path, str]]:
    """(source file, path inside the zip) for everything the extension ships, the add-on's
    modules at the zip's root."""
    out = [(p, p.relative_to(root / ADDON).as_posix()) for p in addon_modules(root)]
    out += [(p, p.relative_to(root).as_posix()) for p in core_modules(root)]
    for item in RUNTIME_ASSETS:
        src = root / "assets" / item
        files = sorted(f for f in src.rglob("*") if f.is_file()) if src.is_dir() else [src]
        for f in files:
            if f.is_file() and not SKIP_PARTS & set(f.parts) and f.suffix != ".pyc":
                out.append((f, f.relative_to(root).as_posix()))
    return out
