"""The model-card plot command: real FLAME motion in, a PNG with its curves out."""
from __future__ import annotations

from model_core.cli import main

from helpers import DEMO_ID


def test_plot_draws_the_real_dialogue(demo_dir, tmp_path):
    from matplotlib import image

    out = tmp_path / "neck_jaw.png"
    real = demo_dir / f"{DEMO_ID}_speaker2.npz"
    assert main(["plot", f"real={real}", "--out", str(out), "--seconds", "4"]) == 0
    pixels = image.imread(out)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 600
    # Curves are drawn: a good share of the picture is neither white nor grey.
    rgb = pixels[..., :3]
    coloured = (rgb.max(-1) - rgb.min(-1)) > 0.2
    assert coloured.mean() > 0.002


def test_plot_refuses_a_label_without_a_file(tmp_path, capsys):
    assert main(["plot", "just_a_path.npz", "--out", str(tmp_path / "x.png")]) == 2
    assert "LABEL=FILE.npz" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_plot_refuses_a_window_past_the_end(demo_dir, tmp_path, capsys):
    real = demo_dir / f"{DEMO_ID}_speaker2.npz"
    assert main(["plot", f"real={real}", "--out", str(tmp_path / "x.png"), "--start", "100000"]) == 2
    assert "no frames" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
