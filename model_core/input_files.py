"""Input files are opened only once they are known to be regular files of a bounded size.

Opening a FIFO blocks until someone writes to it, and reading ``/dev/zero`` or a device never
ends; a folder given as a file fails later with an unhelpful message. :func:`check_input_file`
looks at the path with ``os.stat`` (which never blocks and follows a symlink to what it
names) and raises the caller's error class with one line before anything opens it."""
from __future__ import annotations

import os
import stat

from .errors import TimarError
from .paths import file_kind

GB = 1 << 30
MB = 1 << 20

# The largest input of each kind that is read (or hashed) at all. Far above real inputs:
# the official TIMAR.pth is 6.85 GB (memory-mapped), an hour of 48 kHz stereo WAV 1.1 GB.
MAX_INPUT_BYTES = {
    "checkpoint": 32 * GB,
    "audio": 8 * GB,
    "motion": 2 * GB,
    "template": 8 * GB,
    "preset": 4 * MB,
    "manifest": 64 * MB,
}


def check_input_file(path, what: str, error: type[TimarError] = TimarError,
                     kind: str | None = None) -> int:
    """Raise ``error`` unless ``path`` is an existing regular file within the size limit of
    ``kind`` (a key of MAX_INPUT_BYTES); returns its size in bytes. ``what`` names the input
    in the message ("audio file", "checkpoint")."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except OSError as exc:
        raise error(f"cannot read the {what} {path} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{what} {path} is {file_kind(st.st_mode)}, not a file; give a regular file")
    limit = MAX_INPUT_BYTES.get(kind or "", None)
    if limit is not None and st.st_size > limit:
        raise error(f"{what} {path} is {st.st_size / MB:,.0f} MB, more than the "
                    f"{limit / MB:,.0f} MB a {kind} may have; is it the right file?")
    return st.st_size
