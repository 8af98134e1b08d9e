"""generate / stream_generate against transformers' generate on tiny random decoders: greedy token for token,
left padding, cache vs no cache, seeded sampling, penalties and filters, stop strings, streaming, bad input."""
import pytest
import torch
import transformers
from tokenizers import Tokenizer as Backend
from tokenizers import models, pre_tokenizers

import workbench as wb
from workbench.generation import filter_top_k, filter_top_p, penalize_repetitions
from workbench.tokenizer import Tokenizer

from test_decoders import CASES, VOCAB, tiny_pair

NO_EOS = []  # eos_token_id=None means "the model's default"; an empty list means no eos at all
GREEDY_CASES = ["gpt2", "llama-gqa-bias-tied", "mistral-window", "qwen2-bias-window", "gemma", "phi3-partial",
                "gpt_neox-parallel"]


def prompts(lengths=(7, 4), seed=7):
    """A left-padded batch (pad id 0) and its rows without padding."""
    generator = torch.Generator().manual_seed(seed)
    rows = [torch.randint(3, VOCAB, (n,), generator=generator) for n in lengths]
    width = max(lengths)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, width - len(row):] = row
        mask[i, width - len(row):] = 1
    return ids, mask, rows


def word_tokenizer():
    """A real tokenizer over this test vocabulary: token i is the word "w{i}"."""
    backend = Backend(models.WordLevel({f"w{i}": i for i in range(VOCAB)}, unk_token="w1"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return Tokenizer(backend, unk_token="w1")


@pytest.fixture(scope="module")
def llama_pair(tmp_path_factory):
    return tiny_pair("llama-gqa-bias-tied", "text-generation", tmp_path_factory.mktemp("llama"))


@pytest.mark.parametrize("case", GREEDY_CASES)
def test_greedy_equals_transformers_token_for_token(case, tmp_path):
    reference, ours = tiny_pair(case, "text-generation", tmp_path)
    ids, mask, _ = prompts()
    settings = dict(max_new_tokens=10, do_sample=False, eos_token_id=5, pad_token_id=0)
    with torch.no_grad():
        theirs = reference.generate(input_ids=ids, attention_mask=mask, **settings)
    mine = ours.generate(ids, attention_mask=mask, **settings)
    assert mine.dtype == torch.long and mine.shape == theirs.shape
    assert torch.equal(mine, theirs)


def test_left_padded_batch_equals_one_by_one_and_cache_equals_no_cache(llama_pair):
    _, ours = llama_pair
    ids, mask, rows = prompts(lengths=(9, 3, 6))
    batch = ours.generate(ids, attention_mask=mask, max_new_tokens=8, eos_token_id=NO_EOS)
    assert torch.equal(batch, ours.generate(ids, attention_mask=mask, max_new_tokens=8, eos_token_id=NO_EOS, use_cache=False))
    for i, row in enumerate(rows):
        alone = ours.generate(row[None], max_new_tokens=8, eos_token_id=NO_EOS)
        assert torch.equal(batch[i, ids.shape[1]:], alone[0, len(row):])


def test_scores_and_logits_match_transformers_with_repetition_penalty(llama_pair):
    reference, ours = llama_pair
    ids, mask, _ = prompts()
    settings = dict(max_new_tokens=6, repetition_penalty=1.7, return_dict_in_generate=True, output_scores=True,
                    output_logits=True, pad_token_id=0)
    with torch.no_grad():
        theirs = reference.generate(input_ids=ids, attention_mask=mask, **settings)
    mine = ours.generate(ids, attention_mask=mask, **settings)
    assert torch.equal(mine.sequences, theirs.sequences)
    assert len(mine.scores) == len(theirs.scores) == 6
    for a, b in zip(mine.scores + mine.logits, theirs.scores + theirs.logits):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_filters_equal_transformers_warpers():
    scores = torch.randn(3, VOCAB, generator=torch.Generator().manual_seed(0))
    ids = torch.randint(0, VOCAB, (3, 6))
    seen = torch.zeros(3, VOCAB, dtype=torch.bool).scatter_(1, ids, True)
    torch.testing.assert_close(filter_top_k(scores, 7), transformers.TopKLogitsWarper(7)(ids, scores))
    torch.testing.assert_close(filter_top_p(scores, 0.8), transformers.TopPLogitsWarper(0.8)(ids, scores))
    torch.testing.assert_close(penalize_repetitions(scores, seen, 1.3),
                               transformers.RepetitionPenaltyLogitsProcessor(1.3)(ids, scores.clone()))


def test_sampling_is_reproducible_under_a_seed(llama_pair):
    _, ours = llama_pair
    ids, mask, _ = prompts()
    kwargs = dict(attention_mask=mask, max_new_tokens=12, do_sample=True, temperature=1.5, top_k=40, top_p=0.95)
    first = ours.generate(ids, seed=3, **kwargs)
    assert torch.equal(first, ours.generate(ids, seed=3, **kwargs))
    assert not torch.equal(first, ours.generate(ids, seed=4, **kwargs))
    # sampling from the single best token is greedy decoding
    greedy = ours.generate(ids, attention_mask=mask, max_new_tokens=12)
    assert torch.equal(ours.generate(ids, attention_mask=mask, max_new_tokens=12, do_sample=True, top_k=1, seed=0), greedy)


def test_eos_stops_and_pads_finished_rows(llama_pair):
    _, ours = llama_pair
    ids, mask, _ = prompts()
    free = ours.generate(ids, attention_mask=mask, max_new_tokens=6, eos_token_id=NO_EOS)
    eos = int(free[0, ids.shape[1]])  # row 0's first new token
    stopped = ours.generate(ids, attention_mask=mask, max_new_tokens=6, eos_token_id=[99, eos], pad_token_id=0)
    new = stopped[0, ids.shape[1]:]
    assert int(new[0]) == eos and bool((new[1:] == 0).all())
    one = ours.generate(ids[:1], attention_mask=mask[:1], max_new_tokens=6, eos_token_id=eos)
    assert one.shape[1] == ids.shape[1] + 1  # a single row stops right after its eos


def test_stop_strings_and_streaming_text(llama_pair):
    _, ours = llama_pair
    tok = word_tokenizer()
    prompt = torch.tensor([[11, 12, 13]])
    free = ours.generate(prompt, max_new_tokens=10, eos_token_id=NO_EOS)[0, 3:].tolist()
    target = free[4]
    stop_at = free.index(target)
    out = ours.generate(prompt, max_new_tokens=10, eos_token_id=NO_EOS, stop_strings=[f"w{target}"], tokenizer=tok)
    assert out[0, 3:].tolist() == free[:stop_at + 1]

    steps = list(ours.stream_generate(prompt, tokenizer=tok, max_new_tokens=10, eos_token_id=NO_EOS, top_alternatives=4))
    assert [s.token_id for s in steps] == free and [s.index for s in steps] == list(range(10))
    assert "".join(s.text for s in steps) == tok.decode(free, skip_special_tokens=True)
    assert steps[0].token == f"w{free[0]}" and steps[-1].finish_reason == "length"
    with torch.no_grad():
        logits = ours(torch.tensor([[11, 12, 13]])).logits[0, -1]
    logprobs = torch.log_softmax(logits, -1)
    assert steps[0].logprob == pytest.approx(float(logprobs[free[0]]), abs=1e-5)
    assert steps[0].top_ids[0] == free[0] and steps[0].top_tokens[0] == f"w{free[0]}"
    assert steps[0].top_probs == sorted(steps[0].top_probs, reverse=True) and len(steps[0].top_probs) == 4


def test_streamer_gets_prompt_then_each_token(llama_pair):
    _, ours = llama_pair

    class Recorder:  # the put/end interface of transformers' streamers
        def __init__(self):
            self.calls = []

        def put(self, value):
            self.calls.append(value.tolist())

        def end(self):
            self.calls.append("end")

    recorder = Recorder()
    out = ours.generate(torch.tensor([[4, 5, 6]]), max_new_tokens=3, eos_token_id=NO_EOS, streamer=recorder)
    assert recorder.calls == [[[4, 5, 6]], *[[t] for t in out[0, 3:].tolist()], "end"]


def test_defaults_come_from_generation_config(tmp_path):
    reference, _ = tiny_pair("llama", "text-generation", tmp_path, eos_token_id=None)
    reference.generation_config.max_new_tokens = 3
    reference.generation_config.eos_token_id = None
    reference.save_pretrained(tmp_path)
    ours = wb.load_model(tmp_path)
    assert ours.generation_config["max_new_tokens"] == 3
    assert ours.generate(torch.tensor([[4, 5]])).shape == (1, 5)
    assert ours.generate(torch.tensor([[4, 5]]), max_length=4).shape == (1, 4)


def test_bad_inputs_say_what_to_do(llama_pair, tmp_path):
    _, ours = llama_pair
    prompt = torch.tensor([[4, 5, 6]])
    assert torch.equal(ours.generate(prompt, max_new_tokens=0), prompt)
    with pytest.raises(wb.GenerationError, match="prompt is empty"):
        ours.generate(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(wb.GenerationError, match="needs a prompt"):
        ours.generate()
    too_long = torch.randint(3, VOCAB, (1, 70))
    with pytest.raises(wb.GenerationError, match="70 tokens but the model's context holds 64"):
        ours.generate(too_long, max_new_tokens=4)
    kept = ours.generate(too_long, max_new_tokens=4, truncation=True)
    assert kept.shape == (1, 64) and torch.equal(kept[0, :60], too_long[0, -60:])
    with pytest.raises(wb.GenerationError, match="does not know 'max_tokens'"):
        ours.generate(prompt, max_tokens=3)
    with pytest.raises(wb.GenerationError, match="outside this model's vocabulary"):
        ours.generate(torch.tensor([[VOCAB + 5]]))
    with pytest.raises(wb.GenerationError, match="Beam search"):
        ours.generate(prompt, num_beams=3)
    with pytest.raises(wb.GenerationError, match="need the tokenizer"):
        ours.generate(prompt, stop_strings=["w3"])
    with pytest.raises(wb.GenerationError, match="one prompt at a time"):
        ours.stream_generate(torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(wb.GenerationError, match="temperature must be > 0"):
        ours.generate(prompt, do_sample=True, temperature=0.0)
    with pytest.raises(wb.GenerationError, match="must be 0 or more"):
        ours.generate(prompt, max_length=2)


def test_generation_stops_when_the_context_is_full(tmp_path):
    _, ours = tiny_pair("gpt2", "text-generation", tmp_path)  # 40 learned positions
    out = ours.generate(torch.randint(3, VOCAB, (1, 36)), max_new_tokens=10, eos_token_id=NO_EOS)
    assert out.shape == (1, 40)


# ---- streamed text and characters cut across tokens (real SmolLM2) ------------------------------------------------

def utf8_bytes_of(tokenizer, ids: list[int]) -> list[bytes]:
    """The UTF-8 bytes each byte-level token stands for (GPT-2's printable byte alphabet undone)."""
    from workbench.views.tokens import BYTE_ALPHABET

    return [bytes(BYTE_ALPHABET[c] for c in piece) for piece in tokenizer.convert_ids_to_tokens(ids)]


def test_streamed_text_holds_back_a_cut_character_and_never_shows_it_broken(smollm_gguf):
    """Fed the tokens of Korean and emoji one by one, cut after every token, the streaming decoder gives a token's
    text only once its bytes end on a whole character (then all the text held back so far; Python's incremental UTF-8
    decoder is the reference), and never U+FFFD: at the cut, the bytes of an unfinished character are left out."""
    import codecs

    from workbench.generation import _TextDelta

    tokenizer = wb.load_tokenizer(smollm_gguf)
    text = "한국어 토큰 🙂👍 ok ❤️"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    per_token = utf8_bytes_of(tokenizer, ids)
    assert b"".join(per_token) == text.encode()
    reference, held, expected, left = codecs.getincrementaldecoder("utf-8")(), "", [], []
    for piece in per_token:
        held += reference.decode(piece)  # final=False: the bytes of an unfinished character wait inside
        unfinished = bool(reference.getstate()[0])
        expected.append("" if unfinished else held)  # what this token's step says
        held = held if unfinished else ""
        left.append(held)  # what is left to say if the generation stops here: whole characters only
    assert expected.count("") > 5 and any(left)  # SmolLM2 cuts many of these characters, one after a space
    for end in range(1, len(ids) + 1):  # generation stopped after `end` tokens
        stream = _TextDelta(tokenizer)
        assert [stream.push(token_id) for token_id in ids[:end]] == expected[:end]
        assert stream.flush() == left[end - 1] and stream.flush() == ""
    stream = _TextDelta(tokenizer)
    assert "".join(stream.push(token_id) for token_id in ids) + stream.flush() == text


def test_generation_cut_inside_an_emoji_ends_without_a_replacement_character(smollm_gguf):
    """SmolLM2 answers this prompt with 🌟 as three tokens; stopping after two leaves no U+FFFD in the text, and the
    generation view shows those two tokens' bytes instead."""
    from workbench.views.generation import GenerationView, Step, labeller
    from workbench.views.tokens import backend_of, scheme_of

    tokenizer, model = wb.load_tokenizer(smollm_gguf), wb.load_model(smollm_gguf)
    chat = [{"role": "user", "content": "Write three emoji that mean happy."}]
    prompt = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    input_ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    whole = list(model.stream_generate(input_ids, tokenizer=tokenizer, max_new_tokens=3, do_sample=False))
    assert [s.text for s in whole] == ["", "", "🌟"]  # held back until the third byte token completes the star
    cut = list(model.stream_generate(input_ids, tokenizer=tokenizer, max_new_tokens=2, do_sample=False))
    assert [s.token_id for s in cut] == [s.token_id for s in whole[:2]] and cut[-1].finish_reason == "length"
    assert [s.text for s in cut] == ["", ""]

    backend = backend_of(tokenizer)
    view = GenerationView([], labeller(backend, scheme_of(backend)), steps=[Step.from_generation(s) for s in cut])
    shown = [step["text"] for step in view.traits()["state"]["steps"]]
    assert view.text == "" and shown == ["<0xF0><0x9F>", "<0x8C>"]
