"""wb.pipeline against transformers' own pipelines on the same tiny random checkpoints.

Each checkpoint is a tiny random transformers Bert*For* model with MiniLM's real vocabulary (30522 word pieces)
and tokenizer files, saved to a temporary folder; both pipelines load that folder. Question answering is gone from
transformers 5, so its reference is computed here from the model's logits with transformers 4.57's documented
span rule (a brute-force loop, independent of the vectorised code in workbench). Real checkpoints: MiniLM for
embeddings, similarity and embedding zero-shot; SmolLM2 for chat generation when its family is available.
"""
from __future__ import annotations

import logging
import math
import shutil
import warnings

import pytest
import torch
import transformers
from transformers import pipeline as hf_pipeline

import workbench as wb
from workbench.errors import CheckpointNotFoundError, UnsupportedModelError, WorkbenchError
from workbench.pipelines import PipelineError, TruncationWarning

from parity import tiny_reference

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
TINY = dict(vocab_size=30522, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24,
            max_position_embeddings=512, initializer_range=0.6)  # wide init: scores far apart, stable rankings
NLI = dict(id2label={0: "contradiction", 1: "neutral", 2: "entailment"},
           label2id={"contradiction": 0, "neutral": 1, "entailment": 2})
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
TEXT = "My name is Wolfgang Amadeus and I live in Berlin, near the Brandenburger Tor."
CONTEXT = ("The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It is named "
           "after the engineer Gustave Eiffel, whose company designed and built the tower from 1887 to 1889.")


def approx_equal(ours, theirs, path="result"):
    """Same structure and values; floats equal up to rounding (batching and float32 sums)."""
    if isinstance(theirs, torch.Tensor):
        theirs = theirs.tolist()
    if isinstance(ours, torch.Tensor):
        ours = ours.tolist()
    if hasattr(theirs, "item") and not isinstance(theirs, (list, dict)):  # numpy scalars
        theirs = theirs.item()
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), f"{path}: keys {ours!r} vs {theirs!r}"
        for key in theirs:
            approx_equal(ours[key], theirs[key], f"{path}[{key!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert isinstance(ours, list), f"{path}: {type(ours).__name__} vs list"
        assert len(ours) == len(theirs), f"{path}: length {len(ours)} vs {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            approx_equal(a, b, f"{path}[{i}]")
    elif isinstance(theirs, float):
        assert isinstance(ours, float), f"{path}: {ours!r} is not a float"
        assert ours == pytest.approx(theirs, rel=1e-4, abs=1e-5), f"{path}: {ours} vs {theirs}"
    else:
        assert ours == theirs and type(ours) is type(theirs), f"{path}: {ours!r} vs {theirs!r}"


@pytest.fixture(scope="module")
def make_checkpoint(tmp_path_factory, minilm_dir):
    """A folder with a tiny random Bert<head> model (seeded) and MiniLM's tokenizer files."""
    made = {}

    def make(head: str, seed: int = 0, model_max_length: int | None = None, **config):
        key = (head, seed, model_max_length, repr(sorted(config.items())))
        if key not in made:
            folder = tmp_path_factory.mktemp(head)
            reference = tiny_reference(f"Bert{head}", "BertConfig", seed=seed, **{**TINY, **config})
            reference.save_pretrained(folder)
            for name in TOKENIZER_FILES:
                shutil.copy(minilm_dir / name, folder / name)
            if model_max_length is not None:
                tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
                tokenizer.model_max_length = model_max_length
                tokenizer.save_pretrained(folder)
            made[key] = folder
        return made[key]

    return make


@pytest.fixture(scope="module")
def classifier_dir(make_checkpoint):
    return make_checkpoint("ForSequenceClassification", id2label={0: "NEGATIVE", 1: "NEUTRAL", 2: "POSITIVE"})


@pytest.fixture(scope="module")
def ner_dir(make_checkpoint):
    return make_checkpoint("ForTokenClassification", seed=3, id2label=dict(enumerate(NER_LABELS)))


# ---- feature-extraction and sentence embeddings ------------------------------------------------------------------

def test_feature_extraction_matches_transformers(make_checkpoint):
    folder = make_checkpoint("Model")
    ours, theirs = wb.pipeline("feature-extraction", model=folder), hf_pipeline("feature-extraction", model=folder)
    texts = ["Hello world!", "A somewhat longer sentence, with punctuation; and more words.", "Ünïcödé café 😀"]
    approx_equal(ours(texts[0]), theirs(texts[0]))
    # batched (padded) or not, each text gets its own unpadded token vectors
    approx_equal(ours(texts, batch_size=2), theirs(texts))
    tensor = ours(texts[1], return_tensors=True)
    assert isinstance(tensor, torch.Tensor) and tensor.shape == (1, len(theirs(texts[1])[0]), 16)
    assert ours(texts[0], as_dataframe=True).shape[0] == len(theirs(texts[0])[0])


def test_feature_extraction_truncates_with_a_warning(make_checkpoint):
    folder = make_checkpoint("Model")
    ours, theirs = wb.pipeline("feature-extraction", model=folder), hf_pipeline("feature-extraction", model=folder)
    long_text = "word " * 700
    with pytest.warns(TruncationWarning, match="512 tokens"):
        vectors = ours(long_text)
    approx_equal(vectors, theirs(long_text, truncation=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours(long_text, truncation=True)  # asked for: silent
    with pytest.raises(PipelineError, match="tokens long but the model reads at most 512"):
        ours(long_text, truncation=False)


def test_sentence_embeddings_of_real_minilm(minilm_dir):
    texts = ["A man is eating food.", "A man is eating a piece of bread.", "The new movie is awesome.",
             "I love this movie."]
    embedder = wb.pipeline("sentence-embedding", model=minilm_dir)
    vectors = torch.tensor(embedder(texts, batch_size=4))
    # reference: sentence-transformers' recipe for this checkpoint with transformers' BertModel
    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_dir)
    model = transformers.AutoModel.from_pretrained(minilm_dir).eval()
    batch = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        tokens = model(**batch).last_hidden_state
    mask = batch["attention_mask"][..., None].float()
    expected = torch.nn.functional.normalize((tokens * mask).sum(1) / mask.sum(1), dim=-1)
    torch.testing.assert_close(vectors, expected, atol=1e-5, rtol=1e-4)
    assert embedder.sentence_pooling.modes == ("mean",) and embedder.sentence_pooling.max_seq_length == 256

    similarity = embedder.similarity(texts)
    assert similarity[0][1] > 0.6 and similarity[2][3] > 0.5 and similarity[0][2] < 0.2
    assert embedder.similarity(texts[0], texts[1]) == pytest.approx(similarity[0][1], abs=1e-5)
    assert embedder.similarity(texts[2], texts[:2]) == pytest.approx(similarity[2][:2], abs=1e-5)
    # feature-extraction with pooling="auto" is the same thing
    extractor = wb.pipeline("feature-extraction", model=minilm_dir)
    approx_equal(extractor(texts[0], pooling="auto"), vectors[0].tolist())
    table = embedder(texts[:2], as_dataframe=True)
    assert list(table.columns) == ["text", "embedding"] and len(table.embedding[0]) == 384


def test_embedding_zero_shot_with_real_minilm(minilm_dir):
    classifier = wb.pipeline("zero-shot-classification", model=minilm_dir)
    result = classifier("The striker scored twice and the team won the cup final.",
                        candidate_labels=["sport", "politics", "cooking"])
    assert result["labels"][0] == "sport" and sorted(result["labels"]) == ["cooking", "politics", "sport"]
    assert sum(result["scores"]) == pytest.approx(1.0, abs=1e-5) and result["scores"][0] > 0.5
    both = classifier(["Parliament voted on the new tax law.", "Whisk the eggs with sugar and butter."],
                      candidate_labels="sport, politics, cooking", multi_label=True)
    assert [r["labels"][0] for r in both] == ["politics", "cooking"]
    assert all(0 <= s <= 1 for r in both for s in r["scores"]) and sum(both[0]["scores"]) > 1.0


# ---- text-classification -----------------------------------------------------------------------------------------

def test_text_classification_matches_transformers(classifier_dir):
    ours = wb.pipeline("sentiment-analysis", model=classifier_dir)
    theirs = hf_pipeline("sentiment-analysis", model=classifier_dir)
    texts = ["I love this movie!", "Terrible, just terrible.", "It was fine I guess", "Ok."]
    pair = {"text": "A man is eating.", "text_pair": "Someone eats food."}
    for inputs, options in [
        (texts[0], {}), (texts, {}), (texts[0], {"top_k": 2}), (texts, {"top_k": None}), (texts[0], {"top_k": 1}),
        (texts[1], {"function_to_apply": "sigmoid"}), (texts[2], {"function_to_apply": "none", "top_k": None}),
        (pair, {}), (pair, {"top_k": None}), ([pair, {"text": "Ok.", "text_pair": "Fine."}], {}),
    ]:
        approx_equal(ours(inputs, **options), theirs(inputs, **options), f"{inputs!r} {options}")
    approx_equal(ours(texts, batch_size=3, top_k=3), theirs(texts, top_k=3))
    # top_k given when the pipeline is made: transformers then wraps one text's answer in a list again
    approx_equal(wb.pipeline("text-classification", model=classifier_dir, top_k=2)(texts[0]),
                 hf_pipeline("text-classification", model=classifier_dir, top_k=2)(texts[0]))
    table = ours(texts, top_k=None, as_dataframe=True)
    assert list(table.columns) == ["input", "label", "score"] and len(table) == 12


@pytest.mark.parametrize("config", [dict(num_labels=1), dict(num_labels=3, problem_type="multi_label_classification"),
                                    dict(num_labels=1, problem_type="regression")])
def test_text_classification_default_function_follows_the_config(make_checkpoint, config):
    folder = make_checkpoint("ForSequenceClassification", seed=1, **config)
    ours, theirs = wb.pipeline("text-classification", model=folder), hf_pipeline("text-classification", model=folder)
    approx_equal(ours(["Good.", "Bad."], top_k=None), theirs(["Good.", "Bad."], top_k=None))


# ---- token-classification ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("strategy", ["none", "simple", "first", "average", "max"])
def test_token_classification_matches_transformers(ner_dir, strategy):
    ours = wb.pipeline("ner", model=ner_dir, aggregation_strategy=strategy)
    theirs = hf_pipeline("ner", model=ner_dir, aggregation_strategy=strategy)
    texts = [TEXT, "Ünïcödé naïve café in São Paulo", "hyperparameterization"]
    approx_equal(ours(texts[0]), theirs(texts[0]))
    approx_equal(ours(texts, batch_size=2), theirs(texts))
    approx_equal(ours(texts[0], ignore_labels=[]), theirs(texts[0], ignore_labels=[]))
    for entity in ours(texts[1], ignore_labels=[]):
        assert 0 <= entity["start"] < entity["end"] <= len(texts[1])  # offsets into the text as given


def test_token_classification_words_and_offsets_are_in_the_original_text(ner_dir):
    ours = wb.pipeline("ner", model=ner_dir, aggregation_strategy="first", ignore_labels=[])
    text = "Wolfgang  Amadeus MOZART lived in Salzburg."
    for word in ours(text):
        # the uncased tokenizer lower-cases; the offsets still point at the original characters
        assert text[word["start"]:word["end"]].lower().replace(" ", "") == word["word"].replace(" ", "")


def test_token_classification_long_text_with_stride(make_checkpoint):
    folder = make_checkpoint("ForTokenClassification", seed=3, model_max_length=24, id2label=dict(enumerate(NER_LABELS)))
    long_text = " ".join([TEXT] * 4)
    for strategy in ("simple", "first", "max"):
        ours = wb.pipeline("ner", model=folder, aggregation_strategy=strategy)
        theirs = hf_pipeline("ner", model=folder, aggregation_strategy=strategy)
        approx_equal(ours(long_text, stride=6, ignore_labels=[]), theirs(long_text, stride=6, ignore_labels=[]))
        approx_equal(ours(long_text, stride=6, batch_size=4), theirs(long_text, stride=6))
    with pytest.raises(PipelineError, match="stride needs entities merged"):
        wb.pipeline("ner", model=folder)(long_text, stride=6)
    with pytest.raises(PipelineError, match="stride must be an integer"):
        wb.pipeline("ner", model=folder, aggregation_strategy="simple")(long_text, stride=40)


# ---- fill-mask ---------------------------------------------------------------------------------------------------

def test_fill_mask_matches_transformers(make_checkpoint):
    folder = make_checkpoint("ForMaskedLM")
    ours, theirs = wb.pipeline("fill-mask", model=folder), hf_pipeline("fill-mask", model=folder)
    one, two = "Paris is the [MASK] of France.", "The [MASK] sat on the [MASK]."
    for inputs, options in [(one, {}), (one, {"top_k": 2}), (two, {"top_k": 3}), ([one, two], {}), ([one], {}),
                            (one, {"targets": ["capital", "city", "river"]}), (two, {"targets": "cat"})]:
        approx_equal(ours(inputs, **options), theirs(inputs, **options), f"{inputs!r} {options}")
    approx_equal(ours([one, two, one], batch_size=2), theirs([one, two, one]))
    table = ours(two, top_k=2, as_dataframe=True)
    assert list(table.columns) == ["mask", "score", "token", "token_str", "sequence"] and list(table["mask"]) == [0, 0, 1, 1]
    with pytest.warns(UserWarning, match="not in the vocabulary"):
        mine = ours(one, targets=["Metropolis"])
    approx_equal(mine, theirs(one, targets=["Metropolis"]))
    with pytest.raises(PipelineError, match=r"No \[MASK\] token in the text"):
        ours("There is nothing to fill here.")


# ---- zero-shot-classification (NLI) ------------------------------------------------------------------------------

def test_zero_shot_nli_matches_transformers(make_checkpoint):
    folder = make_checkpoint("ForSequenceClassification", seed=2, **NLI)
    ours = wb.pipeline("zero-shot-classification", model=folder)
    theirs = hf_pipeline("zero-shot-classification", model=folder)
    text, labels = "The team won the match in the final minute.", ["sport", "politics", "cooking"]
    for inputs, options in [(text, {}), (text, {"multi_label": True}), ([text, "Parliament voted."], {}),
                            (text, {"candidate_labels": "sport"}),
                            (text, {"hypothesis_template": "This text is about {}."})]:
        options = {"candidate_labels": labels, **options}
        approx_equal(ours(inputs, **options), theirs(inputs, **options), f"{inputs!r} {options}")
    approx_equal(ours(text, labels, batch_size=2), theirs(text, labels))  # labels as the second argument
    with pytest.raises(PipelineError, match="needs candidate_labels"):
        ours(text)
    with pytest.raises(PipelineError, match="has no {}"):
        ours(text, candidate_labels=labels, hypothesis_template="About this.")


# ---- question-answering: reference from the logits with transformers 4.57's rule --------------------------------

def reference_answers(model, tokenizer, question, context, top_k=1, max_answer_len=15, handle_impossible_answer=False,
                      max_seq_len=384, doc_stride=128):
    """transformers 4.57's QA pipeline, written out as plain loops over the model's logits."""
    enc = tokenizer(question, context, truncation="only_second", max_length=max_seq_len, stride=doc_stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True)
    answers, null_score = [], 1e6
    for w in range(len(enc["input_ids"])):
        sequence_ids = enc.sequence_ids(w)
        allowed = [s == 1 or i == 0 for i, s in enumerate(sequence_ids)]  # context tokens and [CLS]
        inputs = {k: torch.tensor([enc[k][w]]) for k in ("input_ids", "attention_mask", "token_type_ids")}
        with torch.no_grad():
            out = model(**inputs)
        probs = []
        for logits in (out.start_logits[0], out.end_logits[0]):
            exps = [math.exp(float(x) - max(float(y) for y, a in zip(logits, allowed) if a)) if a else 0.0
                    for x, a in zip(logits, allowed)]
            probs.append([e / sum(exps) for e in exps])
        start, end = probs
        null_score = min(null_score, start[0] * end[0])
        start[0] = end[0] = 0.0
        spans = [(start[s] * end[e], s, e) for s in range(len(start)) for e in range(s, min(s + max_answer_len, len(end)))
                 if allowed[s] and allowed[e] and start[s] * end[e] > 0]
        spans.sort(reverse=True)
        words = enc.encodings[w]
        for score, s, e in spans[:top_k * 2 + 10]:
            first = words.word_to_chars(words.token_to_word(s), 1)[0]
            last = words.word_to_chars(words.token_to_word(e), 1)[1]
            same = [a for a in answers if a["answer"].lower() == context[first:last].lower()]
            if same:
                same[0]["score"] += score
            else:
                answers.append({"score": score, "start": first, "end": last, "answer": context[first:last]})
    if handle_impossible_answer:
        answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
    answers = sorted(answers, key=lambda a: a["score"], reverse=True)[:top_k]
    return answers[0] if len(answers) == 1 else answers


@pytest.fixture(scope="module")
def qa_dir(make_checkpoint):
    return make_checkpoint("ForQuestionAnswering", seed=5, initializer_range=1.0)


@pytest.mark.parametrize("options", [{}, {"top_k": 3}, {"max_answer_len": 3, "top_k": 2},
                                     {"handle_impossible_answer": True, "top_k": 2},
                                     {"max_seq_len": 32, "doc_stride": 8, "top_k": 4}])
def test_question_answering_matches_the_reference_rule(qa_dir, options):
    model = transformers.AutoModelForQuestionAnswering.from_pretrained(qa_dir).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(qa_dir)
    qa = wb.pipeline("question-answering", model=qa_dir)
    question = "Who designed the Eiffel Tower?"
    ours = qa(question=question, context=CONTEXT, **options)
    approx_equal(ours, reference_answers(model, tokenizer, question, CONTEXT, **options))
    for answer in ours if isinstance(ours, list) else [ours]:
        assert CONTEXT[answer["start"]:answer["end"]] == answer["answer"]


def test_question_answering_input_forms(qa_dir):
    qa = wb.pipeline("question-answering", model=qa_dir)
    questions = ["Who designed the tower?", "Where is the tower?"]
    one = qa(question=questions[0], context=CONTEXT)
    approx_equal(qa({"question": questions[0], "context": CONTEXT}), one)
    approx_equal(qa(questions[0], CONTEXT), one)
    approx_equal(qa([{"question": questions[0], "context": CONTEXT}]), one)
    several = qa(question=questions, context=CONTEXT, batch_size=2)
    assert len(several) == 2
    approx_equal(several[0], one)
    approx_equal(qa(question=questions, context=[CONTEXT, CONTEXT]), several)
    table = qa(question=questions, context=CONTEXT, top_k=2, as_dataframe=True)
    assert list(table.columns) == ["question", "score", "start", "end", "answer"] and len(table) == 4
    with pytest.raises(PipelineError, match="needs a context"):
        qa(question=questions[0])
    with pytest.raises(PipelineError, match="question is empty"):
        qa(question=" ", context=CONTEXT)
    with pytest.raises(PipelineError, match="question is too long"):
        qa(question="why " * 600, context=CONTEXT)


# ---- bad input: an answer or one sentence, never a deep traceback ------------------------------------------------

BAD_TEXTS = ["", " ", "😀🎉👍" * 20, "한국어 문장을 분류합니다.", "مرحبا بالعالم، كيف حالك؟", "a\x00b\x07c\x1b[31m\u200b\ufeff",
             "word " * 20_000]


@pytest.mark.parametrize("task", ["feature-extraction", "text-classification", "ner", "fill-mask",
                                  "zero-shot-classification", "question-answering"])
def test_bad_input_gets_an_answer_or_one_sentence(make_checkpoint, classifier_dir, ner_dir, qa_dir, task):
    folders = {"feature-extraction": make_checkpoint("Model"), "text-classification": classifier_dir,
               "ner": ner_dir, "fill-mask": make_checkpoint("ForMaskedLM"), "question-answering": qa_dir,
               "zero-shot-classification": make_checkpoint("ForSequenceClassification", seed=2, **NLI)}
    p = wb.pipeline(task, model=folders[task])
    for text in [*BAD_TEXTS, None, 42, ["ok", None]]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TruncationWarning)
                if task == "question-answering":
                    p(question="What is this?", context=text)
                    p(question=text, context=CONTEXT)
                elif task == "zero-shot-classification":
                    p(text, candidate_labels=["a", "b"])
                elif task == "fill-mask" and isinstance(text, str):
                    p(text + " [MASK]")
                else:
                    p(text)
        except WorkbenchError as error:
            message = str(error)
            assert message.endswith(".") and "\n" not in message and len(message) < 300, message


# ---- choosing models, options and errors -------------------------------------------------------------------------

def test_default_model_is_said_and_offline_missing_is_clear(caplog):
    with caplog.at_level(logging.WARNING, logger="workbench.pipelines"):
        extractor = wb.pipeline("feature-extraction")
    assert "using sentence-transformers/all-MiniLM-L6-v2" in caplog.text
    assert len(extractor("hello")[0]) == 3
    with pytest.raises(CheckpointNotFoundError, match="No checkpoint for 'text-classification' is available offline"):
        wb.pipeline("sentiment-analysis")
    # zero-shot without an NLI checkpoint offline: the embedding variant on MiniLM, said so
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="workbench.pipelines"):
        zero_shot = wb.pipeline("zero-shot-classification")
    assert zero_shot.uses_embeddings and "No NLI checkpoint" in caplog.text
    assert len(wb.pipeline("sentence-similarity")("hello")) == 384


def test_seq2seq_tasks_say_what_is_missing():
    for task in ("summarization", "translation", "translation_en_to_fr", "text2text-generation"):
        with pytest.raises(UnsupportedModelError, match="needs a seq2seq model family"):
            wb.pipeline(task, model="anything")


def test_transformers_keywords_and_objects(classifier_dir):
    model = wb.load_model(classifier_dir)
    tokenizer = wb.load_tokenizer(classifier_dir)
    p = wb.pipeline(task="text-classification", model=model, tokenizer=tokenizer, device="cpu", framework="pt")
    approx_equal(p("Nice."), wb.pipeline(model=classifier_dir, device=-1)("Nice."))  # task from the checkpoint
    with pytest.raises(PipelineError, match="CPU only"):
        wb.pipeline("text-classification", model=classifier_dir, device="cuda:0")
    with pytest.raises(PipelineError, match="does not know the option"):
        wb.pipeline("text-classification", model=classifier_dir, aggregation_strategy="simple")
    with pytest.raises(PipelineError, match="has a text-classification head, not a fill-mask head"):
        wb.pipeline("fill-mask", model=model)
    with pytest.raises(PipelineError, match="Unknown task"):
        wb.pipeline("text-clasification", model=classifier_dir)
    with pytest.raises(PipelineError, match="batch_size must be a positive integer"):
        p(["a", "b"], batch_size=0)


# ---- text-generation ---------------------------------------------------------------------------------------------

def needs_generation():
    try:
        import workbench.generation  # noqa: F401
    except ImportError as error:
        pytest.skip(f"workbench.generation is not available yet ({error}); text-generation cannot run")


@pytest.fixture(scope="module")
def tiny_chat_dir(tmp_path_factory, smollm_gguf):
    """A tiny random Llama with SmolLM2's real tokenizer and chat template (read from the GGUF file)."""
    needs_generation()
    folder = tmp_path_factory.mktemp("tiny-llama")
    wb.load_tokenizer(smollm_gguf).save_pretrained(folder)
    reference = tiny_reference("LlamaForCausalLM", "LlamaConfig", vocab_size=49152, hidden_size=16,
                               intermediate_size=24, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                               max_position_embeddings=256, initializer_range=0.6, bos_token_id=1, eos_token_id=2,
                               tie_word_embeddings=True)
    reference.save_pretrained(folder)
    return folder


CHAT = [{"role": "user", "content": "What is the capital of France?"}]


def test_text_generation_matches_transformers(tiny_chat_dir):
    ours = wb.pipeline("text-generation", model=tiny_chat_dir)
    theirs = hf_pipeline("text-generation", model=tiny_chat_dir)
    greedy = {"max_new_tokens": 8, "do_sample": False}
    prefill = [*CHAT, {"role": "assistant", "content": "The capital is"}]
    for inputs, options in [("Once upon a time", {}), ("Once upon a time", {"return_full_text": False}),
                            (["Hello", "The weather today"], {}), (CHAT, {}), (CHAT, {"return_full_text": False}),
                            ([CHAT, CHAT], {}), (prefill, {}), ("Hello", {"return_tensors": True})]:
        approx_equal(ours(inputs, **greedy, **options), theirs(inputs, **greedy, **options), f"{inputs!r} {options}")


def test_text_generation_sampling_and_streaming(tiny_chat_dir):
    generator = wb.pipeline("text-generation", model=tiny_chat_dir, max_new_tokens=6)
    sampled = []
    for _ in range(2):
        torch.manual_seed(0)
        sampled.append(generator("Hello", do_sample=True, temperature=0.7, top_k=20, top_p=0.9))
    assert sampled[0] == sampled[1] and sampled[0][0]["generated_text"].startswith("Hello")
    new_text = generator(CHAT, do_sample=False, return_full_text=False)[0]["generated_text"]
    assert "".join(generator.stream(CHAT, do_sample=False)) == new_text
    with pytest.raises(PipelineError, match="max_new_tokens must be a non-negative integer"):
        generator("Hello", max_new_tokens=-1)
    with pytest.raises(PipelineError, match="prompt is None"):
        generator(None)
    with pytest.raises(PipelineError, match="prompt must be a string"):
        generator([{"role": "user"}])  # not a message: no content
    with pytest.warns(TruncationWarning, match="only its last 254 tokens"):
        long_reply = generator("word " * 400, max_new_tokens=2, do_sample=False)
    assert long_reply[0]["generated_text"].startswith("word word")


def test_real_smollm2_answers_a_chat(smollm_gguf):
    needs_generation()
    generator = wb.pipeline("text-generation", model=smollm_gguf)
    chat = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    reply = generator(chat, max_new_tokens=8, do_sample=False)[0]["generated_text"]
    assert reply[:-1] == chat and reply[-1]["role"] == "assistant"
    assert "Paris" in reply[-1]["content"]
