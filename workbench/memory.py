"""Give memory back to the operating system between lessons (it matters on Binder's 2 GB machines).

`del model` frees a model's tensors, but glibc keeps freed heap pages in its arenas (one per thread, and
fine-tuning runs in its own thread) for reuse, so the process still looks as big to the system.
`release_memory()` collects Python garbage and asks glibc to return those pages (`malloc_trim`).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import re
from pathlib import Path


def resident_mb() -> float:
    """This process's resident memory now (VmRSS), in MB; 0.0 where /proc is not available."""
    status = Path("/proc/self/status")
    if not status.is_file():
        return 0.0
    found = re.search(r"VmRSS:\s+(\d+)", status.read_text())
    return int(found.group(1)) / 1024 if found else 0.0


def release_memory() -> float:
    """Collect garbage and return freed heap memory to the system; returns the MB released."""
    before = resident_mb()
    gc.collect()
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        libc = ctypes.CDLL(libc_name)
        if hasattr(libc, "malloc_trim"):  # glibc only; elsewhere garbage collection is all we can do
            libc.malloc_trim(0)
    return max(0.0, before - resident_mb())
