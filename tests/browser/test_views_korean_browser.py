"""The four views in Korean (lang="ko"), as exported offline pages in real headless Chromium.

Every control, legend, hover title, selection line and status is Korean: no phrase of the renderers' English table
is left on the page, in any state the test clicks it into. Hangul is drawn with a Korean font (Chromium's own report
of the platform font behind each text, so no tofu boxes), nothing is requested from any host, no script error.
One screenshot of the four: artifacts/screenshots/views_korean.png.
"""
from __future__ import annotations

import io
import json
import math
import re

import pytest

import workbench as wb
from workbench.views.attention import show_attention
from workbench.views.generation import GenerationView, Step, labeller
from workbench.views.logit_lens import LogitLensView, logit_lens
from workbench.views.tokens import TokensView, backend_of, describe_pieces, scheme_of, token_label

from lab import REPO, SCREENSHOTS, NetworkLog, chromium, new_page, text_deltas

pytestmark = pytest.mark.browser

HANGUL = re.compile("[\uac00-\ud7a3]")
KOREAN_FONTS = re.compile(r"Nanum|Noto Sans CJK|Noto Sans KR|Source Han|UnDotum|Baekmuk", re.I)


def english_phrases() -> list[str]:
    """The fixed parts of the renderers' English texts that hold two words or more ("vocabulary entry: ", "click it
    again to clear", ...): none may show on a Korean page. Single words ("ids", "layer") are checked as controls."""
    source = (REPO / "workbench" / "widgets" / "common.js").read_text(encoding="utf-8")
    english = json.loads(re.search(r"^const TEXT = (\{.*?^\});$", source, re.S | re.M).group(1))["en"]
    parts = {part.strip(" :;.()\"") for text in english.values() for part in re.split(r"\{\w+\}", text)}
    return sorted(part for part in parts if re.search(r"[A-Za-z]{2,} [A-Za-z]{2,}", part))


# Everything a reader sees or hovers: visible text, hover titles, placeholders, options (hidden ones too).
SHOWN = """() => {
  const texts = [document.body.innerText];
  for (const element of document.querySelectorAll('[title], [placeholder], option')) {
    texts.push(element.title || '', element.placeholder || '', element.tagName === 'OPTION' ? element.textContent : '');
  }
  return texts.join('\\n');
}"""


class KoreanPage:
    """An exported page open in Chromium: what it has shown so far, its script errors and requests."""

    def __init__(self, browser, path):
        self.path, self.page = path, new_page(browser, width=900, height=700)
        self.network, self.errors, self.shown = NetworkLog(self.page), [], []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_load_state("load")
        self.cdp = self.page.context.new_cdp_session(self.page)
        self.cdp.send("DOM.enable")
        self.cdp.send("CSS.enable")

    def look(self) -> str:
        """Remember what the page shows now (call after each click) and return it."""
        self.shown.append(self.page.evaluate(SHOWN))
        return self.shown[-1]

    def fonts_of(self, selector: str) -> list[tuple[str, int]]:
        """(family, glyphs drawn) of the platform fonts Chromium used for the text of the first `selector`."""
        root = self.cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = self.cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        assert node, f"{selector} is not on {self.path.name}"
        fonts = self.cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return [(font["familyName"], font["glyphCount"]) for font in fonts]

    def check(self, korean_text_selectors: list[str]) -> None:
        assert self.page.evaluate("document.documentElement.lang") == "ko"
        assert self.errors == [] and self.network.console_errors == [], (self.errors, self.network.console_errors)
        assert [url for url in self.network.requested if url != self.path.resolve().as_uri()] == []
        leftover = sorted({phrase for phrase in english_phrases() for text in self.shown if phrase in text})
        assert leftover == [], f"English left on {self.path.name}: {leftover}"
        for label in self.page.locator(".wb-control-label").all_text_contents():  # control names; the slider's number
            assert HANGUL.search(label) or re.fullmatch(r"[\d.]+|ID 보기", label), label
        for selector in korean_text_selectors:
            text = self.page.locator(selector).first.text_content()
            fonts = self.fonts_of(selector)
            assert HANGUL.search(text), (selector, text)
            assert any(KOREAN_FONTS.search(family) and glyphs > 0 for family, glyphs in fonts), (
                f"{selector} is not drawn with a Korean font ({fonts}): install fonts-nanum "
                "(`WITH_BROWSER=1 bash scripts/setup.sh`)")

    def picture(self):
        from PIL import Image

        return Image.open(io.BytesIO(self.page.screenshot(full_page=True)))


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def pages(minilm_dir, smollm_gguf, tmp_path_factory):
    """The four views on Korean text, in Korean, saved as standalone pages."""
    folder = tmp_path_factory.mktemp("korean-pages")
    model, bert = wb.load_model(minilm_dir), wb.load_tokenizer(minilm_dir)
    smol = wb.load_tokenizer(smollm_gguf)
    views = {"tokens": TokensView("토큰은 글자를 나눈다 🙂", [bert, smol], ["MiniLM", "SmolLM2"], lang="ko"),
             "attention": show_attention("고양이가 매트 위에 앉았다.", model=model, tokenizer=bert,
                                         text_pair="따뜻했다.", lang="ko")}
    # logit lens: a tiny random Llama over SmolLM2's real vocabulary (the page, not the model, is under test)
    tiny = wb.from_config({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 49152,
                           "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
                           "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 64}, seed=0)
    backend = backend_of(smol)
    scheme = scheme_of(backend)
    text = "서울은 한국의 수도"
    batch = smol(text, return_tensors="pt")
    lens = logit_lens(tiny, dict(batch), top_k=3)
    labels = {int(i): token_label(backend, scheme, int(i)) for i in set(lens.top_ids.ravel().tolist())}
    views["lens"] = LogitLensView(describe_pieces(batch.encodings[0], [text], scheme), lens, labels, name="tiny",
                                  lang="ko")
    # generation: SmolLM2's real pieces for a Korean prompt and answer, with made-up probabilities
    prompt = "한국의 수도는"
    answer = smol(" 서울입니다", add_special_tokens=False)["input_ids"]
    steps = []
    for i, (token, delta) in enumerate(zip(answer, text_deltas(smol, answer))):
        p = 0.9 - 0.15 * (i % 4)
        steps.append(Step(token, delta, math.log(p), [(token, math.log(p)), (answer[0], math.log(0.05))]))
    views["generation"] = GenerationView(describe_pieces(smol(prompt).encodings[0], [prompt], scheme),
                                         labeller(backend, scheme), name="SmolLM2", steps=steps, lang="ko")
    return {kind: view.save(folder / f"{kind}.html") for kind, view in views.items()}


def test_the_four_views_speak_korean_with_korean_fonts(browser, pages):
    shots = []
    tokens = KoreanPage(browser, pages["tokens"])
    assert "단어당 토큰" in tokens.look() and "'##조각'처럼 쓴 토큰" in tokens.shown[-1]
    tokens.page.locator(".wb-tokenization").first.locator(".wb-piece").nth(1).click()
    assert tokens.look().count("선택: 토큰 1: id") == 1
    tokens.check([".wb-note", ".wb-tok-counts", ".wb-selection"])
    shots.append(tokens.picture())

    attention = KoreanPage(browser, pages["attention"])
    assert "왼쪽 열: 어텐션하는 토큰(쿼리)" in attention.look()
    attention.page.locator(".wb-controls select").first.select_option("model")
    assert "헤드 11" in attention.look() and "레이어 5, 헤드 0" in attention.shown[-1]
    attention.page.locator(".wb-controls select").first.select_option("head")
    attention.page.locator(".wb-att-left .wb-att-token").nth(2).click()
    attention.page.mouse.move(890, 690)
    assert "선택한 토큰 2" in attention.look()
    attention.check([".wb-note", ".wb-selection", ".wb-controls .wb-control-label"])
    shots.append(attention.picture())
    attention.page.locator(".wb-controls select").first.select_option("model")
    assert "빨간색" in attention.look()  # the selection line of the model view

    lens = KoreanPage(browser, pages["lens"])
    assert "각 열: 모델을 그 레이어에서 멈췄을 때" in lens.look() and "레이어 ↓ 다음 →" in lens.shown[-1]
    assert lens.page.locator(".wb-lens-table tr th:first-child").all_text_contents()[1:] == ["임베딩", "레이어 1", "레이어 2"]
    lens.page.locator(".wb-lens-token").nth(1).click()
    assert "위치 1" in lens.look() and "열 머리글을 다시 클릭하면 해제됩니다." in lens.shown[-1]
    lens.check([".wb-note", ".wb-lens-table tr th"])
    shots.append(lens.picture())

    generation = KoreanPage(browser, pages["generation"])
    assert re.search(r"토큰 \d+개", generation.look())
    generation.page.locator(".wb-gen-prompt").first.click()
    assert "프롬프트로 주어진 토큰이라 확률이 없습니다" in generation.look()
    generation.page.locator(".wb-gen-token").last.click()
    assert re.search(r"\d+번째 단계: .* 선택, 확률 [\d.]+%", generation.look())
    generation.check([".wb-status", ".wb-alternatives caption", ".wb-gen-prompt"])
    shots.append(generation.picture())

    save_grid(shots, SCREENSHOTS / "views_korean.png")


def save_grid(pictures, path) -> None:
    """The pictures two by two on white, each cut to 900 x 640 pixels."""
    from PIL import Image

    width, height = 900, 640
    grid = Image.new("RGB", (2 * width, 2 * height), "white")
    for i, picture in enumerate(pictures):
        grid.paste(picture.crop((0, 0, width, min(height, picture.height))), ((i % 2) * width, (i // 2) * height))
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)


def test_a_language_change_redraws_the_view_and_drops_the_old_drawings_listeners(browser, pages):
    """What a live widget does when its `lang` trait changes: the renderer, on a model that counts its listeners."""
    from workbench.views.base import _EXPORT_LINE, script

    page_source = pages["attention"].read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="wb-data">(.*?)</script>', page_source, re.S).group(1))
    page = new_page(browser, width=900, height=700)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_content('<div id="wb-root"></div>')
    page.add_script_tag(type="module", content=_EXPORT_LINE.sub("", script("attention"))
                        + "\nwindow.wbRenderer = { render, standaloneModel };")
    page.wait_for_function("window.wbRenderer !== undefined")
    page.evaluate("""(data) => {
      const model = wbRenderer.standaloneModel(data);
      window.live = {};  // event -> how many listeners are registered now
      window.counted = { ...model,
        on: (event, callback) => { live[event] = (live[event] || 0) + 1; model.on(event, callback); },
        off: (event, callback) => { live[event] -= 1; model.off(event, callback); } };
      wbRenderer.render({ model: counted, el: document.getElementById('wb-root') });
    }""", data)
    legend = page.locator(".wb-attention > .wb-note")
    assert legend.text_content().startswith("왼쪽 열") and page.locator(".wb-attention").get_attribute("lang") == "ko"
    before = page.evaluate("({ ...live })")
    for lang in ("en", "ko", "en"):
        page.evaluate("(lang) => counted.set('lang', lang)", lang)
    assert page.evaluate("({ ...live })") == before  # the old drawings stopped listening
    assert page.locator(".wb-attention").count() == 1 and page.locator(".wb-attention").get_attribute("lang") == "en"
    assert legend.text_content().startswith("Left column: the token that attends (query)")
    assert page.locator(".wb-controls select").first.locator("option").all_text_contents() == ["head view", "model view"]
    page.evaluate("counted.set('selected', 2)")
    assert page.locator(".wb-selection").text_content().startswith("selected token 2 ")
    assert errors == []
