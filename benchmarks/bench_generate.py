"""Greedy decoding speed: workbench vs transformers, same weights, same prompt, same machine, same run.

    python benchmarks/bench_generate.py                 # SmolLM2-135M-Instruct (packaged GGUF) in fp32
    python benchmarks/bench_generate.py --bf16          # also workbench in bfloat16: speed and logit drift
    python benchmarks/bench_generate.py --random        # a random model of SmolLM2's config (no checkpoint needed)

Batch 1, 128 new tokens, no eos (every run makes all 128). Prints load time, time to first token (prefill of
the prompt + the first token), decode tokens/s (after the first token) and overall tokens/s, best of --runs,
and whether both produced the same tokens. transformers is only the reference here.
"""
from __future__ import annotations

import argparse
import statistics
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

import workbench as wb  # noqa: E402

SMOLLM = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM_CONFIG = dict(  # SmolLM2-135M-Instruct's config.json
    model_type="llama", architectures=["LlamaForCausalLM"], vocab_size=49152, hidden_size=576, intermediate_size=1536,
    num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192,
    rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True, hidden_act="silu", bos_token_id=1,
    eos_token_id=2, pad_token_id=2,
)
PROMPT = "<|im_start|>user\nWrite a short story about a robot who learns to paint.<|im_end|>\n<|im_start|>assistant\n"


class Clock:
    """A transformers-style streamer that notes when the prompt and each new token arrive."""

    def __init__(self):
        self.times = []

    def put(self, value):
        self.times.append(time.perf_counter())

    def end(self):
        pass


def timed(generate_fn, clock: Clock):
    """One run: (sequence, time to first token, per-token intervals after the first, total seconds)."""
    start = time.perf_counter()
    out = generate_fn(clock)
    total = time.perf_counter() - start
    times = clock.times
    return out, times[1] - start, [b - a for a, b in zip(times[1:-1], times[2:])], total


def summary(name, results, new_tokens):
    """Best run by total time; the median interval across all runs resists other processes' bursts."""
    out, first, intervals, total = min(results, key=lambda r: r[3])
    median = statistics.median(i for r in results for i in r[2])
    print(f"{name:<24} first token {first * 1000:7.1f} ms   decode {len(intervals) / sum(intervals):6.1f} tok/s "
          f"(median step {median * 1000:5.1f} ms = {1 / median:5.1f} tok/s)   overall {new_tokens / total:6.1f} tok/s")
    return out, first, 1 / median


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bf16", action="store_true", help="also run workbench in bfloat16")
    parser.add_argument("--random", action="store_true", help="random weights of SmolLM2's config instead of the GGUF")
    parser.add_argument("--skip-transformers", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n = args.new_tokens

    start = time.perf_counter()
    if args.random:
        ours = wb.from_config(SMOLLM_CONFIG, seed=0)
        prompt_ids = torch.randint(3, SMOLLM_CONFIG["vocab_size"], (1, 40), generator=torch.Generator().manual_seed(0))
    else:
        ours = wb.load_model(SMOLLM)
        prompt_ids = wb.load_tokenizer(SMOLLM)(PROMPT, return_tensors="pt")["input_ids"]
    load_seconds = time.perf_counter() - start
    print(f"workbench load: {load_seconds:.2f} s ({'random' if args.random else SMOLLM}), prompt {prompt_ids.shape[1]} "
          f"tokens, {n} new tokens, batch 1, {torch.get_num_threads()} threads, torch {torch.__version__}")

    ours.generate(prompt_ids, max_new_tokens=4, eos_token_id=[])  # warm-up
    runners = {"workbench fp32": lambda clock: ours.generate(prompt_ids, max_new_tokens=n, eos_token_id=[], streamer=clock)}
    if not args.skip_transformers:
        import transformers

        config = transformers.LlamaConfig(**{k: v for k, v in ours.config.to_dict().items()
                                             if k not in ("architectures", "id2label", "label2id")})
        reference = transformers.LlamaForCausalLM(config).eval()
        missing, unexpected = reference.load_state_dict(ours.state_dict(), strict=False)
        assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)
        reference.tie_weights()
        reference.generation_config.eos_token_id = None
        reference.generation_config.pad_token_id = config.pad_token_id

        def theirs_generate(clock):
            with torch.inference_mode():
                # an explicit mask: without one transformers masks any pad id (2 = <|im_end|>) inside the prompt
                return reference.generate(prompt_ids, attention_mask=torch.ones_like(prompt_ids), max_new_tokens=n,
                                          do_sample=False, streamer=clock)

        theirs_generate(Clock())  # warm-up
        runners[f"transformers {transformers.__version__}"] = theirs_generate
    results = {name: [] for name in runners}
    for _ in range(args.runs):  # interleaved, so both see the same machine load
        for name, run in runners.items():
            results[name].append(timed(run, Clock()))
    summaries = {name: summary(name, runs, n) for name, runs in results.items()}
    mine = summaries["workbench fp32"]
    if len(summaries) == 2:
        theirs = summaries[next(name for name in summaries if name.startswith("transformers"))]
        print(f"decode speed ratio workbench / transformers (median step): {mine[2] / theirs[2]:.2f}x; time to first "
              f"token {theirs[1] / mine[1]:.2f}x shorter; same tokens: {torch.equal(mine[0], theirs[0])}")

    if args.bf16:
        fast = ours.to(torch.bfloat16) if args.random else wb.load_model(SMOLLM, dtype=torch.bfloat16)
        fast.generate(prompt_ids, max_new_tokens=4, eos_token_id=[])
        half = summary("workbench bf16", [timed(lambda clock: fast.generate(
            prompt_ids, max_new_tokens=n, eos_token_id=[], streamer=clock), Clock()) for _ in range(args.runs)], n)
        print(f"bf16 / fp32 decode speed (median step): {half[2] / mine[2]:.2f}x")
        exact = wb.from_config(SMOLLM_CONFIG, seed=0) if args.random else wb.load_model(SMOLLM)
        with torch.inference_mode():
            sequence = mine[0]
            reference_logits = exact(sequence).logits
            half_logits = fast(sequence).logits.float()
        drift = (half_logits - reference_logits).abs()
        agree = (half_logits.argmax(-1) == reference_logits.argmax(-1)).float().mean()
        print(f"bf16 vs fp32 logits over the {sequence.shape[1]} tokens: max |diff| {drift.max():.3f}, mean |diff| "
              f"{drift.mean():.4f} (logit scale: std {reference_logits.std():.2f}); same argmax at {agree:.1%} of positions; "
              f"same greedy tokens: {torch.equal(half[0], mine[0])}")


if __name__ == "__main__":
    main()
