"""Exported view pages in real headless Chromium, offline: hostile text stays text, Korean is Hangul, the attention
view draws and reacts, nothing is requested from any host."""
import math
import shutil
from pathlib import Path

import pytest

import workbench as wb
from workbench.views.attention import show_attention
from workbench.views.generation import GenerationView, Step, labeller
from workbench.views.logit_lens import LogitLensView, logit_lens
from workbench.views.tokens import TokensView, backend_of, describe_pieces, scheme_of, token_label
from lab import text_deltas

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
               "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run `WITH_BROWSER=1 bash scripts/setup.sh` (apt-get install chromium).")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (never `playwright install`)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


class Watched:
    """A page that records script errors, dialogs (alert) and every request that is not the file itself."""

    def __init__(self, page):
        self.page, self.errors, self.dialogs, self.requests = page, [], [], []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("request", lambda request: self.requests.append(request.url))

    def open(self, path: Path):
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_load_state("load")
        return self.page

    def assert_clean(self, path: Path):
        assert self.errors == [], self.errors
        assert self.dialogs == [], f"a script ran: {self.dialogs}"
        assert [url for url in self.requests if url != path.resolve().as_uri()] == []
        assert self.page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0

    def screenshot(self, name: str):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


@pytest.fixture
def watched(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    yield Watched(page)
    context.close()


pytestmark = pytest.mark.browser
HOSTILE = "<img src=x onerror=alert(1)>"
KOREAN = "한국어"

PAINTED = """(selector) => {  // how many pixels of the canvases matching selector are painted
  let painted = 0;
  for (const canvas of document.querySelectorAll(selector)) {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0 && !(data[i-3] === 255 && data[i-2] === 255 && data[i-1] === 255)) painted++;
  }
  return painted;
}"""


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return wb.load_model(minilm_dir), wb.load_tokenizer(minilm_dir)


@pytest.fixture(scope="module")
def smollm_tokenizer(smollm_gguf):
    return wb.load_tokenizer(smollm_gguf)


def test_tokens_page(watched, tmp_path, minilm, smollm_tokenizer):
    _, bert = minilm
    view = TokensView(f"Tokenizers split {KOREAN} 🙂 and {HOSTILE}", [bert, smollm_tokenizer], [HOSTILE, "SmolLM2"])
    path = view.save(tmp_path / "tokens.html")
    page = watched.open(path)
    assert page.locator(".wb-tok-name").first.text_content() == HOSTILE  # the name is shown, as text
    labels = page.locator(".wb-piece-label").all_text_contents()
    assert "<" in labels and ">" in labels and "img" in labels
    # SmolLM2 spells Hangul in bytes: each byte piece shows <0x..>, and its group shows the syllable it forms
    forms = page.locator(".wb-tokenization").nth(1).locator(".wb-group-forms").all_text_contents()
    assert [f for f in forms if f in KOREAN] == list(KOREAN)
    assert any(label.startswith("<0x") for label in page.locator(".wb-tokenization").nth(1).locator(".wb-partial").all_text_contents())
    assert page.locator(".wb-special").first.text_content().startswith("[CLS]")
    assert page.locator("textarea").count() == 0  # no kernel behind an exported page
    page.locator("input[type=checkbox]").uncheck()  # hide ids
    assert page.locator(".wb-piece-id").count() == 0
    page.locator("input[type=checkbox]").check()
    watched.assert_clean(path)
    watched.screenshot("tokens.png")


def test_attention_page_draws_and_reacts(watched, tmp_path, minilm):
    model, tok = minilm
    view = show_attention(f"The cat sat on the mat. {HOSTILE}", model=model, tokenizer=tok, text_pair=f"{KOREAN} 이다.")
    path = view.save(tmp_path / "attention.html")
    page = watched.open(path)
    left = page.locator(".wb-att-left .wb-att-token").all_text_contents()
    assert len(left) == len(view.pieces) and "<" in left and "ᄒ" in left  # BERT's jamo of 한
    everything = page.evaluate(PAINTED, ".wb-att-canvas")
    assert everything > 1000
    watched.screenshot("attention-head-view.png")
    page.locator(".wb-att-left .wb-att-token").nth(2).hover()  # one token: only its links
    focused = page.evaluate(PAINTED, ".wb-att-canvas")
    assert 0 < focused < everything
    page.mouse.move(900, 700)
    page.locator(".wb-head-chip").nth(0).dblclick()  # only head 0
    assert page.locator(".wb-head-chip.wb-on").count() == 1
    page.locator(".wb-controls select").nth(2).select_option("AB")  # sentence A attends to B only
    assert 0 < page.evaluate(PAINTED, ".wb-att-canvas") < everything
    page.locator(".wb-controls select").nth(2).select_option("all")
    page.locator(".wb-controls select").first.select_option("model")
    assert page.locator(".wb-thumb").count() == 6 * 12
    assert page.evaluate(PAINTED, ".wb-thumb") > 6 * 12 * 10
    watched.screenshot("attention-model-view.png")
    page.locator(".wb-thumb[data-layer='3'][data-head='7']").click()  # zoom: head view of layer 3, head 7
    assert page.locator(".wb-head-view").is_visible()
    assert page.locator(".wb-controls select").nth(1).input_value() == "3"
    assert page.locator(".wb-head-chip.wb-on").all_text_contents() == ["7"]
    watched.assert_clean(path)


def test_long_attention_page_stays_responsive(watched, tmp_path, minilm):
    model, tok = minilm
    view = show_attention("Attention over a long text gets crowded quickly. " * 60, model=model, tokenizer=tok)
    assert len(view.pieces) == 512
    path = view.save(tmp_path / "attention-512.html")
    page = watched.open(path)
    assert page.evaluate(PAINTED, ".wb-att-canvas") > 0
    page.locator(".wb-controls select").first.select_option("model")
    assert page.locator(".wb-thumb").count() == 72
    watched.assert_clean(path)


def test_logit_lens_page(watched, tmp_path, smollm_tokenizer):
    # a tiny random Llama over SmolLM2's real vocabulary: the page shows real labels, Korean and hostile text
    model = wb.from_config({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 49152,
                            "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
                            "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 64}, seed=0)
    text = f"{KOREAN} {HOSTILE}"
    batch = smollm_tokenizer(text, return_tensors="pt")
    lens = logit_lens(model, dict(batch), top_k=3)
    backend = backend_of(smollm_tokenizer)
    scheme = scheme_of(backend)
    labels = {int(i): token_label(backend, scheme, int(i)) for i in set(lens.top_ids.ravel().tolist())}
    view = LogitLensView(describe_pieces(batch.encodings[0], [text], scheme), lens, labels, name=HOSTILE)
    path = view.save(tmp_path / "lens.html")
    page = watched.open(path)
    assert page.locator(".wb-lens-table tr").count() == 1 + 3  # header + embeddings + 2 layers
    headers = page.locator(".wb-lens-table tr").first.locator("th").all_text_contents()
    assert "<img" in headers or "<" in "".join(headers)
    page.locator(".wb-lens-table td").first.click()
    assert "position 0" in page.locator(".wb-lens .wb-note").text_content()
    page.locator(".wb-lens-token").nth(1).click()  # a column: marked, and the top-k of each of its cells listed
    assert page.locator(".wb-lens-table td.wb-selected").count() == 3
    assert page.locator(".wb-lens-column tr").count() == 3
    assert page.locator(".wb-lens-column tr").first.locator("td").count() >= 3  # top_k=3 (+ the actual token)
    page.locator(".wb-lens-token").nth(1).click()  # again: cleared
    assert page.locator(".wb-lens-table .wb-selected").count() == 0 and page.locator(".wb-lens-column tr").count() == 0
    assert page.locator(".wb-page-title").text_content() == f"Logit lens: {HOSTILE}"
    watched.assert_clean(path)


def smollm_generation(tokenizer, prompt: str, steps: list[Step]) -> GenerationView:
    """A generation view over SmolLM2's real prompt pieces and labels, with the given steps."""
    scheme = scheme_of(backend_of(tokenizer))
    pieces = describe_pieces(tokenizer(prompt).encodings[0], [prompt], scheme)
    return GenerationView(pieces, labeller(backend_of(tokenizer), scheme), name="SmolLM2", steps=steps)


def test_generation_page(watched, tmp_path, smollm_tokenizer):
    backend = backend_of(smollm_tokenizer)
    scheme = scheme_of(backend)
    korean_ids = smollm_tokenizer(" 한국어", add_special_tokens=False)["input_ids"]
    steps = []
    for i, (t, delta) in enumerate(zip(korean_ids, text_deltas(smollm_tokenizer, korean_ids))):
        steps.append(Step(t, delta, math.log(0.9 - 0.1 * (i % 5)), [(t, math.log(0.9 - 0.1 * (i % 5))), (28, math.log(0.05))]))
    steps.append(Step(30, HOSTILE, math.log(0.3), [(30, math.log(0.3))]))
    view = smollm_generation(smollm_tokenizer, "Say it in Korean:", steps)
    path = view.save(tmp_path / "generation.html")
    page = watched.open(path)
    shown = page.locator(".wb-gen-token").all_text_contents()
    # a token that only holds part of a character shows its bytes; the token that completes it shows the Hangul
    assert "".join(t for t in shown if not t.startswith("<0x")) == " 한국어" + HOSTILE
    assert [t for t in shown if t.startswith("<0x")] and shown[-1] == HOSTILE
    page.locator(".wb-gen-token").last.click()
    assert page.locator(".wb-alternatives td").first.text_content() == token_label(backend, scheme, 30)
    assert page.locator(".wb-generation").get_attribute("data-selected") == str(len(view.prompt_pieces) + len(steps) - 1)
    page.locator(".wb-gen-prompt").first.click()  # a prompt token: given, so no probability
    assert page.locator(".wb-gen-prompt.wb-selected").count() == 1 and page.locator(".wb-alternatives td").count() == 0
    assert "given in the prompt" in page.locator(".wb-alternatives caption").text_content()
    page.locator(".wb-gen-prompt").first.click()
    assert page.locator(".wb-generation .wb-selected").count() == 0
    watched.assert_clean(path)
    watched.screenshot("generation.png")


def test_clicking_a_token_keeps_only_its_attention_lines(watched, tmp_path, minilm):
    """No kernel behind an exported page: the selection lives in the page (standaloneModel)."""
    model, bert = minilm
    view = show_attention(f"The cat sat on the mat. {KOREAN}", model=model, tokenizer=bert)
    path = view.save(tmp_path / "attention-selected.html")
    page = watched.open(path)
    canvas = page.locator(".wb-att-canvas")
    every_line = int(canvas.get_attribute("data-lines"))
    everything = page.evaluate(PAINTED, ".wb-att-canvas")
    page.locator(".wb-att-left .wb-att-token").nth(2).click()  # "cat": only its lines stay, after the mouse leaves
    page.mouse.move(900, 700)
    assert page.locator(".wb-attention").get_attribute("data-selected") == "2"
    assert page.locator(".wb-att-token.wb-selected").all_text_contents() == ["cat", "cat"]  # both columns
    its_lines = int(canvas.get_attribute("data-lines"))
    assert 0 < its_lines <= 12 * len(view.pieces) < every_line  # at most one line per head and key
    assert 0 < page.evaluate(PAINTED, ".wb-att-canvas") < everything
    assert "cat" in page.locator(".wb-attention .wb-selection").text_content()
    watched.screenshot("attention-selected.png")
    page.locator(".wb-controls select").first.select_option("model")  # the model view marks its row in red
    red = page.evaluate("""(tokens) => [...document.querySelectorAll('.wb-thumb')].filter(c => {
        const y = Math.floor(2 * c.height / tokens), px = c.getContext('2d').getImageData(0, y, 1, 1).data;
        return px[0] > px[1] + 40; }).length""", len(view.pieces))
    assert red == 6 * 12
    page.locator(".wb-controls select").first.select_option("head")
    page.locator(".wb-att-right .wb-att-token").nth(2).click()  # the selected token again: cleared
    page.mouse.move(900, 700)
    assert page.locator(".wb-att-token.wb-selected").count() == 0
    assert int(canvas.get_attribute("data-lines")) == every_line
    watched.assert_clean(path)


def test_clicking_a_piece_selects_it_in_every_tokenizer_row(watched, tmp_path, minilm, smollm_tokenizer):
    _, bert = minilm
    text = "Hi 토큰 🙂"
    tokens = TokensView(text, [bert, smollm_tokenizer], ["MiniLM", "SmolLM2"])
    path = tokens.save(tmp_path / "tokens-selected.html")
    page = watched.open(path)
    rows = page.locator(".wb-tokenization")
    rows.nth(1).locator(".wb-piece", has_text="🙂").click()  # SmolLM2's emoji selects MiniLM's [UNK] for it
    unknown = next(p.index for p in tokens.tokenizations[0].pieces if p.piece == "[UNK]")
    assert page.locator(".wb-tokens").get_attribute("data-selected") == str(unknown)
    assert rows.nth(0).locator(".wb-piece.wb-selected .wb-piece-label").all_text_contents() == ["[UNK]"]
    assert rows.nth(1).locator(".wb-piece.wb-selected").count() == 1
    assert "[UNK]" in page.locator(".wb-selection").text_content()
    watched.screenshot("tokens-selected.png")
    rows.nth(0).locator(".wb-piece.wb-selected").click()
    assert page.locator(".wb-piece.wb-selected").count() == 0
    watched.assert_clean(path)


def test_invisible_and_right_to_left_characters_in_tokens(watched, tmp_path, smollm_tokenizer):
    """NUL, ESC, DEL, zero-width and bidi controls show as visible stand-ins (no blank token, no raw override in a
    label or title), and the titles name them."""
    text = "a\x00b\x1bc\x7f \u200b \u202eevil\u202c ❤\ufe0f"
    path = wb.show_tokens(text, tokenizer=smollm_tokenizer).save(tmp_path / "controls.html")
    page = watched.open(path)
    boxes = page.evaluate("""() => [...document.querySelectorAll('.wb-piece')].map((box) => ({
        label: box.querySelector('.wb-piece-label').textContent, width: box.querySelector('.wb-piece-label')
        .getBoundingClientRect().width, title: box.title}))""")
    hidden = "\x00\x1b\x7f\u200b\u202e\u202c\ufe0f"
    assert all(box["label"] and box["width"] > 2 for box in boxes), boxes  # no blank token
    assert not any(c in box["label"] + box["title"] for box in boxes for c in hidden)
    assert {"<NUL>", "<ESC>", "<DEL>", "<U+FE0F>"} <= {box["label"] for box in boxes}
    assert any("U+202E RIGHT-TO-LEFT OVERRIDE" in box["title"] for box in boxes)
    assert "<U+202E>" in page.locator(".wb-group-forms").all_text_contents()
    watched.assert_clean(path)


def test_a_right_to_left_override_in_generated_text_stays_inside_its_token(watched, tmp_path, smollm_tokenizer):
    """Generated text is shown as it is: a raw U+202E in one token must not reverse the tokens after it."""
    texts = [" one", " \u202etwo", " three", " four"]
    steps = [Step(i + 100, t, math.log(0.5), [(i + 100, math.log(0.5))]) for i, t in enumerate(texts)]
    path = smollm_generation(smollm_tokenizer, "Echo:", steps).save(tmp_path / "rtl.html")
    page = watched.open(path)
    lefts = page.evaluate("() => [...document.querySelectorAll('.wb-gen-token')].map((s) => s.getBoundingClientRect().left)")
    assert lefts == sorted(lefts), lefts
    assert page.locator(".wb-gen-token").nth(1).text_content() == " \u202etwo"  # the text itself is unchanged
    watched.assert_clean(path)
