"""Issue 19, class 7 on the command line: no traceback reaches a user. An unexpected
exception (a bug) is one line, ``internal error: ...; details in <log>``, with the traceback
in that log file, and exit status 70; the tracebacks the issue listed (export onto a folder,
plot of a missing file, an unknown bench preset) are one-line errors now."""
from __future__ import annotations

import pytest

from hostile_files import run_cli
from model_core import cli
from model_core.commands import export
from model_core.last_resort import EXIT_INTERNAL, LOG_DIR_ENV, report_internal_error


def test_an_unexpected_exception_is_one_line_status_70_and_a_log(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(LOG_DIR_ENV, str(tmp_path / "logs"))

    def broken(_args):
        raise KeyError("a bug")
    monkeypatch.setattr(export, "run", broken)
    code = cli.main(["export", "in.pt", str(tmp_path / "out.pt")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_INTERNAL == 70 and len(err) == 1, err
    assert err[0].startswith("internal error: KeyError: 'a bug'; details in ")
    log = err[0].rpartition("details in ")[2]
    assert log.startswith(str(tmp_path / "logs"))
    text = open(log).read()
    assert "Traceback (most recent call last)" in text and "def broken" not in text
    assert "in broken" in text and "KeyError: 'a bug'" in text


def test_the_log_goes_elsewhere_when_its_folder_cannot_be_written(tmp_path, monkeypatch):
    blocked = tmp_path / "a_file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(LOG_DIR_ENV, str(blocked / "logs"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    try:
        raise RuntimeError("first line\nsecond line")
    except RuntimeError as exc:
        line = report_internal_error(exc, "test")
    assert line.startswith("internal error: RuntimeError: first line; details in ")
    assert str(tmp_path / "cache" / "timar" / "logs") in line and "\n" not in line


def test_export_onto_a_folder_is_one_line_before_loading(tmp_path, tiny_checkpoint):
    folder = tmp_path / "exported"
    folder.mkdir()
    code, _, err = run_cli("export", tiny_checkpoint, folder)
    assert code == 2 and "Traceback" not in err and "is a folder; give a file name" in err, err
    assert list(folder.iterdir()) == []


def test_export_under_a_file_is_one_line(tmp_path, tiny_checkpoint):
    (tmp_path / "f").write_text("x")
    code, _, err = run_cli("export", tiny_checkpoint, tmp_path / "f" / "out.pt")
    assert code == 2 and "Traceback" not in err and "f is a file; choose a folder" in err, err


def test_plot_of_a_missing_file_into_a_missing_folder_is_one_line(tmp_path):
    # (a missing folder is made: tests/core/test_file_safety_cli.py)
    code, _, err = run_cli("plot", "a=missing.npz", "--out", tmp_path / "missing" / "dir" / "x.png")
    assert code == 2 and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and "missing.npz" in err, err


def test_an_unknown_bench_preset_is_a_usage_error(tmp_path):
    code, _, err = run_cli("bench", "--preset", "bogus")
    assert code == 2 and "Traceback" not in err and "invalid choice: 'bogus'" in err, err


@pytest.mark.parametrize("args", [
    ["generate", "--audio-a", "/dev/zero", "--audio-b", "/dev/null", "--out-dir", "OUT"],
    ["plot", "a=/dev/zero", "--out", "OUT/x.png"],
    ["export", "/dev/zero", "OUT/x.pt"],
    ["compare", "--help"],
])
def test_hostile_arguments_never_print_a_traceback(args, tmp_path):
    args = [a.replace("OUT", str(tmp_path)) for a in args]
    code, out, err = run_cli(*args, timeout=60)
    assert "Traceback" not in err + out and code in (0, 2), (code, err)
