# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the Whisper base encoder as the mouth model would run it, per 1 s turn (a 2 s
window ending 80 ms after the turn, layer K), float32 and torch dynamic int8, with fewer
layers, one head per thread and both heads batched. Not a test; prints figures.

    nice -n 10 .venv/bin/python tests/bench/bench_whisper.py [--turns 30]

The speed budget: the whole turn within RTF 0.1 for both heads on 2 cores, i.e. 100 ms of
compute per 1 s turn for both heads; today's model uses 65 ms of it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from model_core.speech.whisper_encoder import WhisperEncoder  # noqa: E402
from model_core.speech.whisper_stream import WhisperTurnFeatures  # noqa: E402
from model_core.speech.whisper_weights import load_encoder_weights  # noqa: E402


def quantize(encoder: WhisperEncoder) -> WhisperEncoder:
    """torch's dynamic int8: Linear weights stored int8, activations quantized per call."""
    return torch.ao.quantization.quantize_dynamic(encoder, {torch.nn.Linear}, dtype=torch.qint8)


def time_turns(features: WhisperTurnFeatures, batch: int, turns: int) -> tuple[float, float]:
    """Median (wall ms, CPU ms of this process) per turn, one window per head in the batch.
    On a shared machine the CPU time is the steadier estimate of the cost on an idle core."""
    gen = torch.Generator().manual_seed(0)
    windows = [torch.randn(batch, features.samples, generator=gen) * 0.1 for _ in range(turns + 3)]
    for w in windows[:3]:                         # warm-up
        features.window(w)
    wall, cpu = [], []
    for w in windows[3:]:
        start, start_cpu = time.perf_counter(), time.process_time()
        features.window(w)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def ct2_ms(turns: int, threads: int, compute_type: str) -> tuple[float, float] | None:
    """CTranslate2's own encoder (all 6 layers) on the same 2 s windows, for reference."""
    try:
        import ctranslate2
    except ImportError:
        return None
    import tempfile
    from model_core.speech.whisper_logmel import WhisperLogMel
    from model_core.speech.whisper_weights import assemble_model_dir
    folder = assemble_model_dir(Path(tempfile.mkdtemp(prefix="whisper_ct2_")))
    model = ctranslate2.models.Whisper(str(folder), compute_type=compute_type, intra_threads=threads)
    mel = WhisperLogMel()(torch.randn(1, 32000) * 0.1).numpy()       # a 2 s window
    wall, cpu = [], []
    for i in range(turns + 3):
        start, start_cpu = time.perf_counter(), time.process_time()
        model.encode(ctranslate2.StorageView.from_array(mel), to_cpu=True)
        if i >= 3:
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    warnings.filterwarnings("ignore", message=".*(deprecated|migrate).*")   # torch.ao's notes
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--turns", type=int, default=30)
    ap.add_argument("--layers", type=int, nargs="*", default=[6, 4, 3, 2])
    ap.add_argument("--windows", type=float, nargs="+", default=[2.0, 1.28],
                    help="seconds of audio per run (the turn, 80 ms after it, the rest before)")
    ap.add_argument("--ct2", action="store_true", help="also time CTranslate2's encoder")
    args = ap.parse_args()
    weights = load_encoder_weights()
    print(f"encoder weights as stored: {weights.stored_bytes / 1e6:.1f} MB ({weights.stored_dtype}); "
          f"per layer {sum(v.nbytes for k, v in weights.arrays.items() if k.startswith('layer_0/')) / 2e6:.1f} MB fp16")
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores)")
    print("ms per 1 s turn, median; 'both heads' = one batch of 2; CPU = this process's CPU time")
    print("| window | layers | weights | 1 head, 1 thread: wall | CPU | both heads, 1 thread: wall | CPU "
          "| both heads, 2 threads: wall | CPU |")
    print("|---|---|---|---|---|---|---|---|---|")
    for seconds in args.windows:
        window = int(round(seconds * 16000))
        for layers in args.layers:
            encoder = WhisperEncoder.from_weights(weights, num_layers=layers)
            for label, model in (("fp32", encoder), ("int8 dyn", quantize(encoder))):
                features = WhisperTurnFeatures(model, layer=layers, window=window)
                row = []
                for threads, batch in ((1, 1), (1, 2), (2, 2)):
                    torch.set_num_threads(threads)
                    row += time_turns(features, batch, args.turns)
                print(f"| {seconds:g} s | {layers} | {label} | " + " | ".join(f"{v:.1f}" for v in row) + " |",
                      flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    if args.ct2:
        for compute_type in ("float32", "int8"):
            for threads in (1, 2):
                ms = ct2_ms(args.turns, threads, compute_type)
                if ms is not None:
                    print(f"CTranslate2 {compute_type}, 2 s, 6 layers, 1 head, {threads} thread(s): "
                          f"{ms[0]:.1f} ms wall, {ms[1]:.1f} ms CPU")


if __name__ == "__main__":
    main()
