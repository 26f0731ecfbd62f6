"""Capture what C libraries (libjpeg, libpng inside OpenCV) print to the process's stderr while decoding.

libjpeg reports recoverable corruption ("Corrupt JPEG data: premature end of data segment") by printing
to file descriptor 2 and still returning an image; OpenCV has no API to ask for it. Inside `capture()`,
fd 2 points at an in-memory file; afterwards the caller gets the lines the decoder printed (to count and
log them throttled, instead of an unthrottled flood on the console), and every other line written in
the meantime (another thread's log output) is forwarded to the real stderr. Linux only
(`os.memfd_create`); elsewhere nothing is captured.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

__all__ = ["DECODER_PREFIXES", "capture"]

DECODER_PREFIXES = ("Corrupt JPEG data", "Premature end of JPEG file", "libpng warning", "libpng error")
_LOCK = threading.Lock()  # one redirection at a time; nested or concurrent captures would interleave


@contextlib.contextmanager
def capture() -> Iterator[list[str]]:
    """Yield a list that receives the decoder lines (``DECODER_PREFIXES``) printed inside the block."""
    lines: list[str] = []
    if not hasattr(os, "memfd_create"):
        yield lines
        return
    with _LOCK:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        saved = os.dup(2)
        sink = os.memfd_create("disdepth-stderr", 0)
        os.dup2(sink, 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.lseek(sink, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(sink, 1 << 16):
                chunks.append(chunk)
            os.close(sink)
            forward = []
            for line in b"".join(chunks).decode("utf-8", "replace").splitlines(keepends=True):
                (lines if line.startswith(DECODER_PREFIXES) else forward).append(line)
            lines[:] = [line.rstrip("\n") for line in lines]
            if forward:
                os.write(2, "".join(forward).encode("utf-8"))
