"""The shape of model_core's imports: no cycle, no Blender, one direction from a checkpoint
path to a model, and the layers the package docstring names."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "model_core"
# Function-local imports are allowed here only: the CLI imports each verb's heavy modules
# when that verb runs, and the test helpers import the model when a test asks for one.
LAZY_OK = ("model_core.commands.", "model_core.cli", "model_core.testing", "model_core.official_testing")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(CORE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, inside a function) for every import in one file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []

    def visit(node, local):
        for child in ast.iter_child_nodes(node):
            inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((alias.name, inner) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[:len(package.split(".")) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                for alias in child.names:     # `from . import x` names a module
                    sub = f"{target}.{alias.name}"
                    as_path = CORE.parent.joinpath(*sub.split("."))
                    found.append((sub if as_path.with_suffix(".py").is_file() or as_path.is_dir()
                                  else target, inner))
            visit(child, inner)

    visit(ast.parse(path.read_text()), False)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, list[tuple[str, bool]]]:
    return {module_name(p): imports(p) for p in sorted(CORE.rglob("*.py"))}


def test_model_core_never_imports_blender_or_the_add_on(graph):
    bad = [(m, t) for m, edges in graph.items() for t, _ in edges
           if t.split(".")[0] in ("bpy", "timar_blender", "mathutils")]
    assert not bad


def test_no_import_cycle_and_no_hidden_function_local_imports(graph):
    edges = {m: {t for t, local in e if t.startswith("model_core.") and not local}
             for m, e in graph.items()}
    lazy = [(m, t) for m, e in graph.items() for t, local in e
            if local and t.startswith("model_core") and not m.startswith(LAZY_OK)]
    assert not lazy, f"function-local imports of model_core modules (an import circle held together?): {lazy}"
    state: dict[str, int] = {}

    def walk(m, path):
        if state.get(m) == 1:
            raise AssertionError("import cycle: " + " -> ".join(path + [m]))
        if state.get(m) == 2:
            return
        state[m] = 1
        for t in edges.get(m, ()):
            walk(t, path + [m])
        state[m] = 2

    for m in edges:
        walk(m, [])


def test_a_checkpoint_path_travels_one_way(graph):
    """official.py converts a release payload and nothing more: it builds no model and
    reads no file, so it imports neither the loader nor the model nor the speech model."""
    official = {t for t, _ in graph["model_core.official"]}
    assert not official & {"model_core.checkpoint", "model_core.model",
                           "model_core.speech.wav2vec2", "model_core.speech.speech_model"}
    speech = {t for t, _ in graph["model_core.speech.speech_model"]}
    assert not any(t.split(".")[0] in ("torch", "transformers") for t in speech)
    checkpoint = {t for t, _ in graph["model_core.checkpoint"]}
    assert {"model_core.official", "model_core.model"} <= checkpoint


# What the two rooms may take from the rest of model_core: facts, the error base, safe file
# reading and writing. Nothing of the model (layout, transformer, model, mouth, generate),
# and neither room the other: speech/ ends at features, face/ starts at channel values.
ROOM_FOUNDATION = {"model_core.constants", "model_core.errors", "model_core.fileio",
                   "model_core.input_files", "model_core.npz_check"}


@pytest.mark.parametrize("room", ["model_core.speech", "model_core.face"])
def test_the_speech_and_face_rooms_stand_on_the_foundation_only(graph, room):
    modules = [m for m in graph if m == room or m.startswith(room + ".")]
    assert len(modules) > 5, f"{room} has lost its modules: {modules}"
    outside = {(m, t) for m in modules for t, _ in graph[m]
               if t.startswith("model_core") and not t.startswith(room + ".")
               and t != room and t not in ROOM_FOUNDATION | {"model_core"}}
    assert not outside, f"{room} reaches outside its room and the foundation: {sorted(outside)}"
