"""`python -m workbench`: a short tour on the offline default model (MiniLM), printed to the terminal.

Loads all-MiniLM-L6-v2 from its installed package (no network), shows how a sentence is tokenized,
how similar a few sentences are (mean-pooled, normalised embeddings, as sentence-transformers does),
and the shape of the attention it computed.
"""
from __future__ import annotations

import argparse
import os
import sys


def tour(model_name: str = "sentence-transformers/all-MiniLM-L6-v2") -> None:
    import torch

    import workbench as wb

    tokenizer = wb.load_tokenizer(model_name)
    model = wb.load_model(model_name)
    print(f"Loaded {model_name}: {type(model).__name__}, {model.num_parameters() / 1e6:.1f}M parameters")

    text = "Transformers read text as tokens: 토큰 too 🙂"
    encoding = tokenizer(text, return_offsets_mapping=True)
    pieces = tokenizer.convert_ids_to_tokens(encoding["input_ids"])
    print(f"\n{text!r} -> {len(pieces)} tokens")
    print("  " + " | ".join(pieces))

    sentences = ["A cat sits on the mat.", "A kitten is resting on a rug.", "Stock markets fell sharply today."]
    batch = tokenizer(sentences, padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        out = model(**batch, output_attentions=True)
    mask = batch["attention_mask"].unsqueeze(-1).float()  # mean over real tokens only
    embeddings = (out.last_hidden_state * mask).sum(1) / mask.sum(1)
    embeddings = torch.nn.functional.normalize(embeddings, dim=-1)
    similarity = embeddings @ embeddings.T
    print("\nCosine similarity of sentence embeddings:")
    for i, sentence in enumerate(sentences):
        scores = "  ".join(f"{float(s):5.2f}" for s in similarity[i])
        print(f"  {scores}   {sentence}")
    attention = out.attentions
    print(f"\nAttention: {len(attention)} layers, each [batch, heads, tokens, tokens] = {list(attention[0].shape)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench", description=__doc__)
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from .errors import WorkbenchError

    try:
        tour(args.model)
    except WorkbenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
