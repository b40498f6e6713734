"""Errors the core raises for bad input. Each message says what is wrong and what to do;
front ends (CLI, Blender operators) print it as one line."""


class TimarError(Exception):
    """Base class: a problem the user can fix (bad file, wrong option, missing model)."""


class AudioError(TimarError):
    """An audio input is missing, unreadable, empty, silent or holds NaN samples."""


class MotionFileError(TimarError):
    """A FLAME motion file (.npz) is missing or has the wrong keys or shapes."""


class LiveLinkError(MotionFileError):
    """A Live Link Face CSV take is missing, unreadable or broken (a bad timecode, a cut
    row, a value that is not a number, no ARKit column)."""


class CheckpointError(TimarError):
    """A checkpoint is missing, not a TIMAR checkpoint, unsafe, or does not match its config."""


class DeviceError(TimarError):
    """The requested compute device is not available."""


class SpeechModelError(TimarError):
    """The wav2vec2 speech model the official weights need is missing or unusable."""


class Stopped(Exception):
    """Generation was asked to stop (Cancel, quitting): not an error. The turns already
    emitted stand; the turn in flight is dropped."""
