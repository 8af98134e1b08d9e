"""Core benchmark: workbench vs transformers on the packaged all-MiniLM-L6-v2, side by side in one run.

    .venv/bin/python benchmarks/bench_core.py [--repeats 50]

1. Cold start in a fresh process: interpreter start + import + load tokenizer and model + first embedding
   (wall time measured from outside the process; peak RSS from the child's rusage).
2. Single-sentence latency: tokenize + forward of one short sentence, warm, median of N runs.
3. Batch throughput: 32 sequences x 128 tokens, forward only, median of runs; achieved GFLOP/s compared with a
   plain fp32 matmul of similar shape measured in the same run (what this CPU can do at best).
Prints a table with ratios (workbench / transformers; < 1 is faster for times).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
SENTENCE = "The quick brown fox jumps over the lazy dog."

COLD_START = {
    "workbench": """
        import torch, workbench as wb
        tok = wb.load_tokenizer(MODEL_ID)
        model = wb.load_model(MODEL_ID)
        with torch.inference_mode():
            model(**tok([SENTENCE], return_tensors="pt"))
    """,
    "transformers": """
        import torch
        from transformers import AutoModel, AutoTokenizer
        tok = AutoTokenizer.from_pretrained(FOLDER)
        model = AutoModel.from_pretrained(FOLDER).eval()
        with torch.inference_mode():
            model(**tok([SENTENCE], return_tensors="pt"))
    """,
}


def minilm_folder() -> Path:
    from workbench.checkpoints import resolve_checkpoint

    return resolve_checkpoint(MODEL_ID)


def cold_start(library: str, folder: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of a fresh interpreter doing the whole first embedding.

    Peak RSS is the child's VmHWM: ru_maxrss survives execve on Linux and would report this (large) parent.
    """
    body = textwrap.dedent(COLD_START[library])
    script = (f"MODEL_ID={MODEL_ID!r}; FOLDER={str(folder)!r}; SENTENCE={SENTENCE!r}\n{body}\n"
              "import re; print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    peak_kb = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, peak_kb / 1024


def median_seconds(fn, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def encoder_flops(config, batch: int, tokens: int) -> float:
    """Multiply-adds x 2 of a BERT encoder forward: projections, attention scores and mixing, MLP."""
    D, I, L = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_token_per_layer = 2 * (4 * D * D + 2 * D * I) + 2 * 2 * tokens * D
    return batch * tokens * L * per_token_per_layer


def main() -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    import workbench as wb

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    folder = minilm_folder()
    rows = []

    cold = {lib: [cold_start(lib, folder) for _ in range(args.cold_runs)] for lib in ("workbench", "transformers")}
    wall = {lib: statistics.median(w for w, _ in runs) for lib, runs in cold.items()}
    rss = {lib: statistics.median(r for _, r in runs) for lib, runs in cold.items()}
    rows.append(("cold start, wall (s)", wall["workbench"], wall["transformers"]))
    rows.append(("cold start, peak RSS (MB)", rss["workbench"], rss["transformers"]))

    ours_tok, ours = wb.load_tokenizer(MODEL_ID), wb.load_model(MODEL_ID)
    ref_tok, ref = AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()

    def one_sentence(tok, model):
        def run():
            with torch.inference_mode():
                model(**tok([SENTENCE], return_tensors="pt"))
        return run

    single = {name: median_seconds(one_sentence(t, m), args.repeats)
              for name, (t, m) in {"workbench": (ours_tok, ours), "transformers": (ref_tok, ref)}.items()}
    rows.append(("single sentence (ms)", single["workbench"] * 1e3, single["transformers"] * 1e3))

    long_text = " ".join([SENTENCE] * 40)
    texts = [f"{i} {long_text}" for i in range(32)]
    batch = {name: tok(texts, padding="max_length", truncation=True, max_length=128, return_tensors="pt")
             for name, tok in {"workbench": ours_tok, "transformers": ref_tok}.items()}
    assert torch.equal(batch["workbench"]["input_ids"], batch["transformers"]["input_ids"])

    def forward(model, enc):
        def run():
            with torch.inference_mode():
                model(**enc)
        return run

    repeats = max(5, args.repeats // 10)
    batch_time = {"workbench": median_seconds(forward(ours, batch["workbench"]), repeats, warmup=2),
                  "transformers": median_seconds(forward(ref, batch["transformers"]), repeats, warmup=2)}
    rows.append(("batch 32x128 (ms)", batch_time["workbench"] * 1e3, batch_time["transformers"] * 1e3))

    flops = encoder_flops(ours.config, 32, 128)
    a, b = torch.randn(32 * 128, 384), torch.randn(384, 1536)
    matmul_time = median_seconds(lambda: a @ b, 20)
    matmul_gflops = 2 * a.shape[0] * a.shape[1] * b.shape[1] / matmul_time / 1e9
    ours_gflops = flops / batch_time["workbench"] / 1e9
    ref_gflops = flops / batch_time["transformers"] / 1e9

    with torch.inference_mode():
        enc = ours_tok(texts[:4], padding=True, truncation=True, max_length=128, return_tensors="pt")
        diff = (ours(**enc).last_hidden_state - ref(**enc).last_hidden_state).abs().max().item()

    print(f"\nworkbench vs transformers on {MODEL_ID} ({torch.get_num_threads()} threads, torch {torch.__version__})")
    print(f"{'measure':28} {'workbench':>11} {'transformers':>13} {'ratio':>7}")
    for name, mine, theirs in rows:
        print(f"{name:28} {mine:11.1f} {theirs:13.1f} {mine / theirs:7.2f}")
    print(f"{'batch GFLOP/s':28} {ours_gflops:11.1f} {ref_gflops:13.1f} {ours_gflops / ref_gflops:7.2f}")
    print(f"plain fp32 matmul [4096x384]@[384x1536]: {matmul_gflops:.1f} GFLOP/s "
          f"(workbench reaches {ours_gflops / matmul_gflops:.0%} of it)")
    print(f"max |hidden state difference| = {diff:.2e}")


if __name__ == "__main__":
    main()
