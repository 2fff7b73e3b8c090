"""The two facts of an ELF file a server image needs: the loader a binary asks for, and the name
a shared library answers to. 64-bit little-endian (x86_64) only; anything else gives None."""

from __future__ import annotations

import struct
from pathlib import Path


def _segments(data: bytes) -> list[tuple[int, int, int, int]]:
    """(type, offset, vaddr, filesz) of each program header; [] for anything but ELF64 LE."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return []
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    segments = []
    for i in range(phnum):
        p_type, _, offset, vaddr, _, filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize
        )
        segments.append((p_type, offset, vaddr, filesz))
    return segments


def elf_interpreter(path: Path) -> str | None:
    """The loader path a binary asks for (PT_INTERP), or None."""
    data = path.read_bytes()
    for p_type, offset, _, filesz in _segments(data):
        if p_type == 3:  # PT_INTERP
            return data[offset : offset + filesz].rstrip(b"\0").decode()
    return None


def elf_soname(path: Path) -> str | None:
    """A shared library's DT_SONAME (the name binaries ask for), or None."""
    data = path.read_bytes()
    segments = _segments(data)
    dynamic = next(((o, s) for t, o, _, s in segments if t == 2), None)  # PT_DYNAMIC
    if dynamic is None:
        return None
    entries = dict.fromkeys((5, 14), -1)  # DT_STRTAB, DT_SONAME
    for i in range(0, dynamic[1], 16):
        tag, value = struct.unpack_from("<qQ", data, dynamic[0] + i)
        if tag == 0:
            break
        if tag in entries:
            entries[tag] = value
    strtab, soname = entries[5], entries[14]
    if strtab < 0 or soname < 0:
        return None
    for t, offset, vaddr, filesz in segments:  # the PT_LOAD that maps the string table
        if t == 1 and vaddr <= strtab < vaddr + filesz:
            start = strtab - vaddr + offset + soname
            return data[start : data.index(b"\0", start)].decode()
    return None
