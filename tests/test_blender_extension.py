# SPDX-License-Identifier: GPL-3.0-or-later
"""The extension as a user gets it: build the zip with build.py (Blender's builder and
validator through the bpy wheel), install it with package_install_files, enable it, check
what registered, generate on demo heads, install "PyTorch" offline from a local wheel."""
from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

if "bpy" not in sys.modules:  # isolate prefs and extensions from the user's own
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="timar_bl_")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

bpy = pytest.importorskip("bpy")

from blender_setup import demo_scene  # noqa: E402

MANIFEST = tomllib.loads((REPO / "blender_manifest.toml").read_text())
MODULE = f"bl_ext.user_default.{MANIFEST['id']}"


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, str(REPO / "build.py"), "--output-dir", str(out),
                           "--stage-dir", str(out / "stage")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = out / f"timar_blender-{MANIFEST['version']}.zip"
    assert path.is_file(), proc.stdout
    return path


@pytest.fixture(scope="module")
def extension(built_zip):
    bpy.ops.wm.read_homefile(use_empty=True)
    res = bpy.ops.extensions.package_install_files(filepath=str(built_zip), repo="user_default",
                                                   enable_on_install=True)
    assert res == {'FINISHED'}
    assert MODULE in bpy.context.preferences.addons
    mod = sys.modules[MODULE]
    yield mod
    mod.jobs.shutdown()
    bpy.ops.preferences.addon_disable(module=MODULE)


def test_manifest_and_zip(built_zip):
    assert MANIFEST["id"] == "timar_blender" and MANIFEST["blender_version_min"] == "4.2.0"
    assert MANIFEST["license"] == ["SPDX:GPL-3.0-or-later"]
    assert set(MANIFEST["permissions"]) == {"files", "network"}
    assert all(len(r) <= 64 and not r.endswith(".") for r in MANIFEST["permissions"].values())
    import bl_pkg
    assert bl_pkg.cli_extension(["validate", str(built_zip)]) == 0
    with zipfile.ZipFile(built_zip) as z:
        names = set(z.namelist())
    for need in ("__init__.py", "core.py", "model_core/generate.py", "model_core/errors.py",
                 "assets/rigs/flame.json", "assets/rigs/timar_demo.json",
                 "assets/rigs/examples/custom_example.json"):
        assert need in names, need
    for wheel in MANIFEST["wheels"]:
        assert wheel[2:] in names, wheel
    assert not any("__pycache__" in n for n in names)
    if (REPO / "assets" / "timar_small.pt").is_file():
        assert "assets/timar_small.pt" in names
    import model_core
    assert MANIFEST["version"] == model_core.__version__


def test_installed_extension_registers_everything(extension):
    for op in ("generate", "cancel", "add_demo_heads", "add_audio_to_sequencer",
               "install_torch", "check_torch", "show_pip_log", "report_message"):
        assert hasattr(bpy.types, f"TIMAR_OT_{op}"), op
    for panel in ("timar", "timar_speaker_a", "timar_speaker_b", "timar_options", "timar_generate"):
        cls = getattr(bpy.types, f"VIEW3D_PT_{panel}")
        assert cls.bl_category == "TIMAR"
    assert extension.core.mc.__name__ == f"{MODULE}.model_core"   # the vendored core
    prefs = bpy.context.preferences.addons[MODULE].preferences
    assert prefs.package_spec == "torch"
    assert (prefs.model_source, prefs.official_checkpoint, prefs.speech_model_dir,
            prefs.custom_checkpoint) == ('BUNDLED', "", "", "")
    site = extension.prefs.site_packages_dir()
    assert site in sys.path and "extensions" in site


def test_generate_on_demo_heads(extension, tmp_path, tiny_checkpoint):
    """Generate with the real (tiny) model through the vendored core; the F-curves equal
    the model's output mapped through the demo preset."""
    import importlib
    sf = pytest.importorskip("soundfile")
    paths = []
    for i in range(2):
        p = tmp_path / f"s{i}.wav"
        sf.write(p, (0.2 * np.random.default_rng(i).standard_normal(32000)).astype(np.float32), 16000)
        paths.append(str(p))
    s = demo_scene(paths, str(tiny_checkpoint), context_turns=1, seed=5).timar
    s.start_frame = 10
    assert bpy.ops.timar.generate() == {'FINISHED'}
    gen_mod = importlib.import_module(f"{MODULE}.model_core.generate")
    ckpt_mod = importlib.import_module(f"{MODULE}.model_core.checkpoint")
    model = ckpt_mod.load_model(str(tiny_checkpoint), device="cpu")
    opts = gen_mod.GenerationOptions(context_turns=1, steps=2, temperature=1.0, seed=5, device="cpu")
    ref = gen_mod.DialogueGenerator(model, opts).run(*paths)
    preset = extension.rigs.get_preset("timar_demo")
    for label, motion in (("A", ref.motion_a), ("B", ref.motion_b)):
        m = extension.mapping.prepare_motion(motion)
        fcs = extension.fcurves.action_fcurves(bpy.data.actions[f"TIMAR {label} take 1 shapes"])
        frames, vals = extension.fcurves.read_keys(fcs, 'key_blocks["MouthOpen"].value')
        assert len(frames) == len(motion) == 50 and frames[0] == 10
        assert np.allclose(vals, preset.shape_values(m)["MouthOpen"], atol=1e-5)
        fcs = extension.fcurves.action_fcurves(bpy.data.actions[f"TIMAR {label} take 1"])
        _, qx = extension.fcurves.read_keys(fcs, 'pose.bones["jaw"].rotation_quaternion', 1)
        assert np.allclose(qx, preset.bone_quaternions(m)["jaw"][:, 1], atol=1e-5)


def make_fake_wheel(folder: Path, name="torch", version="0.0.1") -> Path:
    """A minimal valid pure-Python wheel (so no real PyTorch is ever installed by tests)."""
    files = {f"{name}/__init__.py": f'__version__ = "{version}"\nFAKE = True\n',
             f"{name}-{version}.dist-info/METADATA":
                 f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{name}-{version}.dist-info/WHEEL":
                 "Wheel-Version: 1.0\nGenerator: timar-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = "\n".join(record) + "\n"
    whl = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return whl


def test_install_pytorch_offline_from_local_wheels(extension, tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_fake_wheel(wheels)
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.find_links = str(wheels)
    assert bpy.ops.timar.install_torch() == {'FINISHED'}
    job = extension.prefs._install
    assert job.state == "ok" and job.fraction == 1.0
    assert "--no-index" in job.cmd and "--find-links" in job.cmd and "--target" in job.cmd
    assert any("Successfully installed torch-0.0.1" in line for line in job.log)
    init = Path(extension.prefs.site_packages_dir()) / "torch" / "__init__.py"
    assert "FAKE = True" in init.read_text()
    # failure: no wheel in the folder -> an error report and the pip log kept
    empty = tmp_path / "empty"
    empty.mkdir()
    prefs.find_links = str(empty)
    with pytest.raises(RuntimeError, match="pip failed"):
        bpy.ops.timar.install_torch()
    job = extension.prefs._install
    assert job.state == "failed" and any("No matching distribution" in l for l in job.log)
    assert bpy.ops.timar.show_pip_log() == {'FINISHED'}
    assert "No matching distribution" in bpy.data.texts["TIMAR pip log"].as_string()


def test_disabling_mid_run_stops_worker_and_timer(extension, long_audio_pair, tiny_checkpoint):
    """Unregistering while the real (tiny) model runs on 150 s of audio must leave no thread
    and no timer behind (a timer left registered crashes 4.2 and hangs 4.5 at exit)."""
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.timar.add_demo_heads()
    s = bpy.context.scene.timar
    s.speaker_a.audio, s.speaker_b.audio = long_audio_pair
    s.checkpoint, s.device = str(tiny_checkpoint), 'CPU'
    jobs = extension.jobs
    job = jobs.start(extension.ops_generate.build_job(bpy.context.scene))
    assert bpy.app.timers.is_registered(jobs.poll) and job.worker.thread.is_alive()
    bpy.ops.preferences.addon_disable(module=MODULE)
    try:
        assert not bpy.app.timers.is_registered(jobs.poll)
        assert not job.worker.thread.is_alive()
        assert not hasattr(bpy.types, "TIMAR_OT_generate")
    finally:
        bpy.ops.preferences.addon_enable(module=MODULE)
    assert hasattr(bpy.types, "TIMAR_OT_generate")


def test_with_torch_manifest_lists_extra_wheels():
    """--with-torch appends the CPU torch wheels to the staged manifest's wheel list."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("timar_build", REPO / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    text = (REPO / "blender_manifest.toml").read_text()
    extra = [Path("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"),
             Path("sympy-1.14.0-py3-none-any.whl")]
    wheels = tomllib.loads(build.add_wheels_to_manifest(text, extra))["wheels"]
    assert wheels[:len(MANIFEST["wheels"])] == MANIFEST["wheels"]
    assert wheels[-2:] == [f"./wheels/{p.name}" for p in extra]
    assert build.wheel_tags("scipy-1.14.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl") == (
        "scipy", "1.14.1", ["cp311"], ["cp311"], ["manylinux_2_17_x86_64", "manylinux2014_x86_64"])
