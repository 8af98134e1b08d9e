"""The tokenizer folder format of the Hub: reading it into Tokenizer arguments, and writing it back.

A folder holds the tokenization pipeline in one of three forms, tried in this order:
    tokenizer.json                 the whole `tokenizers` pipeline (normalizer, pre-tokenizer, model, post-processor)
    vocab.txt                      WordPiece, BERT style: [CLS] A [SEP] (B [SEP])
    vocab.json + merges.txt        byte-level BPE: RoBERTa style <s> A </s></s> B </s>, or GPT-2 style (no specials)
and next to it the settings transformers keeps outside the pipeline:
    tokenizer_config.json          special tokens, model_max_length, padding/truncation side, chat_template, class
    special_tokens_map.json        special tokens (older checkpoints)
    chat_template.jinja / chat_template.json / additional_chat_templates/*.jinja
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenizers import AddedToken, decoders, normalizers, pre_tokenizers, processors
from tokenizers import Tokenizer as Backend
from tokenizers.models import BPE, WordPiece

from ..errors import TokenizerError

if TYPE_CHECKING:
    from .tokenizer import Tokenizer

TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_FILE = "special_tokens_map.json"

SPECIAL_TOKEN_NAMES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")

# transformers writes "no length limit" as int(1e30) and treats anything above 1e20 as no limit.
_NO_LIMIT_ABOVE = int(1e20)

# Which inputs a model expects from its tokenizer, keyed by the transformers tokenizer class named in
# tokenizer_config.json (as transformers 5 defines them). Every class not listed gives the default.
_BERT_INPUTS = ("input_ids", "token_type_ids", "attention_mask")
_DEBERTA_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
DEFAULT_MODEL_INPUT_NAMES = ("input_ids", "attention_mask")
MODEL_INPUT_NAMES_BY_CLASS = {
    "BertTokenizer": _BERT_INPUTS, "ElectraTokenizer": _BERT_INPUTS, "MobileBertTokenizer": _BERT_INPUTS,
    "SqueezeBertTokenizer": _BERT_INPUTS, "LayoutLMTokenizer": _BERT_INPUTS, "LxmertTokenizer": _BERT_INPUTS,
    "ConvBertTokenizer": _BERT_INPUTS, "MarkupLMTokenizer": _BERT_INPUTS,
    "DPRQuestionEncoderTokenizer": _BERT_INPUTS, "DPRContextEncoderTokenizer": _BERT_INPUTS,
    "DebertaTokenizer": _DEBERTA_INPUTS, "DebertaV2Tokenizer": _DEBERTA_INPUTS, "CanineTokenizer": _DEBERTA_INPUTS,
    "LayoutLMv2Tokenizer": _DEBERTA_INPUTS, "TapasTokenizer": _DEBERTA_INPUTS,
    "FNetTokenizer": ("input_ids", "token_type_ids"),
}

# Byte-level BPE classes whose sequences are wrapped RoBERTa style: <s> A </s></s> B </s>.
_ROBERTA_STYLE_CLASSES = {"RobertaTokenizer", "BartTokenizer", "LongformerTokenizer", "LEDTokenizer",
                          "MvpTokenizer", "BlenderbotTokenizer", "MarkupLMTokenizer"}
_ROBERTA_DEFAULTS = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
                     "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>"}
_GPT2_DEFAULTS = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
_BERT_DEFAULTS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                  "mask_token": "[MASK]"}

# tokenizer_config.json keys this module turns into Tokenizer arguments; every other key is kept as is and
# written back by save_pretrained (e.g. do_lower_case, which transformers' BertTokenizer reads on load).
_MANAGED_CONFIG_KEYS = {*SPECIAL_TOKEN_NAMES, "additional_special_tokens", "extra_special_tokens",
                        "added_tokens_decoder", "model_max_length", "max_len", "padding_side", "truncation_side",
                        "chat_template", "clean_up_tokenization_spaces", "model_input_names", "tokenizer_class",
                        "name_or_path", "tokenizer_file", "special_tokens_map_file", "add_bos_token",
                        "add_eos_token", "auto_map", "vocab_file", "merges_file"}


def model_input_names_for(tokenizer_class: str | None) -> list[str]:
    """The inputs transformers' `tokenizer_class` returns by default (token_type_ids or not)."""
    name = (tokenizer_class or "").removesuffix("Fast")
    return list(MODEL_INPUT_NAMES_BY_CLASS.get(name, DEFAULT_MODEL_INPUT_NAMES))


# -- reading ---------------------------------------------------------------------------------------------------------
def read_tokenizer_folder(folder: str | Path) -> dict[str, Any]:
    """Keyword arguments for `Tokenizer(...)` from a tokenizer folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TokenizerError(f"{folder} is not a folder; pass the folder that holds tokenizer.json or the vocab "
                             "files (wb.load_tokenizer resolves Hub ids).")
    config, special_tokens_map = _read_json(folder / CONFIG_FILE), _read_json(folder / SPECIAL_TOKENS_FILE)
    special_tokens = _special_tokens(config, special_tokens_map)
    extra_special_tokens = _extra_special_tokens(config, special_tokens_map)
    tokenizer_class = config.get("tokenizer_class")
    add_bos_token = add_eos_token = None
    wraps_sequences = None  # "bert" or "roberta" when the post-processor is built here, from vocab files

    if (folder / TOKENIZER_FILE).is_file():
        try:
            backend = Backend.from_file(str(folder / TOKENIZER_FILE))
        except Exception as error:  # the Rust side raises plain Exceptions for unreadable files
            raise TokenizerError(f"{folder / TOKENIZER_FILE} could not be read ({error}); restore the file from "
                                 "the checkpoint or upgrade the tokenizers package.") from error
        # transformers takes these defaults from the padding/truncation baked into tokenizer.json.
        padding, truncation = backend.padding or {}, backend.truncation or {}
        if special_tokens.get("pad_token") is None and padding.get("pad_token"):
            special_tokens["pad_token"] = padding["pad_token"]
        config.setdefault("padding_side", padding.get("direction", "right"))
        config.setdefault("truncation_side", truncation.get("direction", "right"))
    elif (folder / "vocab.txt").is_file():
        special_tokens = {**_BERT_DEFAULTS, **special_tokens}
        backend = _wordpiece_backend(folder / "vocab.txt", config, special_tokens["unk_token"])
        tokenizer_class = tokenizer_class or "BertTokenizer"
        wraps_sequences = "bert"
    elif (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        roberta_style = (tokenizer_class or "").removesuffix("Fast") in _ROBERTA_STYLE_CLASSES or "<s>" in (
            _content(special_tokens.get("bos_token")), _content(special_tokens.get("cls_token")))
        special_tokens = {**(_ROBERTA_DEFAULTS if roberta_style else _GPT2_DEFAULTS), **special_tokens}
        backend = _byte_level_bpe_backend(folder / "vocab.json", folder / "merges.txt", config)
        tokenizer_class = tokenizer_class or ("RobertaTokenizer" if roberta_style else "GPT2Tokenizer")
        wraps_sequences = "roberta" if roberta_style else None
        add_bos_token, add_eos_token = config.get("add_bos_token"), config.get("add_eos_token")
    else:
        raise TokenizerError(f"There is no tokenizer.json, vocab.txt or vocab.json+merges.txt in {folder}; "
                             "point to a checkpoint folder that has its tokenizer files.")

    # Same order as transformers, so that tokens missing from the vocabulary get the same new ids.
    _add_missing_tokens(backend, _added_tokens_from_config(config))
    _add_missing_tokens(backend, [as_special(token) for token in [*special_tokens.values(), *extra_special_tokens]])
    if wraps_sequences == "bert":
        cls_token, sep_token = _content(special_tokens["cls_token"]), _content(special_tokens["sep_token"])
        backend.post_processor = bert_post_processor(cls_token, backend.token_to_id(cls_token),
                                                     sep_token, backend.token_to_id(sep_token))
    elif wraps_sequences == "roberta":
        cls_token, sep_token = _content(special_tokens["cls_token"]), _content(special_tokens["sep_token"])
        backend.post_processor = processors.RobertaProcessing(  # (sep, cls, trim_offsets, add_prefix_space)
            (sep_token, backend.token_to_id(sep_token)), (cls_token, backend.token_to_id(cls_token)),
            config.get("trim_offsets", True), config.get("add_prefix_space", False))

    model_max_length = config.get("model_max_length", config.get("max_len"))
    return dict(
        backend=backend,
        **special_tokens,
        extra_special_tokens=extra_special_tokens,
        model_input_names=config.get("model_input_names") or model_input_names_for(tokenizer_class),
        model_max_length=None if model_max_length is None or model_max_length > _NO_LIMIT_ABOVE
        else int(model_max_length),
        padding_side=config.get("padding_side", "right"),
        truncation_side=config.get("truncation_side", "right"),
        chat_template=_chat_template(config, folder),
        clean_up_tokenization_spaces=bool(config.get("clean_up_tokenization_spaces", False)),
        add_bos_token=add_bos_token,
        add_eos_token=add_eos_token,
        tokenizer_class=tokenizer_class,
        name_or_path=str(folder),
        config_extras={key: value for key, value in config.items() if key not in _MANAGED_CONFIG_KEYS},
    )


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise TokenizerError(f"{path} is not valid JSON ({error}); restore the file from the checkpoint.") from error


def as_added_token(value: Any, special: bool = True) -> AddedToken | str | None:
    """A token as written in tokenizer_config.json (a string or an AddedToken dict) -> str or AddedToken."""
    if isinstance(value, dict):
        return AddedToken(value["content"], single_word=value.get("single_word", False),
                          lstrip=value.get("lstrip", False), rstrip=value.get("rstrip", False),
                          normalized=value.get("normalized", not special), special=value.get("special", special))
    return value


def as_special(token: AddedToken | str) -> AddedToken:
    """A special token as the backend stores it: matched before normalization, skipped by decode if asked."""
    if isinstance(token, AddedToken):
        return AddedToken(token.content, single_word=token.single_word, lstrip=token.lstrip, rstrip=token.rstrip,
                          normalized=token.normalized, special=True)
    return AddedToken(token, special=True, normalized=False)


def _content(token: AddedToken | str | None) -> str | None:
    return token.content if isinstance(token, AddedToken) else token


def _special_tokens(config: dict, special_tokens_map: dict) -> dict[str, AddedToken | str]:
    """Named special tokens: tokenizer_config.json first, special_tokens_map.json for the ones it lacks."""
    tokens = {}
    for name in SPECIAL_TOKEN_NAMES:
        value = config.get(name, special_tokens_map.get(name))
        if value is not None:
            tokens[name] = as_added_token(value)
    return tokens


def _extra_special_tokens(config: dict, special_tokens_map: dict) -> list[AddedToken | str]:
    extra = config.get("additional_special_tokens") or config.get("extra_special_tokens")
    if extra is None:
        extra = special_tokens_map.get("additional_special_tokens") or special_tokens_map.get("extra_special_tokens")
    if isinstance(extra, dict):  # transformers 4 "extra_special_tokens": {name: token}
        extra = list(extra.values())
    return [as_added_token(token) for token in extra or []]


def _added_tokens_from_config(config: dict) -> list[AddedToken]:
    """tokenizer_config.json `added_tokens_decoder` ({"id": {AddedToken fields}}) in id order."""
    decoder = config.get("added_tokens_decoder") or {}
    return [as_added_token(decoder[key], special=decoder[key].get("special", False))
            for key in sorted(decoder, key=int)]


def _add_missing_tokens(backend: Backend, tokens: list[AddedToken]) -> None:
    present = {token.content for token in backend.get_added_tokens_decoder().values()}
    for token in tokens:
        if token.content not in present:
            (backend.add_special_tokens if token.special else backend.add_tokens)([token])


def _chat_template(config: dict, folder: Path) -> str | dict[str, str] | None:
    """The chat template; separate files win over the tokenizer_config.json entry, as in transformers."""
    templates: dict[str, str] = {}
    if (folder / "chat_template.jinja").is_file():
        templates["default"] = (folder / "chat_template.jinja").read_text(encoding="utf-8")
    elif (folder / "chat_template.json").is_file():
        templates["default"] = _read_json(folder / "chat_template.json").get("chat_template")
    for path in sorted((folder / "additional_chat_templates").glob("*.jinja")):
        templates[path.stem] = path.read_text(encoding="utf-8")
    if templates:
        return templates["default"] if list(templates) == ["default"] else templates
    template = config.get("chat_template")
    if isinstance(template, list):  # several named templates: [{"name": ..., "template": ...}]
        return {entry["name"]: entry["template"] for entry in template}
    return template


def _wordpiece_backend(vocab_path: Path, config: dict, unk_token: AddedToken | str) -> Backend:
    """BERT's pipeline: clean + lowercase (+ strip accents) -> split on spaces/punctuation -> WordPiece."""
    vocab: dict[str, int] = {}
    with open(vocab_path, encoding="utf-8") as lines:
        for index, line in enumerate(lines):
            vocab[line.rstrip("\n")] = index
    backend = Backend(WordPiece(vocab, unk_token=str(_content(unk_token))))
    backend.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=config.get("tokenize_chinese_chars", True),
        strip_accents=config.get("strip_accents"), lowercase=config.get("do_lower_case", True))
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")
    return backend


def _byte_level_bpe_backend(vocab_path: Path, merges_path: Path, config: dict) -> Backend:
    """GPT-2's pipeline: bytes -> printable characters, split with GPT-2's regex, BPE merges."""
    vocab = _read_json(vocab_path)
    merges = []
    with open(merges_path, encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#version"):
                merges.append((parts[0], parts[1]))
    backend = Backend(BPE(vocab=vocab, merges=merges, dropout=None, continuing_subword_prefix="",
                          end_of_word_suffix="", fuse_unk=False))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=config.get("add_prefix_space", False))
    backend.decoder = decoders.ByteLevel()
    return backend


def bert_post_processor(cls_token: str, cls_id: int, sep_token: str, sep_id: int) -> processors.TemplateProcessing:
    """[CLS] A [SEP] with type ids 0, and [CLS] A [SEP] B [SEP] with type ids 0...0 1...1 for pairs."""
    return processors.TemplateProcessing(
        single=f"{cls_token}:0 $A:0 {sep_token}:0",
        pair=f"{cls_token}:0 $A:0 {sep_token}:0 $B:1 {sep_token}:1",
        special_tokens=[(cls_token, cls_id), (sep_token, sep_id)])


def bos_eos_post_processor(bos: tuple[str, int] | None, eos: tuple[str, int] | None) -> processors.TemplateProcessing:
    """BOS A EOS (each optional), pairs BOS A EOS BOS B EOS with type ids 0 / 1: Llama-style add_bos/add_eos."""
    def wrap(sequence: str, type_id: int) -> str:
        return " ".join(([f"{bos[0]}:{type_id}"] if bos else []) + [f"${sequence}:{type_id}"]
                        + ([f"{eos[0]}:{type_id}"] if eos else []))
    return processors.TemplateProcessing(single=wrap("A", 0), pair=f"{wrap('A', 0)} {wrap('B', 1)}",
                                         special_tokens=[token for token in (bos, eos) if token])


# -- writing ---------------------------------------------------------------------------------------------------------
def write_tokenizer_folder(tokenizer: Tokenizer, folder: str | Path) -> tuple[str, ...]:
    """tokenizer.json + tokenizer_config.json + special_tokens_map.json, loadable by transformers 4.x and 5.x."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer_path, config_path, special_path = folder / TOKENIZER_FILE, folder / CONFIG_FILE, folder / SPECIAL_TOKENS_FILE
    tokenizer_path.write_text(tokenizer.backend_json(), encoding="utf-8")

    special_tokens_map = dict(tokenizer.special_tokens_map)
    if tokenizer.extra_special_tokens:  # the name both transformers 4 and 5 read as a list
        special_tokens_map["additional_special_tokens"] = tokenizer.extra_special_tokens
    config = {
        **tokenizer.config_extras,
        # Without a class of its own, the generic fast tokenizer loads tokenizer.json exactly as written.
        "tokenizer_class": tokenizer.tokenizer_class or "PreTrainedTokenizerFast",
        **special_tokens_map,
        "model_input_names": list(tokenizer.model_input_names),
        "padding_side": tokenizer.padding_side,
        "truncation_side": tokenizer.truncation_side,
        "clean_up_tokenization_spaces": tokenizer.clean_up_tokenization_spaces,
        "added_tokens_decoder": {str(index): _added_token_dict(token)
                                 for index, token in sorted(tokenizer.added_tokens_decoder.items())},
    }
    if tokenizer.model_max_length is not None:
        config["model_max_length"] = tokenizer.model_max_length
    if isinstance(tokenizer.chat_template, dict):
        config["chat_template"] = [{"name": name, "template": template}
                                   for name, template in tokenizer.chat_template.items()]
    elif tokenizer.chat_template is not None:
        config["chat_template"] = tokenizer.chat_template
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    special_path.write_text(json.dumps(special_tokens_map, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return str(config_path), str(special_path), str(tokenizer_path)


def _added_token_dict(token: AddedToken) -> dict[str, Any]:
    return {"content": token.content, "lstrip": token.lstrip, "normalized": token.normalized,
            "rstrip": token.rstrip, "single_word": token.single_word, "special": token.special}
