# SPDX-License-Identifier: GPL-3.0-or-later
"""The batch's command line: options, the dialogues and shard they name, the loop over
them, the summary and the exit status (see the README's Batch rendering section).

    python -m timar_blender.batch --sample --render --out out/sample
    python -m timar_blender.batch --manifest dialogues.csv --render --out out --shard 0/4
    blender -b --python-expr "import timar_blender.batch as b, sys; sys.exit(b.main())" -- ARGS

Exit status: 0 every dialogue done (or already complete), 1 some failed, 2 nothing could
start (bad options, manifest, output folder or model), 70 an internal error (a bug: one
line on screen, the traceback in the log file it names; the other dialogues went on)."""
from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from pathlib import Path

from .. import core, generation, jobs, site_packages
from ..errors import ManifestError
from .contact import parse_contact_range
from .dialogue import process
from .lock import DialogueLock
from .manifest import (FILE_COLUMNS, BadRow, check_unique, make_dialogue, parse_shard,
                       read_manifest, sample_dialogue, select_shard)
from .outputs import REPORT_VERSION, Outputs, completion, write_json
from .preflight import input_problems
from .progress import BatchProgress
from .render import ENGINES, RenderOptions, parse_resolution
from .settings import BatchSettings

PROG = "python -m timar_blender.batch"
EXIT_INTERNAL = core.last_resort.EXIT_INTERNAL


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=(
        "Generate TIMAR dialogues into .blend files (and optionally MP4 + contact sheet) "
        "without opening Blender. Finished dialogues are skipped on a re-run."))
    src = p.add_argument_group("what to process (one of)")
    src.add_argument("--sample", action="store_true", help="the bundled sample dialogue (output name 'sample')")
    src.add_argument("--audio-a", help="speaker A's audio (with --audio-b)")
    src.add_argument("--audio-b", help="speaker B's audio")
    src.add_argument("--manifest", help="CSV or JSON: one dialogue per row (audio_a, audio_b, "
                                        "and optional name, template, head_a, head_b, preset)")
    one = p.add_argument_group("a single dialogue (--audio-a/--audio-b)")
    one.add_argument("--name", help="output name (default: from the audio file name)")
    one.add_argument("--template", help="a .blend holding the two heads (default: demo heads)")
    one.add_argument("--head-a", help="speaker A's head object in the template")
    one.add_argument("--head-b", help="speaker B's head object in the template")
    one.add_argument("--preset", help="rig preset (timar_demo, flame, arkit) or a mapping .json")
    one.add_argument("--dials-a", metavar="NAME=X,..", help="head A's strengths: jaw, lips, "
                     "expression, head, eyes (1 = as generated, 0 = off), e.g. jaw=1.2,eyes=0.5")
    one.add_argument("--dials-b", metavar="NAME=X,..", help="head B's strengths, as --dials-a")
    given = one.add_mutually_exclusive_group()
    given.add_argument("--motion-a", help="FLAME npz or Live Link Face CSV take keyed onto head A "
                                          "as it is; only B is generated")
    given.add_argument("--motion-b", help="FLAME npz or Live Link Face CSV take keyed onto head B "
                                          "as it is; only A is generated")
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--shard", help="I/N: process dialogues I, I+N, I+2N... (0 <= I < N)")
    p.add_argument("--force", action="store_true", help="redo dialogues that are complete")
    p.add_argument("--live-link-csv", action="store_true",
                   help="also write each head's ARKit curves and head rotation as a Live Link "
                        "Face CSV take (NAME_speaker1_livelink.csv, NAME_speaker2_livelink.csv)")
    p.add_argument("--list", action="store_true",
                   help="only list this shard's dialogues and whether each is complete")
    gen = p.add_argument_group("generation")
    gen.add_argument("--checkpoint", help="model checkpoint (default: the bundled model)")
    gen.add_argument("--speech-model", metavar="DIR",
                     help="local wav2vec2 folder, for the official TIMAR.pth weights "
                          "(default: $TIMAR_SPEECH_MODEL)")
    gen.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--context-turns", type=int, default=7)
    gen.add_argument("--steps", type=int, default=5, help="diffusion sampling steps")
    gen.add_argument("--temperature", type=float, default=1.0)
    ren = p.add_argument_group("rendering")
    ren.add_argument("--render", action="store_true", help="also write NAME.mp4 and NAME_contact.png")
    ren.add_argument("--engine", default="CYCLES", type=str.upper, choices=ENGINES)
    ren.add_argument("--resolution", default="480x270", help="WIDTHxHEIGHT (default 480x270)")
    ren.add_argument("--samples", type=int, default=0,
                     help="render samples (default: Cycles 4, EEVEE 16)")
    ren.add_argument("--frames-step", type=int, default=0,
                     help="contact sheet: every N-th frame (default: 12 frames spread evenly)")
    ren.add_argument("--contact-range", default=None, metavar="FIRST:LAST",
                     help="contact sheet: only these frames, every --frames-step-th (default "
                          "every frame), e.g. 100:124 for one second of consecutive frames")
    ren.add_argument("--render-timeout", type=float, default=300.0,
                     help="stop a render that makes no progress for this many seconds")
    return p


def _argv(argv):
    if argv is not None:
        return list(argv)
    if "--" in sys.argv:                       # blender -b --python-expr ... -- ARGS
        return sys.argv[sys.argv.index("--") + 1:]
    return sys.argv[1:]


def collect(args) -> list:
    """The dialogues named by the options, in order."""
    chosen = [bool(args.sample), bool(args.audio_a or args.audio_b), bool(args.manifest)]
    if sum(chosen) != 1:
        raise ManifestError("choose one of --sample, --audio-a/--audio-b or --manifest")
    single = any((args.name, args.template, args.head_a, args.head_b, args.preset,
                  args.motion_a, args.motion_b))
    dials = {"dials_a": args.dials_a or "", "dials_b": args.dials_b or ""}
    if args.manifest:
        if single or any(dials.values()):
            raise ManifestError("--name, --template, --head-a/-b, --preset and --dials-a/-b "
                                "are for one dialogue; put them in the manifest's columns")
        return read_manifest(args.manifest)    # bad rows kept as BadRow, in their place
    if args.sample:
        d = sample_dialogue()
        if single:
            raise ManifestError("--sample uses the demo heads; for other heads use "
                                "--audio-a/--audio-b with --template")
        return [make_dialogue({**d.inputs(), **dials})]
    if not (args.audio_a and args.audio_b):
        raise ManifestError("give both --audio-a and --audio-b")
    row = {"audio_a": args.audio_a, "audio_b": args.audio_b, "name": args.name,
           "template": args.template, "head_a": args.head_a, "head_b": args.head_b,
           "preset": args.preset, "motion_a": args.motion_a, "motion_b": args.motion_b,
           **dials}
    dialogues = [make_dialogue(row, Path.cwd())]
    check_unique(dialogues, "command line")
    return dialogues


def summary_name(args, shard: tuple[int, int]) -> str:
    return f"batch_summary_shard{shard[0]}of{shard[1]}.json" if args.shard else "batch_summary.json"


def check_files_apart(dialogues, settings: BatchSettings, manifest: str | None,
                      summary: str = "batch_summary.json") -> None:
    """Before any work: no file the batch writes (each dialogue's .blend, movie, contact
    sheet, report and lock, the summary) is any file it reads (any dialogue's audio,
    template, motion npz or mapping .json, the checkpoint, the manifest); by resolved path
    and by file identity (model_core/paths.py). Raises PathClashError naming both."""
    dialogues = [d for d in dialogues if not isinstance(d, BadRow)]    # failed on their own
    inputs = [("the manifest", manifest), ("--checkpoint", settings.checkpoint)]
    for d in dialogues:
        inputs += [(f"dialogue '{d.name}'s {key}", getattr(d, key)) for key in FILE_COLUMNS]
        if d.preset.lower().endswith(".json"):
            inputs.append((f"dialogue '{d.name}'s preset", d.preset))
    outputs = {}
    for d in dialogues:
        outputs.update({f"{label} ('{d.name}')": path
                        for label, path in Outputs(settings.out, d.name).files().items()})
    outputs["the batch summary"] = settings.out / summary
    core.paths.check_apart(inputs, outputs, fix="choose another --out folder or dialogue name")


def settings_from(args) -> BatchSettings:
    w, h = parse_resolution(args.resolution)
    if args.samples < 0 or args.frames_step < 0:
        raise ValueError("--samples and --frames-step must be >= 0")
    core.limits.check_generation_options(seed=args.seed, temperature=args.temperature, steps=args.steps)
    return BatchSettings(
        out=Path(args.out).resolve(), checkpoint=str(Path(args.checkpoint).resolve())
        if args.checkpoint else None,
        speech_model_dir=str(Path(args.speech_model).resolve()) if args.speech_model else None,
        device=args.device, seed=args.seed,
        context_turns=args.context_turns, steps=args.steps, temperature=args.temperature,
        render=args.render, render_options=RenderOptions(args.engine, w, h, args.samples),
        frames_step=args.frames_step, contact_range=parse_contact_range(args.contact_range),
        stall_timeout=args.render_timeout, live_link_csv=args.live_link_csv)


def load_model(settings: BatchSettings) -> None:
    """Load the model once before the first dialogue; raises a one-line error."""
    if not generation.torch_available():
        site_packages.add_site_packages()   # PyTorch installed by the extension's preferences
    generation.check_torch(settings.device)
    generation.get_model(settings.checkpoint, settings.device, settings.speech_model_dir)


def _error(msg: str) -> int:
    print(f"timar batch: error: {msg}", file=sys.stderr, flush=True)
    return 2


def write_failed_report(settings: BatchSettings, dialogue, error: str) -> None:
    """The report of a dialogue refused before any work (its inputs are bad)."""
    out = Outputs(settings.out, dialogue.name)
    try:
        write_json(out.report, {"report_version": REPORT_VERSION, "name": dialogue.name,
                                "status": "failed", "error": error, "warnings": [],
                                "outputs": {}, "settings": settings.describe(dialogue)})
    except OSError:
        pass              # the summary still lists it; a full disk is reported there


def preflight(todo, progress: BatchProgress) -> dict[int, str]:
    """Every row of the shard checked before any work (nothing opened that could block);
    each bad row printed with all its problems. Returns {index: problem}."""
    bad = {}
    for index, d in todo:
        problem = d.problem if isinstance(d, BadRow) else input_problems(d)
        if problem:
            bad[index] = problem
            progress.line(f"[batch] {d.name}: cannot be made: {problem}")
    if bad:
        progress.line(f"[batch] {len(bad)} of {len(todo)} dialogues have bad input and will "
                      "fail; the others go on")
    return bad


def run_all(args, dialogues, settings: BatchSettings, shard: tuple[int, int]) -> int:
    """Process this shard's dialogues in order; returns the exit status."""
    todo = select_shard(dialogues, *shard)
    label = f" shard {shard[0]}/{shard[1]}" if args.shard else ""
    progress = BatchProgress(len(todo), label)
    progress.line(f"[batch{label}] {len(todo)} of {len(dialogues)} dialogues -> {settings.out}")
    bad = preflight(todo, progress)
    if args.list:
        for index, d in todo:
            why = bad.get(index) or completion(Outputs(settings.out, d.name),
                                               settings.describe(d), settings.render)
            progress.line(f"{index}\t{d.name}\t{'complete' if why is None else why}")
        return 0
    summary, model_ready, internal = [], False, False
    for pos, (index, dialogue) in enumerate(todo, 1):
        progress.begin(pos, dialogue.name)
        if index in bad:
            progress.end("failed", 0.0, bad[index])
            summary.append({"index": index, "name": dialogue.name, "status": "failed",
                            "error": bad[index]})
            if not isinstance(dialogue, BadRow):     # its report says why, as any failure's
                write_failed_report(settings, dialogue, bad[index])
            continue
        reason = "forced" if args.force else completion(
            Outputs(settings.out, dialogue.name), settings.describe(dialogue), settings.render)
        if reason is None:
            progress.end("skipped", 0.0, "outputs complete")
            summary.append({"index": index, "name": dialogue.name, "status": "skipped"})
            continue
        with contextlib.ExitStack() as stack:
            try:
                lock = stack.enter_context(DialogueLock(settings.out, dialogue.name))
            except core.TimarError as exc:   # a link or other non-file where the lock goes
                progress.end("failed", 0.0, str(exc))
                summary.append({"index": index, "name": dialogue.name, "status": "failed",
                                "error": str(exc)})
                continue
            if lock.acquired and not args.force:   # another batch may have just finished it
                reason = completion(Outputs(settings.out, dialogue.name),
                                    settings.describe(dialogue), settings.render)
            if not lock.acquired or reason is None:
                why = f"being made by {lock.holder()}" if not lock.acquired else "outputs complete"
                progress.end("skipped", 0.0, why)
                summary.append({"index": index, "name": dialogue.name, "status": "skipped",
                                "reason": why})
                continue
            if not model_ready:
                try:
                    load_model(settings)
                except core.TimarError as exc:      # the add-on's UserError included
                    return _error(str(exc))
                model_ready = True
            progress.step(f"to do: {reason}", force=True)
            start = time.monotonic()
            report = process(dialogue, settings, progress.step)
        internal = internal or "internal_error_log" in report
        progress.end(report["status"], time.monotonic() - start,
                     report.get("error") or report.get("message") or "")
        summary.append({"index": index, "name": dialogue.name, "status": report["status"],
                        "error": report.get("error"), "seconds": report.get("seconds")})
    name = summary_name(args, shard)
    try:
        write_json(settings.out / name, {"total": len(todo), "ok": progress.ok,
                                         "failed": progress.failed, "skipped": progress.skipped,
                                         "dialogues": summary})
        progress.line(f"[batch{label}] finished; summary in {settings.out / name}")
    except OSError as exc:
        progress.line(f"[batch{label}] finished; cannot write the summary {settings.out / name} "
                      f"({exc.strerror or exc}); free some space")
        return 1
    return EXIT_INTERNAL if internal else (1 if progress.failed else 0)


def _on_terminate(signum, _frame):
    raise SystemExit(128 + signum)     # unwinds: temporary files removed, render child killed


def main(argv=None) -> int:
    """Run the batch; ``argv`` None reads sys.argv (after '--' inside Blender). The last
    resort: an unexpected exception is one line on screen and status 70."""
    args = build_parser().parse_args(_argv(argv))
    try:
        return _main(args)
    except Exception as exc:  # noqa: BLE001 - a bug: logged with its traceback, one line here
        print(f"timar batch: {core.last_resort.report_internal_error(exc, 'batch')}",
              file=sys.stderr, flush=True)
        return EXIT_INTERNAL


def _main(args) -> int:
    try:
        dialogues = collect(args)
        settings = settings_from(args)
        shard = parse_shard(args.shard) if args.shard else (0, 1)
        if not args.list:      # a file, a read-only folder, a path under a file: before any work
            core.outputs.check_output_folder(settings.out)
        check_files_apart(dialogues, settings, args.manifest, summary_name(args, shard))
    except (ValueError, core.TimarError) as exc:    # ManifestError is both
        return _error(str(exc))
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_terminate) if on_main else None
    try:
        return run_all(args, dialogues, settings, shard)
    finally:
        jobs.shutdown()
        if on_main:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
