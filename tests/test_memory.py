"""release_memory hands freed heap pages back to the system (what keeps the lessons under Binder's limit)."""
import threading

import workbench as wb
from workbench.memory import resident_mb


def test_release_memory_returns_what_a_thread_freed():
    def churn():
        blocks = [bytearray(60_000) for _ in range(4000)]  # ~240 MB in heap-sized blocks, in a thread's arena
        churn.survivors = blocks[::400]  # a few survivors pin the arena, so glibc does not shrink it by itself
        del blocks

    thread = threading.Thread(target=churn)
    thread.start()
    thread.join()
    before = resident_mb()
    released = wb.release_memory()
    assert released > 100, f"only {released:.0f} MB released (resident {before:.0f} MB before)"
    assert resident_mb() < before - 100
