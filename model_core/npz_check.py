"""What an ``.npz`` holds, read from its zip directory and the ``.npy`` headers alone.

``np.load`` of an npz decompresses a member when it is indexed, whatever its size, and
turns strings, structured records, complex numbers or dates into float32 on the way (or
fails deep inside with a traceback). :func:`npz_members` reads only the zip's central
directory (the uncompressed size of every member) and the few header bytes of each array
wanted, so a 1 MB file that would inflate to gigabytes, or holds the wrong kind of values,
is refused before any array is loaded."""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass

import numpy as np

from .errors import TimarError


@dataclass(frozen=True)
class NpyHeader:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    stored_bytes: int           # uncompressed size of the member, from the zip directory


def _describe(dtype: np.dtype) -> str:
    if dtype.fields is not None:
        return "structured records"
    return {"U": "text", "S": "bytes", "O": "Python objects", "c": "complex numbers",
            "M": "dates", "m": "time spans", "b": "true/false values", "V": "raw bytes",
            "i": "integers", "u": "integers"}.get(dtype.kind, f"{dtype} values")


def _read_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, error) -> tuple:
    try:
        with zf.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                return np.lib.format.read_array_header_1_0(fh)
            return np.lib.format.read_array_header_2_0(fh)
    except Exception as exc:  # not an .npy inside, a bad header, a damaged member
        raise error(f"{path}: '{info.filename}' is not a numpy array ({exc})") from None


def npz_members(path: str | os.PathLike, wanted: tuple[str, ...], max_bytes: int,
                error: type[TimarError] = TimarError) -> dict[str, NpyHeader]:
    """Headers of the arrays ``wanted`` (names without ``.npy``) in the npz at ``path``.

    Raises ``error`` with one line when the file is not a zip, an array is missing, any
    member would inflate beyond ``max_bytes``, or a wanted array is not real floating point
    (text, records, objects, complex, dates, integers) or has a shape that disagrees with
    its size."""
    path = os.fspath(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise error(f"{path}: not a readable .npz file ({exc})") from None
    with zf:
        infos = {i.filename: i for i in zf.infolist()}
        big = [i for i in infos.values() if i.file_size > max_bytes]
        if big:
            raise error(f"{path}: '{big[0].filename}' would inflate to "
                        f"{big[0].file_size / 2**20:,.0f} MB, more than the "
                        f"{max_bytes / 2**20:,.0f} MB a motion array may have; is it the right file?")
        found = sorted(n[:-4] if n.endswith(".npy") else n for n in infos)
        headers = {}
        for name in wanted:
            info = infos.get(f"{name}.npy")
            if info is None:
                missing = [w for w in wanted if f"{w}.npy" not in infos]
                raise error(f"{path}: needs the arrays {', '.join(repr(w) for w in wanted)}; "
                            f"{', '.join(repr(w) for w in missing)} missing (found {found})")
            shape, fortran, dtype = _read_header(zf, info, path, error)
            if dtype.kind != "f" or dtype.fields is not None:
                raise error(f"{path}: '{name}' holds {_describe(dtype)} ({dtype.str}); "
                            "FLAME coefficients must be floating point numbers")
            count = int(np.prod(shape, dtype=np.int64)) if shape else 1
            if count * dtype.itemsize > info.file_size:
                raise error(f"{path}: '{name}' claims shape {shape} but holds only "
                            f"{info.file_size:,} bytes; the file is damaged")
            headers[name] = NpyHeader(name, tuple(shape), dtype, info.file_size)
    return headers
