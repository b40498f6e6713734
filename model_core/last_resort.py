"""The last-resort handler: an exception nobody expected never reaches a user as a traceback.

Errors a user can fix are ``TimarError`` lines; anything else is a bug. Its traceback is
still needed (to fix it), but not on the user's screen: :func:`report_internal_error`
writes it to a log file and returns the one line to show instead,
``internal error: <what>; details in <log>``. Front ends (the CLI, the batch, the add-on's
operators) exit with :data:`EXIT_INTERNAL` (70, ``EX_SOFTWARE`` of sysexits.h) or report
that line."""
from __future__ import annotations

import datetime
import os
import sys
import tempfile
import traceback
from pathlib import Path

EXIT_INTERNAL = 70
LOG_DIR_ENV = "TIMAR_LOG_DIR"


def log_folders() -> list[Path]:
    """Where crash logs go, first that works: $TIMAR_LOG_DIR, the user's cache, the temp folder."""
    folders = []
    if os.environ.get(LOG_DIR_ENV):
        folders.append(Path(os.environ[LOG_DIR_ENV]))
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folders += [Path(cache) / "timar" / "logs", Path(tempfile.gettempdir())]
    return folders


def write_log(exc: BaseException, program: str) -> Path | None:
    """Write ``exc``'s traceback (and the command line) to a new log file; its path, or
    None when no folder can be written (the line then says so)."""
    return write_text_log("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
                          program)


def write_text_log(trace: str, program: str) -> Path | None:
    """Write a traceback already formatted (a worker thread's) to a new log file."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = f"{program}: internal error at {stamp}\nargv: {sys.argv!r}\n\n{trace}"
    for folder in log_folders():
        path = folder / f"timar-{program}-{stamp}-{os.getpid()}-{abs(hash(trace)) % 10**8}.log"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # a new file of our own: never follows a link, never appends to another file
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return path
    return None


def summary(exc: BaseException) -> str:
    """The exception as one short line: its type and the first line of its message."""
    first = (str(exc).strip().splitlines() or [""])[0]
    first = first if len(first) <= 200 else first[:197] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def report_internal_error(exc: BaseException, program: str) -> str:
    """Log ``exc`` with its traceback; the one line to show the user."""
    return internal_error_line(summary(exc), write_log(exc, program))


def internal_error_line(what: str, log: Path | None) -> str:
    where = f"details in {log}" if log else "no log could be written"
    return f"internal error: {what}; {where}"
