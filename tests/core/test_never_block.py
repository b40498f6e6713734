"""Issue 19, class 5: never block. Every input must be a regular file of bounded size: a FIFO
(whose open() waits for a writer forever), /dev/zero (which never ends) or a folder given as
audio, checkpoint or motion file is refused at once with one line, before anything opens
it."""
from __future__ import annotations

import os
import time

import pytest

from hostile_files import run_cli
from model_core.checkpoint import load_model
from model_core.errors import AudioError, CheckpointError, MotionFileError
from model_core.face.flame import load_motion_npz
from model_core.input_files import MAX_INPUT_BYTES, check_input_file
from model_core.speech.audio import load_audio
from model_core.speech.audio_stream import open_audio


@pytest.fixture
def specials(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    return {"FIFO": (fifo, "a FIFO (named pipe)"), "/dev/zero": ("/dev/zero", "a device"),
            "folder": (folder, "a folder")}


LOADERS = {"audio": (load_audio, AudioError, "audio file"),
           "audio stream": (open_audio, AudioError, "audio file"),
           "checkpoint": (lambda p: load_model(p, "cpu"), CheckpointError, "checkpoint"),
           "motion": (load_motion_npz, MotionFileError, "motion file")}


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("special", ["FIFO", "/dev/zero", "folder"])
def test_non_regular_inputs_are_refused_at_once(loader, special, specials):
    path, kind = specials[special]
    read, error, what = LOADERS[loader]
    start = time.monotonic()
    with pytest.raises(error) as info:
        read(path)
    assert str(info.value) == f"{what} {path} is {kind}, not a file; give a regular file"
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize("option", ["--audio-a", "--checkpoint", "--motion-b"])
@pytest.mark.parametrize("special", ["FIFO", "/dev/zero"])
def test_the_command_line_never_waits_on_a_fifo_or_a_device(option, special, specials,
                                                            audio_pair, tmp_path):
    path, kind = specials[special]
    args = {"--audio-a": audio_pair[0], "--audio-b": audio_pair[1]}
    args[option] = path
    flat = [x for kv in args.items() for x in kv]
    start = time.monotonic()
    code, _, err = run_cli("generate", *flat, "--out-dir", tmp_path / "out", timeout=60)
    assert time.monotonic() - start < 30
    assert code == 2 and "Traceback" not in err and kind in err, err
    assert len(err.strip().splitlines()) == 1


def test_inputs_above_their_size_limit_are_refused_without_reading(tmp_path):
    """A sparse file just over the motion limit: refused from its size."""
    big = tmp_path / "big.npz"
    with open(big, "wb") as fh:
        fh.truncate(MAX_INPUT_BYTES["motion"] + 1)
    with pytest.raises(MotionFileError, match="more than the 2,048 MB a motion may have"):
        check_input_file(big, "motion file", MotionFileError, "motion")
    with pytest.raises(MotionFileError, match="more than the 2,048 MB"):
        load_motion_npz(big)


def test_a_symlink_to_a_regular_file_is_fine_and_a_dangling_one_is_not_found(tmp_path, audio_pair):
    link = tmp_path / "link.wav"
    link.symlink_to(audio_pair[0])
    assert len(load_audio(link)) > 0
    dangling = tmp_path / "dangling.wav"
    dangling.symlink_to(tmp_path / "nowhere.wav")
    with pytest.raises(AudioError, match="audio file not found"):
        load_audio(dangling)
