"""Build the synthetic dyadic corpus in the DualTalk layout (see the package docstring).

Each dialogue is one task: lay out the two speakers' speech (:mod:`.dialogue`), run the
motion teacher on the two tracks (:mod:`.teacher`) and write
``<split>/<id>_speaker{1,2}.wav/.npz``. Tasks run in a process pool; every random choice
comes from a seed derived from (corpus seed, split, dialogue index), so the output does not
depend on the number of jobs.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context

import numpy as np
import soundfile as sf

from ..face import flame
from ..constants import SAMPLE_RATE
from ..errors import TimarError
from . import fillets, phone_offsets, phones, stats as motion_stats
from .licences import voice_licence
from .dialogue import LayoutConfig, layout
from .talkers import TTSTalker
from .teacher import dialogue_motion, random_style, teacher_parameters
from .voices import corpus_voices, random_voice, tool_missing

SPLIT_CODES = {"train": 1, "test": 2, "ood": 3, "sample": 4}
DURATION_S = (40.0, 90.0)
MIN_LAST_S = 20.0
VERSION = 2          # 2: phone timelines and voice licences


@dataclass
class CorpusConfig:
    out: str
    hours: float = 3.0
    test_minutes: float = 20.0
    ood_minutes: float = 20.0
    seed: int = 0
    jobs: int = 2
    overlap: float = 0.15
    stats_path: str = str(motion_stats.DEFAULT_STATS)
    command: str = ""
    splits: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        self.splits = {"train": self.hours * 3600, "test": self.test_minutes * 60,
                       "ood": self.ood_minutes * 60}


@dataclass
class Task:
    split: str
    index: int
    duration_s: float
    seed: int
    out: str
    overlap: float
    stats_path: str

    @property
    def dialogue_id(self) -> str:
        return f"timar_{self.split}_{self.index:04d}"

    def seed_sequence(self) -> np.random.SeedSequence:
        return np.random.SeedSequence([self.seed, SPLIT_CODES[self.split], self.index])


def plan(cfg: CorpusConfig) -> list[Task]:
    """Dialogue durations of every split, drawn from the seed until each split is full."""
    tasks: list[Task] = []
    for split, target in cfg.splits.items():
        rng = np.random.default_rng([cfg.seed, SPLIT_CODES[split], 999_999])
        total, index = 0.0, 0
        while total < target - 1e-6:
            d = float(rng.uniform(*DURATION_S))
            if total + d > target:
                d = max(target - total, MIN_LAST_S)
            d = round(d + 0.005, 2)                   # never round a split short
            tasks.append(Task(split, index, d, cfg.seed, cfg.out, cfg.overlap, cfg.stats_path))
            total += d
            index += 1
    return tasks


_STATS: dict[str, dict] = {}


def _stats(path: str) -> dict:
    if path not in _STATS:
        _STATS[path] = motion_stats.load(path)
    return _STATS[path]


def voice_pair(task: Task, rng: np.random.Generator) -> list[tuple[str, str]]:
    """Speaker identities of a train/test dialogue. Train dialogue i takes entries 2i and
    2i+1 of the corpus voice list (cyclically), so every voice is trained on once there are
    enough dialogues; test dialogues draw two distinct voices from the same list."""
    pool = corpus_voices(task.seed)
    if task.split == "train":
        return [pool[(2 * task.index) % len(pool)], pool[(2 * task.index + 1) % len(pool)]]
    i, j = rng.choice(len(pool), 2, replace=False)
    return [pool[int(i)], pool[int(j)]]


def make_talkers(task: Task, rngs: list[np.random.Generator]) -> tuple[list, list[dict]]:
    """The two talkers of a dialogue and a description of each for the manifest."""
    if task.split == "ood":
        langs = fillets.available()
        lang = langs[task.index % len(langs)]
        lines = fillets.fish_lines(lang)
        levels = sorted({p.split(os.sep)[-3] for p in lines["m"]})
        level = levels[int(rngs[0].integers(len(levels)))]
        order = ["m", "v"] if rngs[0].random() < 0.5 else ["v", "m"]
        talkers = []
        for who in order:
            paths = lines[who]
            start = next((i for i, p in enumerate(paths) if p.split(os.sep)[-3] >= level), 0)
            talkers.append(fillets.FishTalker(lang, who, paths, start=start))
        desc = [{"engine": "recorded", "language": lang, "character": fillets.CHARACTERS[w],
                 "files": f"*-{w}-*.ogg", "first_level": level} for w in order]
        return talkers, desc
    voices = [random_voice(rngs[0], ident) for ident in voice_pair(task, rngs[0])]
    talkers = [TTSTalker(v, r) for v, r in zip(voices, rngs[1:3])]
    return talkers, [v.as_dict() for v in voices]


def make_dialogue(task: Task) -> dict:
    """Synthesise one dialogue, write its four files, return its manifest entry."""
    t0 = time.time()
    ss = task.seed_sequence()
    s_layout, s_voice, s_text1, s_text2, s_style, s_motion = ss.spawn(6)
    rngs = [np.random.default_rng(s) for s in (s_voice, s_text1, s_text2)]
    talkers, voices = make_talkers(task, rngs)
    lay = layout((talkers[0], talkers[1]), task.duration_s, np.random.default_rng(s_layout),
                 LayoutConfig(overlap=task.overlap))
    stats = _stats(task.stats_path)
    style_rng = np.random.default_rng(s_style)
    styles = (random_style(style_rng, stats), random_style(style_rng, stats))
    motions = dialogue_motion(lay.tracks, styles, stats, s_motion)
    folder = os.path.join(task.out, task.split)
    os.makedirs(folder, exist_ok=True)
    has_phones = []
    for i in range(2):
        base = os.path.join(folder, f"{task.dialogue_id}_speaker{i + 1}")
        sf.write(base + ".wav", lay.tracks[i], SAMPLE_RATE, subtype="PCM_16")
        flame.save_motion_npz(base + ".npz", motions[i])
        has_phones.append(write_track_phones(base + "_phones.json", lay, i + 1, voices[i]))
    return {
        "id": task.dialogue_id, "split": task.split, "seconds": len(lay.tracks[0]) / SAMPLE_RATE,
        "frames": int(len(motions[0])), "voices": voices,
        "phones": has_phones, "overlap": round(lay.overlap, 4),
        "turns": sum(s["kind"] == "turn" for s in lay.segments),
        "backchannels": sum(s["kind"] == "backchannel" for s in lay.segments),
        "speech_level_db": [round(x, 2) for x in lay.levels_db],
        "noise_level_db": [round(x, 2) for x in lay.noise_db],
        "styles": [s.as_dict() for s in styles], "build_s": round(time.time() - t0, 2),
    }


def write_track_phones(path: str, lay, speaker: int, voice: dict) -> bool:
    """Write the phone timeline of one speaker's whole track (silence while they listen);
    False, and nothing written, when the speaker's phones are unknown (recorded voices)."""
    pieces = [s["phones"] for s in lay.segments if s["speaker"] == speaker and "phones" in s]
    if not pieces:
        return False
    duration = lay.tracks.shape[1] / SAMPLE_RATE
    timeline = phones.track_timeline(pieces, duration)
    phones.check_timeline(timeline, duration)
    with open(path, "w") as f:
        f.write(phones.to_json(timeline, speaker=speaker, seconds=duration,
                               voice=f"{voice['engine']}:{voice['name']}",
                               offset_s=phone_offsets.offset(f"{voice['engine']}:{voice['name']}")))
    return True


def check_tools(cfg: CorpusConfig) -> None:
    missing = tool_missing() if cfg.splits["train"] + cfg.splits["test"] > 0 else []
    if missing:
        raise TimarError(f"speech synthesisers missing: {', '.join(missing)}; run .ci/setup")
    if cfg.splits["ood"] > 0 and not fillets.available():
        raise TimarError("the recorded OOD voices are missing: install the Debian packages "
                         "fillets-ng-data-nl and fillets-ng-data-cs (run .ci/setup)")


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=10, text=True)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception:  # noqa: BLE001 - informational only
        return "unknown"


def build(cfg: CorpusConfig, progress=print) -> dict:
    """Build the corpus under ``cfg.out`` and return the manifest (also written there)."""
    check_tools(cfg)
    motion_stats.load(cfg.stats_path)             # fail early if missing
    for split in cfg.splits:
        folder = os.path.join(cfg.out, split)
        if os.path.isdir(folder) and os.listdir(folder):
            raise TimarError(f"{folder} is not empty; build into a new folder (old dialogues "
                             "would mix with the new ones)")
    tasks = plan(cfg)
    t0 = time.time()
    entries: list[dict] = []
    ordered = sorted(tasks, key=lambda t: -t.duration_s)
    if cfg.jobs <= 1:
        results = map(make_dialogue, ordered)
        pool = None
    else:
        pool = get_context("fork").Pool(cfg.jobs)
        results = pool.imap_unordered(make_dialogue, ordered)
    try:
        for entry in results:
            entries.append(entry)
            if len(entries) % 10 == 0 or len(entries) == len(tasks):
                progress(f"[corpus] {len(entries)}/{len(tasks)} dialogues, "
                         f"{time.time() - t0:.0f} s")
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    entries.sort(key=lambda e: (SPLIT_CODES[e["split"]], e["id"]))
    manifest = make_manifest(cfg, entries, time.time() - t0)
    with open(os.path.join(cfg.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    with open(os.path.join(cfg.out, "README.md"), "w") as f:
        f.write(readme(manifest))
    return manifest


def make_manifest(cfg: CorpusConfig, entries: list[dict], elapsed: float) -> dict:
    with open(cfg.stats_path, "rb") as f:
        stats_sha = hashlib.sha256(f.read()).hexdigest()
    splits = {}
    for split in cfg.splits:
        es = [e for e in entries if e["split"] == split]
        ids = sorted({v.get("engine", "") + ":" + v.get("name", v.get("character", ""))
                      + (":" + v["language"] if "language" in v else "")
                      for e in es for v in e["voices"]})
        splits[split] = {"dialogues": len(es), "hours": round(sum(e["seconds"] for e in es) / 3600, 4),
                         "mean_overlap": round(float(np.mean([e["overlap"] for e in es])), 4) if es else 0,
                         "voices": ids}
    return {
        "generator": "TIMAR for Blender corpus synthesiser", "version": VERSION,
        "command": cfg.command or " ".join(sys.argv),
        "config": {k: v for k, v in asdict(cfg).items() if k not in ("splits", "command")},
        "seed": cfg.seed, "split_seconds_target": cfg.splits,
        "duration_range_s": DURATION_S, "layout": asdict(LayoutConfig(overlap=cfg.overlap)),
        "motion_stats_sha256": stats_sha, "teacher": teacher_parameters(),
        "voice_list": [f"{e}:{n}" for e, n in corpus_voices(cfg.seed)],
        "voice_licences": {**{f"{e}:{n}": voice_licence(e, n) for e, n in corpus_voices(cfg.seed)},
                           **({"recorded:fillets": voice_licence("recorded", "fillets")}
                              if cfg.splits["ood"] > 0 else {})},
        "tools": {"espeak-ng": _version(["espeak-ng", "--version"]),
                  "flite": _version(["flite", "--version"]),
                  "festival": _version(["festival", "--version"])},
        "build_seconds": round(elapsed, 1), "jobs": cfg.jobs,
        "splits": splits, "dialogues": entries,
    }


def readme(manifest: dict) -> str:
    s = manifest["splits"]
    lines = [
        "# TIMAR synthetic dyadic corpus", "",
        f"Made by `{manifest['command']}` (seed {manifest['seed']}, generator version "
        f"{manifest['version']}) in {manifest['build_seconds']:.0f} s with {manifest['jobs']} jobs.",
        "Everything about how it was made is in `manifest.json`.", "",
        "Layout (DualTalk): `<split>/<id>_speaker{1,2}.wav` (16 kHz mono, each speaker on their",
        "own track) and `<id>_speaker{1,2}.npz` (`exp` (T, 50), `pose` (T, 6) = neck ++ jaw,",
        "float32, 25 fps), and for synthesised speakers `<id>_speaker{1,2}_phones.json`: the",
        "phone timeline of the whole track (ARPAbet, start/end seconds, vowel stress; `sil` while",
        "silent), from the speech engine, shifted by the voice's calibrated offset.", "",
        "| split | dialogues | hours | voices |", "|---|---|---|---|",
    ]
    for name, info in s.items():
        lines.append(f"| {name} | {info['dialogues']} | {info['hours']:.3f} | {len(info['voices'])} |")
    lines += [
        "", "- train/test: English sentences from a template grammar spoken by espeak-ng,",
        "  flite and festival voices (test: new texts and speaking styles, same voices).",
        "- ood: recorded Dutch and Czech actors (Fish Fillets NG voice packs, the small and",
        "  the big fish), never heard in training.",
        "- Motion: the procedural teacher in `model_core/corpus/teacher.py`, calibrated on",
        "  real FLAME statistics (`assets/flame_motion_stats.npz`, from one DualTalk dialogue,",
        "  Peng et al., CVPR 2025). It is synthetic motion, not captured.", "",
    ]
    return "\n".join(lines)
