# SPDX-License-Identifier: GPL-3.0-or-later
"""The extension in a real Blender window, used the way a user clicks through it.

Debian 13 packages Blender 4.3.2 (Python 3.13), PyTorch 2.6 (CPU), Xvfb and Mesa's
llvmpipe; tests/gui/make_root.sh builds such a system in a folder once
(.cache/gui-debian13/root). This module builds the extension zip with build.py, makes a
short dialogue from the bundled sample, and runs tests/gui/blender_session.py in Blender's
real window under Xvfb inside that folder (chroot, in a private mount namespace). The
session installs the zip with Blender's extension operator, adds the demo heads, opens the
TIMAR sidebar tab, runs Generate, Generate + Cancel, and Generate + quit. The tests below
judge what it recorded (result.json) and how the Blender process ended. Screenshots and
logs stay in out/gui/ ($TIMAR_GUI_OUT).

Run it with ``bash .ci/gui`` (or ``pytest tests/gui``); a wider pytest run skips it. It
skips with one line where the folder cannot be made: not root, no debootstrap, no network
to the Debian mirror. Debian's torch 2.6 is far slower than PyPI's, so the dialogue is short
and no timing here is a benchmark."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import wave
import zipfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CACHE = Path(os.environ.get("TIMAR_GUI_CACHE", REPO / ".cache" / "gui-debian13"))
ROOTFS = CACHE / "root"
STAMP = ROOTFS / ".timar-gui-root"
OUT = Path(os.environ.get("TIMAR_GUI_OUT", REPO / "out" / "gui"))
MIRROR = os.environ.get("GUI_DEBIAN_MIRROR", "http://deb.debian.org/debian")
DIALOGUE_S = 6                  # seconds of the sample dialogue (6 turns)
CANCEL_AFTER = 2                # turns before Cancel is pressed on the second run
# the whole Blender session, start to quit: about 2 minutes on an idle 2-core machine, far
# more where the CPU is shared (the first start compiles Mesa's shaders, cached afterwards)
SESSION_TIMEOUT_S = int(os.environ.get("TIMAR_GUI_TIMEOUT", "1200"))
QUIT_LIMIT_S = 20               # quitting in the middle of a generation, to process exit
INSIDE = "/tmp/timar-gui"       # the session's folder, seen from inside the chroot
HOME_INSIDE = "/var/cache/timar-gui-home"   # kept between runs: Mesa's shader cache


def say(msg: str) -> None:
    print(f"[gui] {msg}", flush=True)


def why_not() -> str | None:
    """One line saying why the Debian 13 folder cannot be made here, or None."""
    if STAMP.is_file():
        return None
    if os.geteuid() != 0:
        return "the real-window GUI test needs root (debootstrap, chroot) to make its Debian 13 folder"
    if shutil.which("debootstrap") is None:
        return "the real-window GUI test needs debootstrap (apt-get install debootstrap)"
    try:
        urllib.request.urlopen(f"{MIRROR}/dists/trixie/Release", timeout=15).close()
    except OSError as exc:
        return f"the real-window GUI test needs the Debian mirror {MIRROR} ({exc})"
    return None


def make_root(timings: dict) -> None:
    t = time.monotonic()
    for attempt in (1, 2):    # a mirror hiccup mid-download gets one more try
        proc = subprocess.run(["bash", str(HERE / "make_root.sh"), str(ROOTFS)],
                              capture_output=True, text=True, timeout=1500)
        if proc.returncode == 0:
            break
        say(f"making the Debian folder failed (attempt {attempt}): {proc.stdout[-300:]}")
    for line in proc.stdout.splitlines():
        say(line)
    if proc.returncode != 0:
        pytest.fail(f"could not make the Debian 13 folder:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    timings["root_s"] = round(time.monotonic() - t, 1)
    for key, pat in (("debootstrap_s", r"debootstrap took (\d+) s"),
                     ("apt_install_s", r"apt-get install took (\d+) s")):
        m = re.search(pat, proc.stdout)
        if m:
            timings[key] = int(m.group(1))


def build_zip(dest: Path, timings: dict) -> Path:
    """The zip a user downloads: build.py's, for linux-x64 where it writes one per platform."""
    t = time.monotonic()
    out = dest / "dist"
    proc = subprocess.run([sys.executable, str(REPO / "build.py"), "--output-dir", str(out)],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    assert proc.returncode == 0, f"build.py failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    zips = sorted(out.glob("*.zip"))
    linux = [z for z in zips if "linux" in z.name and "x64" in z.name]
    assert zips, f"build.py wrote no zip into {out}"
    timings["build_zip_s"] = round(time.monotonic() - t, 1)
    return (linux or zips)[0]


def compiled_wheel_tags(names) -> set[str]:
    """Python tags (cp311, cp313, ...) of the compiled wheels in a zip's file list."""
    tags = set()
    for n in names:
        if n.startswith("wheels/") and n.endswith(".whl"):
            parts = Path(n).name[:-4].split("-")
            if parts[-2] != "none":
                tags.update(parts[-3].split("."))
    return tags


def for_python313(zip_path: Path, dest: Path) -> tuple[Path, str | None]:
    """The zip itself when its compiled wheels include cp313 (or it has none); otherwise a
    copy without wheels (Blender 4.3 runs Python 3.13 and refuses cp311-only wheels; Debian's
    python3-soundfile serves instead), and a line saying so."""
    with zipfile.ZipFile(zip_path) as z:
        tags = compiled_wheel_tags(z.namelist())
        if not tags or "cp313" in tags:
            return zip_path, None
        repacked = dest / zip_path.name.replace(".zip", "-nowheels.zip")
        with zipfile.ZipFile(repacked, "w", zipfile.ZIP_DEFLATED) as out:
            for info in z.infolist():
                if info.filename.startswith("wheels/"):
                    continue
                data = z.read(info)
                if info.filename == "blender_manifest.toml":
                    text = data.decode("utf-8")
                    text, n = re.subn(r"(?ms)^wheels\s*=\s*\[.*?\]\s*\n", "", text)
                    assert n == 1, "the manifest's wheels list was not found"
                    data = text.encode("utf-8")
                out.writestr(info, data)
    note = (f"{zip_path.name} bundles compiled wheels for {', '.join(sorted(tags))} only, not "
            f"cp313 (Blender 4.3): installing a copy without its wheels "
            f"(Debian's python3-soundfile serves)")
    return repacked, note


def short_dialogue(dest: Path, seconds: float) -> list[Path]:
    """The first seconds of the bundled sample dialogue, both tracks."""
    paths = []
    for i in (1, 2):
        src = REPO / "assets" / "sample" / f"sample_speaker{i}.wav"
        dst = dest / f"short_speaker{i}.wav"
        with wave.open(str(src), "rb") as r, wave.open(str(dst), "wb") as w:
            w.setparams(r.getparams())
            w.writeframes(r.readframes(int(seconds * r.getframerate())))
        paths.append(dst)
    return paths


def run_blender(zip_path: Path, audio: list[Path]) -> dict:
    """Blender's real window under Xvfb in the Debian 13 folder; returns how it went."""
    work = ROOTFS / INSIDE.lstrip("/")
    if work.exists():
        shutil.rmtree(work)
    (work / "out").mkdir(parents=True)
    for p in [zip_path, *audio, HERE / "blender_session.py"]:
        shutil.copy2(p, work / p.name)
    cmd_inside = [
        "/usr/bin/env", "-i", f"HOME={HOME_INSIDE}", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG=C.UTF-8", f"BLENDER_USER_RESOURCES={INSIDE}/user",
        "xvfb-run", "-a", "-s", "-screen 0 1280x800x24 +extension GLX",
        "blender", "--factory-startup", "--python-exit-code", "3",
        "--python", f"{INSIDE}/blender_session.py", "--",
        "--zip", f"{INSIDE}/{zip_path.name}", "--audio-a", f"{INSIDE}/{audio[0].name}",
        "--audio-b", f"{INSIDE}/{audio[1].name}", "--out", f"{INSIDE}/out",
        "--cancel-after-turns", str(CANCEL_AFTER), "--deadline", str(SESSION_TIMEOUT_S - 60)]
    script = ('R="$1"; shift; mount -t proc proc "$R/proc"; mount --rbind /dev "$R/dev"; '
              'exec chroot "$R" "$@"')
    cmd = ["unshare", "--mount", "--propagation", "private", "--", "bash", "-euc", script,
           "_", str(ROOTFS), *cmd_inside]
    lines: list[tuple[float, str]] = []
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace", start_new_session=True)

    def read():
        for line in proc.stdout:
            lines.append((time.monotonic() - t0, line.rstrip("\n")))
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=SESSION_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    end = time.monotonic() - t0
    reader.join(timeout=10)

    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*"):
        if old.is_file():
            old.unlink()
    for p in (work / "out").glob("*"):
        shutil.copy2(p, OUT / p.name)
    (OUT / "blender.log").write_text("".join(f"{t:8.2f} {s}\n" for t, s in lines))
    quit_line = next((t for t, s in lines if "quitting in the middle" in s), None)
    result_path = OUT / "result.json"
    return {"rc": proc.returncode, "timed_out": timed_out, "wall_s": round(end, 1),
            "quit_to_exit_s": None if quit_line is None else round(end - quit_line, 2),
            "log": [s for _, s in lines],
            "result": json.loads(result_path.read_text()) if result_path.is_file() else None}


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    reason = why_not()
    if reason:
        pytest.skip(reason)
    timings: dict = {}
    make_root(timings)
    tmp = tmp_path_factory.mktemp("gui")
    built = build_zip(tmp, timings)
    zip_path, note = for_python313(built, tmp)
    if note:
        say(note)
    audio = short_dialogue(tmp, DIALOGUE_S)
    say(f"Blender session: {zip_path.name}, a {DIALOGUE_S} s dialogue (up to {SESSION_TIMEOUT_S} s)")
    run = run_blender(zip_path, audio)
    timings["blender_session_s"] = run["wall_s"]
    run["timings"], run["repacked"] = timings, note
    (OUT / "timings.json").write_text(json.dumps({**timings, "repacked": note}, indent=1))
    say(f"timings: {json.dumps(timings)}; screenshots and logs in {OUT}")
    if run["result"] is None:
        tail = "\n".join(run["log"][-60:])
        pytest.fail(f"the Blender session wrote no result (rc {run['rc']}):\n{tail}")
    return run


def _r(session) -> dict:
    return session["result"]


def test_session_ran_to_the_end(session):
    r = _r(session)
    assert not r["errors"], f"{r['errors']}\n{r.get('traceback', '')}"
    assert [p["name"] for p in r["phases"]] == ["install", "stage", "generate", "cancel", "quit"]
    assert r["background"] is False, "Blender ran in background mode, not in a window"
    assert r["gpu"]["renderer"], "no OpenGL renderer (Mesa's llvmpipe under Xvfb)"
    assert r["window"][0] >= 800 and r["window"][1] >= 600


def test_installed_from_the_zip_with_blenders_operator(session):
    r = _r(session)
    assert r["install"]["ret"] == ["FINISHED"], r["install"]
    assert r["install"]["addon_enabled"] and r["install"]["operators"], r["install"]
    assert r["torch_available"], "Debian's python3-torch is not importable in Blender"


def test_demo_heads_and_the_sidebar_tab(session):
    r = _r(session)
    assert r["add_demo_heads"] == ["FINISHED"]
    assert all(r["stage"]["heads"]), r["stage"]
    assert r["stage"]["sidebar_category"] == "TIMAR", r["stage"]
    assert "Cube" not in r["stage"]["objects"]


def _running(run) -> list[dict]:
    return [s for s in run["samples"] if s["running"]]


def _generate_run(r) -> dict:
    return next(p for p in r["phases"] if p["name"] == "generate")


def test_generate_runs_in_the_background_with_a_live_progress_bar(session):
    run = _generate_run(_r(session))
    assert run["poll_before"] and run["invoke"] == ["FINISHED"], run.get("invoke")
    live = _running(run)
    assert len(live) >= 10, f"only {len(live)} samples while running"
    factors = [s["factor"] for s in live]
    assert factors == sorted(factors), "the progress went backwards"
    assert len(set(factors)) >= 4, f"the progress took only the values {sorted(set(factors))}"
    final = run["final"]
    assert not final["running"] and final["factor"] == pytest.approx(1.0)
    assert final["turns"] is None or final["turns"][0] == final["turns"][1]
    assert run["poll_after"], "Generate stayed disabled after the run ended"


def turn_times(run) -> list[float]:
    """When the progress moved, from the samples (one step a turn)."""
    out, last = [run["invoke_returned_t"]], None
    for smp in _running(run):
        if last is not None and smp["factor"] != last:
            out.append(smp["t"])
        last = smp["factor"]
    return out


def typical_turn_s(run) -> float:
    steps = turn_times(run)
    turn_s = sorted(b - a for a, b in zip(steps, steps[1:]))
    return turn_s[len(turn_s) // 2] if turn_s else 0.0


def test_the_window_keeps_redrawing_while_it_runs(session):
    """The main thread stays free while the model works: a 50 ms heartbeat timer never
    stops for anything near a turn's compute time (a turn computed on the main thread would
    stop it that long, however fast the machine), and the sidebar redraws each new value."""
    r = _r(session)
    run = _generate_run(r)
    t0, t1 = run["invoke_returned_t"], run["end_t"]
    beats = [t for t in r["heartbeat"] if t0 <= t <= t1]
    gaps = [b - a for a, b in zip([t0] + beats, beats + [t1])]
    steps = turn_times(run)
    turn_s = sorted(b - a for a, b in zip(steps, steps[1:]))
    assert len(turn_s) >= 3, f"too few progress steps to judge: {steps}"
    typical_turn = turn_s[len(turn_s) // 2]
    say(f"heartbeat: {len(beats)} ticks over {t1 - t0:.1f} s, longest gap {max(gaps):.2f} s; "
        f"median turn {typical_turn:.2f} s")
    assert max(gaps) < max(2.0, 0.5 * typical_turn), (
        f"the UI stopped for {max(gaps):.1f} s while a turn took {typical_turn:.1f} s")
    ui = [d for d in r["draws"]["UI"] if t0 <= d[0] <= t1]
    view = [d for d in r["draws"]["WINDOW"] if t0 <= d[0] <= t1]
    drawn = sorted({d[1] for d in ui if d[2]})
    assert len(ui) >= 5 and len(view) >= 3, (len(ui), len(view))
    assert len(drawn) >= 3, f"the sidebar was drawn with the progress values {drawn} only"


def test_keys_appear_turn_by_turn(session):
    run = _generate_run(_r(session))
    final = run["final"]
    for label in "AB":
        counts = [s[label]["keys"] for s in _running(run)]
        assert counts == sorted(counts), f"head {label}: keys disappeared while generating"
        partial = sorted({c for c in counts if 0 < c < final[label]["keys"]})
        assert len(partial) >= 3, f"head {label}: key counts seen while running: {partial}"


def test_both_heads_are_keyed_over_the_dialogue(session):
    run = _generate_run(_r(session))
    fps = _r(session)["stage"]["fps"]
    want_last = 1 + DIALOGUE_S * fps - 1
    for label in "AB":
        k = run["final"][label]
        assert k["keys"] > 0 and len(k["actions"]) == 2, k
        assert abs(k["last_frame"] - want_last) <= 2, (label, k["last_frame"], want_last)
    for pose in (run["pose"], run["pose_B"]):
        neck = {tuple(p[1:5]) for p in pose}
        mouth = {p[-1] for p in pose}          # the jawOpen key
        assert len(neck) > 3 and len(mouth) > 3, "the keys do not move the head on playback"


def test_cancel_keeps_the_turns_written_and_nothing_else_changes(session):
    r = _r(session)
    run = next(p for p in r["phases"] if p["name"] == "cancel")
    assert "cancel_t" in run, "the second run ended before Cancel could be pressed"
    assert run["cancel_poll"] and run["cancel_ret"] == ["FINISHED"], run
    final = run["final"]
    assert not final["running"] and run["poll_after"]
    turn = typical_turn_s(_generate_run(r))
    assert run["end_t"] - run["cancel_t"] < max(15.0, 3 * turn), (
        f"Cancel took {run['end_t'] - run['cancel_t']:.1f} s to stop; a turn takes {turn:.1f} s")
    assert final["factor"] < 1.0, f"the cancelled run went to the end ({final['text']})"
    if final["turns"]:
        done, total = final["turns"]
        assert CANCEL_AFTER <= done < total, final["turns"]
    fps = r["stage"]["fps"]
    for label in "AB":
        k = final[label]
        assert k["keys"] > 0 and k["actions"] and all("take 2" in a for a in k["actions"]), k
        assert k["last_frame"] < DIALOGUE_S * fps - fps / 2, (label, k)
        assert k["last_frame"] >= CANCEL_AFTER * fps - 2, (label, k)
        muted = [t for t in run["nla"][label] if any("take 1" in a for a in t["actions"])]
        assert muted and all(t["mute"] for t in muted), run["nla"][label]
    assert run["take1_unchanged"], "the first take changed during the cancelled run"
    assert run["objects_after"] == run["objects_before"]
    pose = run["pose"]
    assert len({tuple(p[1:5]) for p in pose}) > 2, "the cancelled take does not play"


def test_quitting_in_the_middle_of_a_generation_is_clean(session):
    r = _r(session)
    run = next(p for p in r["phases"] if p["name"] == "quit")
    assert r.get("quit_requested"), "the session never got to quitting"
    assert any(s["running"] and s["A"]["keys"] > 0 for s in run["samples"])
    assert not session["timed_out"], f"Blender did not exit (killed after {SESSION_TIMEOUT_S} s)"
    assert session["rc"] == 0, f"Blender exited with {session['rc']}:\n" + "\n".join(session["log"][-40:])
    limit = max(QUIT_LIMIT_S, 3 * typical_turn_s(_generate_run(r)))
    assert session["quit_to_exit_s"] is not None and session["quit_to_exit_s"] < limit, (
        f"quitting took {session['quit_to_exit_s']} s (limit {limit:.0f} s)")
    after = session["log"][next(i for i, s in enumerate(session["log"])
                                if "quitting in the middle" in s):]
    bad = [s for s in after if re.search(r"Traceback|Segmentation fault|Error:", s)]
    assert not bad, "\n".join(after)


def test_screenshots_were_taken(session):
    r = _r(session)
    assert r["screenshot_rc"] and all(rc == 0 for rc in r["screenshot_rc"]), r["screenshot_rc"]
    for name in ("1_rest", "2_generating", "3_finished", "4_cancelled"):
        path = OUT / r["screenshots"][name]["file"]
        assert path.is_file() and path.stat().st_size > 20_000, path
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
