"""GGUF checkpoints: tiny files written here with gguf.GGUFWriter (llama / qwen2 architecture, random weights,
small trained vocabularies, one file per quantization type) loaded by us and by transformers' GGUF loader, and the
real packaged SmolLM2-135M-Instruct against transformers. Plus broken files."""
import importlib.util
import json
import shutil
import struct

import gguf
import numpy as np
import pytest
import torch
import transformers
from gguf import GGMLQuantizationType as Q
from tokenizers import Tokenizer as Backend
from tokenizers import models, pre_tokenizers, trainers

import workbench as wb
from workbench.errors import TokenizerError, UnsupportedModelError, WeightsError
from workbench.models.gguf import gguf_checkpoint, load_gguf_tokenizer, read_gguf

from conftest import SMOLLM_ID

pytest.importorskip("accelerate", reason="transformers needs accelerate to load GGUF files (the reference)")

CORPUS = [
    "The quick brown fox jumps over the lazy dog. It's 2024 and we're testing tokenizers!",
    "def add(a, b):\n    return a + b  # simple\n\nclass Point:\n    x: int = 0\n",
    "안녕하세요, 세계! 한국어 문장을 토큰으로 나눕니다.", "Emoji: 🤗🚀 and naïve café, 日本語のテキスト。",
    "Numbers 1234567890 and 3.14159; tabs\tand  double  spaces\r\nnew lines.",
] * 3
TEXTS = [
    "Hello world! The fox isn't lazy.", "def f(x):\n    return x ** 2\n\n\n", "안녕하세요 세계", "🤗 emoji 👩‍👩‍👧 family",
    "   many   spaces\t\ttabs\r\n", "<|im_start|>user\nHi there<|im_end|>\n", "1234567 3.14159 -42", "", " lead",
    "ÄÖÜ ß naïve 中文 zebra quixotic", "<think>reason</think> done",
]
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2? 😀"}]

# The tiny model: K-quant blocks hold 256 values, so every row length is a multiple of 256.
TINY = dict(hidden_size=256, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=10000.0)
# Our names -> llama.cpp's (written here independently of workbench's own map).
LLAMA_CPP_NAMES = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
                   "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
                   "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}


# ---- writing GGUF files --------------------------------------------------------------------------------------------
def byte_level_vocab(pre="gpt2"):
    """(tokens, token types, merges): a byte-level BPE trained on CORPUS, with special and user-defined tokens.

    SmolLM's vocabulary was learned with every digit split off, so it has no merges with digits; the "smollm"
    vocabulary here is learned the same way.
    """
    backend = Backend(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    if pre == "smollm":
        backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                         pre_tokenizers.ByteLevel(add_prefix_space=False)])
    trainer = trainers.BpeTrainer(vocab_size=420, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    backend.train_from_iterator(CORPUS, trainer)
    state = json.loads(backend.to_str())["model"]
    tokens = sorted(state["vocab"], key=state["vocab"].get) + ["<think>", "</think>"]
    types = [3 if token.startswith("<|") else 4 if token.endswith("think>") else 1 for token in tokens]
    merges = [" ".join(m) if isinstance(m, list) else m for m in state["merges"]]
    return tokens, types, merges


def sentencepiece_vocab():
    """(tokens, token types, scores): SentencePiece layout -- <unk> <s> </s>, 256 byte tokens, then pieces."""
    backend = Backend(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    backend.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=400))
    learned = json.loads(backend.to_str())["model"]["vocab"]
    head = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens = head + [t for t in sorted(learned, key=learned.get) if t not in head]
    types = [2, 3, 3] + [6] * 256 + [1] * (len(tokens) - len(head))
    scores = [0.0] * len(head) + [-float(i) for i in range(len(tokens) - len(head))]
    return tokens, types, scores


def add_tokenizer(writer, kind="gpt2", pre="smollm"):
    if kind == "gpt2":
        tokens, types, merges = byte_level_vocab(pre)
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(pre)
        writer.add_token_merges(merges)
        bos, eos, unk, pad = 1, 2, 0, 2
        writer.add_add_bos_token(False)
    else:
        tokens, types, scores = sentencepiece_vocab()
        writer.add_tokenizer_model("llama")
        writer.add_token_scores(scores)
        bos, eos, unk, pad = 1, 2, 0, None
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_bos_token_id(bos)
    writer.add_eos_token_id(eos)
    writer.add_unk_token_id(unk)
    if pad is not None:
        writer.add_pad_token_id(pad)
    writer.add_chat_template(CHAT_TEMPLATE)
    return len(tokens)


def to_llama_cpp_rows(weight: torch.Tensor, heads: int) -> torch.Tensor:
    """llama.cpp's converter order for Q/K rows: each head's two rotary halves interleaved pairwise."""
    rows, cols = weight.shape
    return weight.reshape(heads, 2, rows // heads // 2, cols).transpose(1, 2).reshape(rows, cols)


def random_k_blocks(qtype, rows: int, cols: int, seed: int) -> np.ndarray:
    """Random bytes in a K-quant layout (gguf cannot quantize to these), with small finite fp16 scales."""
    block_values, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    blocks = np.random.default_rng(seed).integers(0, 256, (rows, cols // block_values, block_bytes), dtype=np.uint8)
    scale_offsets = {Q.Q4_K: (0, 2), Q.Q6_K: (block_bytes - 2,)}[qtype]  # Q4_K: d, dmin first; Q6_K: d last
    for offset in scale_offsets:
        blocks[:, :, offset:offset + 2] = np.frombuffer(np.float16(0.002).tobytes(), np.uint8)
    return blocks.reshape(rows, -1)


def write_llama_gguf(path, reference, qtype, arch="llama", seed=0):
    """Write a transformers Llama/Qwen2 model as llama.cpp would: its names, Q/K rows permuted (llama only),
    matrices in `qtype`, norms and biases in F32, no output.weight when the embeddings are tied."""
    config = reference.config
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(config.rope_parameters["rope_theta"])
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_dimension_count(config.hidden_size // config.num_attention_heads)
    writer.add_vocab_size(config.vocab_size)
    add_tokenizer(writer)
    for index, (name, tensor) in enumerate(reference.state_dict().items()):
        if name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        gguf_name = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
                     "lm_head.weight": "output.weight"}.get(name)
        if gguf_name is None:
            _, _, layer, *module, kind = name.split(".")
            gguf_name = f"blk.{layer}.{LLAMA_CPP_NAMES['.'.join(module)]}.{kind}"
        weight = tensor.detach().float()
        if arch == "llama" and (".attn_q." in gguf_name or ".attn_k." in gguf_name) and weight.ndim == 2:
            heads = config.num_attention_heads if ".attn_q." in gguf_name else config.num_key_value_heads
            weight = to_llama_cpp_rows(weight, heads)
        array = weight.numpy()
        if weight.ndim == 1 or qtype == Q.F32:
            writer.add_tensor(gguf_name, array)
        elif qtype in (Q.Q4_K, Q.Q6_K):
            writer.add_tensor(gguf_name, random_k_blocks(qtype, *array.shape, seed=seed + index), raw_dtype=qtype)
        else:
            writer.add_tensor(gguf_name, gguf.quants.quantize(array, qtype), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def tiny_llama(vocab_size, tied=True, model_type="llama", seed=0):
    config_class = {"llama": transformers.LlamaConfig, "qwen2": transformers.Qwen2Config}[model_type]
    model_class = {"llama": transformers.LlamaForCausalLM, "qwen2": transformers.Qwen2ForCausalLM}[model_type]
    torch.manual_seed(seed)
    model = model_class(config_class(vocab_size=vocab_size, tie_word_embeddings=tied, **TINY)).eval()
    with torch.no_grad():  # norms start at 1 and biases at 0: make them random so that misplacing them shows
        for name, parameter in model.named_parameters():
            if parameter.ndim == 1:
                noise = 0.1 * torch.randn_like(parameter)
                parameter.copy_(1 + noise if "norm" in name else noise)
    return model


def transformers_gguf(path):
    model = transformers.AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    return model.eval()


def has_llama_family() -> bool:
    try:
        import workbench.models.llama  # noqa: F401
    except ImportError:
        return False
    return True


def has_generation() -> bool:
    return importlib.util.find_spec("workbench.generation") is not None


needs_llama = pytest.mark.skipif(not has_llama_family(), reason="workbench.models.llama is not there yet")
needs_generation = pytest.mark.skipif(not has_generation(), reason="workbench.generation is not there yet")

VOCAB_SIZE = len(byte_level_vocab("smollm")[0])


# ---- tiny files: weights ---------------------------------------------------------------------------------------------
SCHEMES = {  # file name: (matrix type, tied embeddings, architecture)
    "f32-untied": (Q.F32, False, "llama"), "f16": (Q.F16, True, "llama"), "bf16": (Q.BF16, True, "llama"),
    "q8_0": (Q.Q8_0, True, "llama"), "q4_0-untied": (Q.Q4_0, False, "llama"), "q4_1": (Q.Q4_1, True, "llama"),
    "q5_1": (Q.Q5_1, True, "llama"), "q4_k": (Q.Q4_K, True, "llama"), "q6_k-untied": (Q.Q6_K, False, "llama"),
    "qwen2-q8_0": (Q.Q8_0, True, "qwen2"),
}


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gguf")
    files = {}
    for name, (qtype, tied, arch) in SCHEMES.items():
        reference = tiny_llama(VOCAB_SIZE, tied=tied, model_type=arch)
        files[name] = (write_llama_gguf(folder / f"{name}.gguf", reference, qtype, arch=arch), reference)
    return files


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_tiny_weights_and_config_equal_transformers_gguf_loader(tiny_files, scheme):
    path, _ = tiny_files[scheme]
    config, tensors, _ = gguf_checkpoint(path)
    theirs = transformers_gguf(path)
    expected = {k: v for k, v in theirs.state_dict().items()
                if not (k == "lm_head.weight" and config["tie_word_embeddings"])}
    assert set(tensors) == set(expected)
    for name, tensor in tensors.items():
        assert torch.equal(tensor, expected[name]), name
    for field in ("model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                  "num_attention_heads", "num_key_value_heads", "rms_norm_eps", "max_position_embeddings",
                  "tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id"):
        assert config[field] == getattr(theirs.config, field), field
    assert config["rope_theta"] == theirs.config.rope_parameters["rope_theta"]


def test_f32_file_gives_back_the_original_weights(tiny_files):
    """Independent of transformers' loader: names, Q/K row order and the untied head come back exactly."""
    path, reference = tiny_files["f32-untied"]
    _, tensors, _ = gguf_checkpoint(path)
    original = reference.state_dict()
    assert set(tensors) == set(original)
    for name, tensor in tensors.items():
        assert torch.equal(tensor, original[name]), name


def test_dtype_is_applied_while_reading(tiny_files):
    path, _ = tiny_files["q8_0"]
    _, tensors32, _ = gguf_checkpoint(path)
    _, tensors16, _ = gguf_checkpoint(path, dtype=torch.bfloat16)
    for name, tensor in tensors16.items():
        assert tensor.dtype == torch.bfloat16
        assert torch.equal(tensor, tensors32[name].to(torch.bfloat16)), name


def test_labels_give_a_gguf_decoder_a_fresh_classification_head(tiny_files):
    """`labels=` works for a .gguf file as for a folder: named labels, a fresh head said in a warning, the base
    weights as read."""
    from workbench.models.base import FreshWeightsWarning

    path, _ = tiny_files["q8_0"]
    with pytest.warns(FreshWeightsWarning):
        model = wb.load_model(path, task="text-classification", labels=["negative", "neutral", "positive"])
    assert model.config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    assert model.config.label2id == {"negative": 0, "neutral": 1, "positive": 2}
    _, tensors, _ = gguf_checkpoint(path)
    state = model.state_dict()
    assert state["score.weight"].shape[0] == 3
    assert torch.equal(state["model.embed_tokens.weight"], tensors["model.embed_tokens.weight"])
    logits = model(input_ids=torch.tensor([[5, 17, 42]])).logits
    assert logits.shape == (1, 3)


@needs_llama
@pytest.mark.parametrize("scheme", ["f32-untied", "q4_1", "q6_k-untied", "qwen2-q8_0"])
def test_tiny_model_logits_equal_transformers(tiny_files, scheme):
    path, _ = tiny_files[scheme]
    ours = wb.load_model(path)
    theirs = transformers_gguf(path)
    assert ours.architecture_name() == type(theirs).__name__
    ids = torch.tensor([[5, 17, 42, 99, 300, 7], [1, 2, 3, 250, 251, 252]])
    with torch.no_grad():
        torch.testing.assert_close(ours(input_ids=ids).logits, theirs(input_ids=ids).logits, atol=1e-5, rtol=1e-5)
    assert ours.generation_config == {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2}


@needs_llama
@needs_generation
@pytest.mark.parametrize("scheme", ["q4_1", "qwen2-q8_0"])
def test_tiny_model_greedy_tokens_equal_transformers(tiny_files, scheme):
    path, _ = tiny_files[scheme]
    ours, theirs = wb.load_model(path), transformers_gguf(path)
    prompt = torch.tensor([[5, 17, 42, 99, 300, 7]])
    expected = theirs.generate(prompt, max_new_tokens=8, do_sample=False, eos_token_id=None, pad_token_id=2)
    assert ours.generate(prompt, max_new_tokens=8, do_sample=False, eos_token_id=None).tolist() == expected.tolist()


def write_gpt2_gguf(path, reference):
    """A transformers GPT-2 written as llama.cpp's converter does: Conv1D weights stored [out, in], F32."""
    config = reference.config
    writer = gguf.GGUFWriter(str(path), "gpt2")
    writer.add_context_length(config.n_positions)
    writer.add_embedding_length(config.n_embd)
    writer.add_feed_forward_length(4 * config.n_embd)
    writer.add_block_count(config.n_layer)
    writer.add_head_count(config.n_head)
    writer.add_layer_norm_eps(config.layer_norm_epsilon)
    add_tokenizer(writer, "gpt2", "gpt2")
    names = {"ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output", "ln_2": "ffn_norm",
             "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down"}
    for name, tensor in reference.state_dict().items():
        if name == "lm_head.weight":
            continue  # tied
        gguf_name = {"transformer.wte.weight": "token_embd.weight", "transformer.wpe.weight": "position_embd.weight",
                     "transformer.ln_f.weight": "output_norm.weight",
                     "transformer.ln_f.bias": "output_norm.bias"}.get(name)
        weight = tensor.detach().float()
        if gguf_name is None:
            _, _, layer, *module, kind = name.split(".")
            gguf_name = f"blk.{layer}.{names['.'.join(module)]}.{kind}"
            if kind == "weight" and weight.ndim == 2:
                weight = weight.T.contiguous()
        writer.add_tensor(gguf_name, weight.numpy())
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_gpt2_file_gives_back_the_original_weights_and_logits(tmp_path):
    torch.manual_seed(0)
    reference = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        vocab_size=len(byte_level_vocab("gpt2")[0]), n_embd=64, n_layer=2, n_head=4, n_positions=1024)).eval()
    path = write_gpt2_gguf(tmp_path / "gpt2.gguf", reference)
    config, tensors, _ = gguf_checkpoint(path)
    original = reference.state_dict()
    assert set(tensors) == set(original) - {"lm_head.weight"} and config["tie_word_embeddings"]
    for name, tensor in tensors.items():
        assert torch.equal(tensor, original[name]), name
    theirs = transformers_gguf(path)
    for name, tensor in tensors.items():
        assert torch.equal(tensor, theirs.state_dict()[name]), name
    if importlib.util.find_spec("workbench.models.gpt2") is None:
        pytest.skip("workbench.models.gpt2 is not there yet")
    ids = torch.tensor([[5, 17, 42, 99, 300, 7]])
    with torch.no_grad():
        torch.testing.assert_close(wb.load_model(path)(input_ids=ids).logits, reference(input_ids=ids).logits)


# ---- tiny files: tokenizers ------------------------------------------------------------------------------------------
def write_tokenizer_gguf(path, kind, pre="smollm"):
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(64)
    add_tokenizer(writer, kind, pre)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def assert_same_tokenization(ours, theirs, texts=TEXTS):
    for text in texts:
        ids = theirs(text)["input_ids"]
        assert ours(text)["input_ids"] == ids, text
        assert ours.decode(ids) == theirs.decode(ids), text
        assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True), text
        assert ours.convert_ids_to_tokens(ids) == theirs.convert_ids_to_tokens(ids), text
    if theirs.pad_token is not None:
        batch_ours, batch_theirs = ours(texts, padding=True), theirs(texts, padding=True)
        assert batch_ours["input_ids"] == batch_theirs["input_ids"]
        assert batch_ours["attention_mask"] == batch_theirs["attention_mask"]
    for name in ("bos_token", "eos_token", "unk_token", "pad_token"):
        assert getattr(ours, name) == getattr(theirs, name), name


@pytest.mark.parametrize("kind, pre", [("gpt2", "smollm"), ("gpt2", "gpt2"), ("gpt2", "llama-bpe"), ("gpt2", "qwen2"),
                                       ("llama", None)])
def test_tiny_tokenizer_equals_transformers(tmp_path, kind, pre):
    path = write_tokenizer_gguf(tmp_path / "tok.gguf", kind, pre)
    ours = wb.load_tokenizer(path)
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path, gguf_file=path.name)
    assert_same_tokenization(ours, theirs)
    assert ours.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True) == \
        theirs.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)


def test_gguf_tokenizer_saves_a_folder_transformers_loads(tmp_path):
    ours = load_gguf_tokenizer(write_tokenizer_gguf(tmp_path / "tok.gguf", "gpt2"))
    ours.save_pretrained(tmp_path / "saved")
    theirs = transformers.AutoTokenizer.from_pretrained(tmp_path / "saved")
    assert_same_tokenization(ours, theirs)
    assert theirs.chat_template == CHAT_TEMPLATE


def test_special_and_user_defined_tokens_stay_whole(tmp_path):
    tok = load_gguf_tokenizer(write_tokenizer_gguf(tmp_path / "tok.gguf", "gpt2"))
    tokens = tok.convert_ids_to_tokens(tok("<|im_start|>x<think>y")["input_ids"])
    assert tokens[0] == "<|im_start|>" and "<think>" in tokens
    ids = tok("<|im_start|>x<think>y")["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == "x<think>y"  # user-defined tokens are text, not special


def test_unknown_pre_tokenizer_warns_and_splits_like_gpt2(tmp_path):
    path = write_tokenizer_gguf(tmp_path / "tok.gguf", "gpt2", pre="some-new-model")
    with pytest.warns(UserWarning, match="some-new-model"):
        tok = load_gguf_tokenizer(path)
    assert tok.decode(tok("hello world")["input_ids"]) == "hello world"


# ---- the real SmolLM2 ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smollm_reference(smollm_gguf):
    model = transformers.AutoModelForCausalLM.from_pretrained(smollm_gguf.parent, gguf_file=smollm_gguf.name,
                                                              dtype=torch.float32).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(smollm_gguf.parent, gguf_file=smollm_gguf.name)
    return model, tokenizer


@pytest.fixture(scope="module")
def smollm_tokenizer():
    return wb.load_tokenizer(SMOLLM_ID)


def test_smollm_tokenizer_by_hub_id_equals_transformers(smollm_tokenizer, smollm_reference):
    _, theirs = smollm_reference
    assert_same_tokenization(smollm_tokenizer, theirs, TEXTS + [
        "<|endoftext|><repo_name>owner/repo<file_sep>main.py", "x" * 300, "\n\n\n\t \u00a0\u3000end"])
    assert smollm_tokenizer.model_max_length == 8192
    assert smollm_tokenizer("Hi!", return_offsets_mapping=True)["offset_mapping"] == \
        theirs("Hi!", return_offsets_mapping=True)["offset_mapping"]


@pytest.mark.parametrize("messages", [MESSAGES, MESSAGES[1:], MESSAGES + [{"role": "assistant", "content": "4"}]])
def test_smollm_chat_template_equals_transformers(smollm_tokenizer, smollm_reference, messages):
    _, theirs = smollm_reference
    for add_generation_prompt in (False, True):
        options = dict(tokenize=False, add_generation_prompt=add_generation_prompt)
        text = smollm_tokenizer.apply_chat_template(messages, **options)
        assert text == theirs.apply_chat_template(messages, **options)
    assert "<|im_start|>user\n" in text


@pytest.fixture(scope="module")
def smollm_model():
    return wb.load_model(SMOLLM_ID)


def _chat_ids(tokenizer):
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Name a colour."}], tokenize=False,
                                           add_generation_prompt=True)
    return torch.tensor([tokenizer(prompt)["input_ids"]])


@needs_llama
def test_smollm_by_hub_id_logits_equal_transformers(smollm_model, smollm_tokenizer, smollm_reference):
    theirs, _ = smollm_reference
    ours = smollm_model
    assert type(ours).__name__ == "LlamaForCausalLM" and ours.dtype == torch.float32
    assert ours.generation_config == {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2}
    ids = _chat_ids(smollm_tokenizer)
    with torch.no_grad():
        torch.testing.assert_close(ours(input_ids=ids).logits, theirs(input_ids=ids).logits, atol=1e-4, rtol=1e-4)


@needs_llama
@needs_generation
def test_smollm_greedy_text_equals_transformers(smollm_model, smollm_tokenizer, smollm_reference):
    theirs, their_tokenizer = smollm_reference
    ours = smollm_model
    ids = _chat_ids(smollm_tokenizer)
    expected = theirs.generate(ids, max_new_tokens=12, do_sample=False)
    got = ours.generate(ids, max_new_tokens=12, do_sample=False)
    assert got.tolist() == expected.tolist()
    assert smollm_tokenizer.decode(got[0, ids.shape[1]:]) == their_tokenizer.decode(expected[0, ids.shape[1]:])


# ---- bad input ----------------------------------------------------------------------------------------------------
def test_not_a_gguf_file(tmp_path):
    path = tmp_path / "notes.gguf"
    path.write_text("just some text, long enough to have a header's worth of bytes in it")
    with pytest.raises(WeightsError, match="not a GGUF file"):
        wb.load_model(path)
    with pytest.raises(WeightsError, match="not a GGUF file"):
        wb.load_tokenizer(path)


@pytest.mark.parametrize("keep", [10, 2000, 0.6])
def test_truncated_file(tiny_files, tmp_path, keep):
    source, _ = tiny_files["q8_0"]
    data = source.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[:keep if isinstance(keep, int) else int(len(data) * keep)])
    with pytest.raises(WeightsError, match="truncated"):
        wb.load_model(cut)


def _set_tensor_type(path, tensor_name: str, ggml_type: int):
    """Overwrite one tensor's ggml type in the tensor table (name, n_dims, dims, type, offset)."""
    data = bytearray(path.read_bytes())
    encoded = tensor_name.encode()
    start = data.index(struct.pack("<Q", len(encoded)) + encoded) + 8 + len(encoded)
    (n_dims,) = struct.unpack_from("<I", data, start)
    struct.pack_into("<I", data, start + 4 + 8 * n_dims, ggml_type)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("ggml_type, shown", [(99, "unknown type 99"), (int(Q.Q8_1), "Q8_1")])
def test_unknown_quantization_type_names_tensor_and_type(tiny_files, tmp_path, ggml_type, shown):
    path = tmp_path / "odd.gguf"
    shutil.copy(tiny_files["q8_0"][0], path)
    _set_tensor_type(path, "blk.1.ffn_up.weight", ggml_type)
    with pytest.raises(WeightsError, match=rf"'blk\.1\.ffn_up\.weight'.*{shown}"):
        wb.load_model(path)


def test_unsupported_architecture_lists_supported_ones(tmp_path):
    path = tmp_path / "mamba.gguf"
    writer = gguf.GGUFWriter(str(path), "mamba")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 32), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(UnsupportedModelError, match="'mamba'.*llama"):
        wb.load_model(path)
    with pytest.raises(TokenizerError, match="no tokenizer"):
        wb.load_tokenizer(path)


def test_read_gguf_metadata(smollm_gguf):
    file = read_gguf(smollm_gguf)
    assert file.architecture == "llama" and file.metadata["llama.block_count"] == 30
    assert len(file.metadata["tokenizer.ggml.tokens"]) == 49152
    assert file.tensors["token_embd.weight"].shape == (49152, 576)
