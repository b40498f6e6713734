# SPDX-License-Identifier: GPL-3.0-or-later
"""Install PyTorch's choice of build and pip command for each OS, CPU, Python and GPU
(torch_plan.py), and the one-line diagnoses of a PyTorch that cannot serve (torch_check.py).
Both modules are pure: loaded by path, no bpy."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ADDON = Path(__file__).resolve().parents[2] / "timar_blender"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"timar_pure_{name}", ADDON / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


tp = _load("torch_plan")
tc = _load("torch_check")
PIN = f"torch=={tp.TORCH_VERSION}"
CPU, CUDA = tp.INDEX["CPU"], tp.INDEX["CUDA"]


@pytest.mark.parametrize("os_name, arch, python, nvidia, build, index", [
    # Blender 4.2-5.0 (3.11) and 5.1-5.2 (3.13) on each platform
    ("windows", "x86_64", (3, 11), True, "CUDA", CUDA),
    ("windows", "x86_64", (3, 13), True, "CUDA", CUDA),
    ("windows", "x86_64", (3, 11), False, "CPU", CPU),
    ("windows", "x86_64", (3, 13), False, "CPU", CPU),
    ("linux", "x86_64", (3, 11), True, "CUDA", CUDA),
    ("linux", "x86_64", (3, 13), True, "CUDA", CUDA),
    ("linux", "x86_64", (3, 11), False, "CPU", CPU),
    ("linux", "x86_64", (3, 13), False, "CPU", CPU),
    ("linux", "arm64", (3, 13), True, "CPU", CPU),        # no CUDA wheel for Linux ARM here
    ("windows", "arm64", (3, 11), False, "CPU", CPU),
    ("macos", "arm64", (3, 11), False, "DEFAULT", None),   # PyPI's build: Apple GPU (MPS)
    ("macos", "arm64", (3, 13), False, "DEFAULT", None),
])
def test_automatic_build_per_machine(os_name, arch, python, nvidia, build, index):
    m = tp.Machine(os_name, arch, python, nvidia)
    p = tp.plan(m)
    assert (p.build, p.index_url, p.packages, p.offline) == (build, index, (PIN,), False)
    cmd = p.command("/blender/python", "/ext/site")
    assert cmd[:6] == ["/blender/python", "-m", "pip", "install", "--target", "/ext/site"]
    assert cmd[-1] == PIN and "--no-index" not in cmd and "--isolated" not in cmd
    assert p.env() == {}                 # online: the user's pip settings (proxy) apply
    if index:
        assert cmd[cmd.index("--index-url") + 1] == index
        assert cmd[cmd.index("--extra-index-url") + 1] == tp.PYPI
    else:
        assert "--index-url" not in cmd
    assert f"Python {python[0]}.{python[1]}" in p.why


@pytest.mark.parametrize("os_name, arch, nvidia", [
    ("linux", "x86_64", True), ("windows", "x86_64", False), ("macos", "arm64", False)])
@pytest.mark.parametrize("python", [(3, 11), (3, 13)])
def test_offline_from_a_wheel_folder_never_names_an_index(os_name, arch, nvidia, python):
    p = tp.plan(tp.Machine(os_name, arch, python, nvidia), "AUTO", "/studio/wheels",
                "torch transformers==4.57.6")
    args = p.pip_args()
    assert p.offline and args[:4] == ["--isolated", "--no-index", "--find-links", "/studio/wheels"]
    assert args[4:] == [PIN, "transformers==4.57.6"]
    assert p.env() == {"PIP_CONFIG_FILE": os.devnull}        # the machine's pip settings unread
    assert not any("http" in a for a in p.command("py", "t"))
    assert "offline from /studio/wheels" in p.why


def test_chosen_builds_and_what_cannot_be_installed():
    win = tp.Machine("windows", "x86_64", (3, 11), False)
    assert tp.plan(win, "CUDA").index_url == CUDA           # asked for: no GPU check
    assert tp.plan(tp.Machine("linux", "x86_64", (3, 13), True), "CPU").index_url == CPU
    assert tp.plan(win, "DEFAULT").build == "CPU"           # PyPI defaults differ per OS
    assert tp.plan(win, "AUTO", packages="torch==2.13.0").packages == ("torch==2.13.0",)
    with pytest.raises(tp.PlanError, match="no CUDA build of PyTorch for macos arm64"):
        tp.plan(tp.Machine("macos", "arm64", (3, 11)), "CUDA")
    with pytest.raises(tp.PlanError, match="Intel Macs"):
        tp.plan(tp.Machine("macos", "x86_64", (3, 11)))
    with pytest.raises(tp.PlanError, match="Python 3.9"):
        tp.plan(tp.Machine("linux", "x86_64", (3, 9)))
    with pytest.raises(tp.PlanError, match="unknown build"):
        tp.plan(win, "ROCM")


def test_machine_facts():
    assert [tp.normalise_os(n) for n in ("win32", "darwin", "linux")] == ["windows", "macos", "linux"]
    assert [tp.normalise_arch(a) for a in ("AMD64", "aarch64", "arm64", "x86_64")] == \
        ["x86_64", "arm64", "arm64", "x86_64"]
    assert tp.has_nvidia_driver("linux", exists=lambda p: p == "/proc/driver/nvidia/version",
                                which=lambda _: None)
    assert not tp.has_nvidia_driver("linux", exists=lambda _: False, which=lambda _: None)
    assert tp.has_nvidia_driver("windows", exists=lambda p: p.endswith("nvcuda.dll"),
                                which=lambda _: None)
    assert not tp.has_nvidia_driver("macos", exists=lambda _: True, which=lambda _: "/x")
    here = tp.this_machine()
    assert here.python == sys.version_info[:2] and here.os in ("linux", "windows", "macos")


def _dist_info(site: Path, tag: str) -> None:
    d = site / "torch-2.13.0.dist-info"
    d.mkdir(parents=True)
    (d / "WHEEL").write_text(f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n")


def test_torch_built_for_another_python(tmp_path):
    _dist_info(tmp_path, "cp311-cp311-manylinux_2_28_x86_64")
    assert tc.wheel_pythons(str(tmp_path)) == {"cp311"}
    sev, line = tc.diagnose("ImportError: No module named 'torch._C'", str(tmp_path), (3, 13))
    assert sev == "ERROR" and "is for Python 3.11, this Blender runs Python 3.13" in line
    assert "Install PyTorch" in line and "\n" not in line
    assert tc.diagnose(site=str(tmp_path), python=(3, 11), cuda_built=False) is None


def test_diagnoses_are_one_line_each():
    sev, line = tc.diagnose("OSError: libtorch_cpu.so: cannot open shared object file\nmore")
    assert sev == "ERROR" and line.startswith("PyTorch does not import (OSError: libtorch_cpu")
    assert "\n" not in line and "reinstall" in line
    sev, line = tc.diagnose(cuda_built=True, cuda_available=False)
    assert sev == "INFO" and "CUDA build but no working NVIDIA driver" in line
    sev, line = tc.diagnose(cuda_built=False, cuda_available=False, nvidia_driver=True)
    assert sev == "INFO" and "CPU build" in line
    assert tc.diagnose(cuda_built=False, nvidia_driver=True, os_name="macos") is None
    assert tc.diagnose(cuda_built=True, cuda_available=True) is None
    assert tc.python_tag((3, 13)) == "cp313"
