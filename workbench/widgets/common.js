// Helpers shared by every view renderer (prepended to <view>.js; no imports, no network).
// Token text is only ever placed with textContent / title, never parsed as HTML.

const PALETTE = ["#fde68a", "#bfdbfe", "#bbf7d0", "#fbcfe8", "#ddd6fe", "#fed7aa"];
const HEAD_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"];

// Every word a view draws, per language (trait `lang`): one key per text, {name} marks a value put in. Token text is
// never in here; it is only ever a value. The table is JSON (tests/test_view_widgets.py reads it from Python).
const TEXT = {
  "en": {
    "tokens.token": "token {index}: id {id}",
    "tokens.entry": "vocabulary entry: {piece}",
    "tokens.special": "special token added by the tokenizer",
    "tokens.unknown": "unknown token: stands for \"{covers}\"",
    "tokens.bytes": "bytes: {bytes}",
    "tokens.forms": "with its neighbours forms \"{covers}\"",
    "tokens.characters": "characters {start}–{end}: \"{covers}\"",
    "tokens.continues": "continues the word before it",
    "tokens.space": "starts with a space (a new word)",
    "tokens.counts": "{text_tokens} tokens + {special_tokens} special · {characters} characters · {words} words · {per_word} tokens/word",
    "tokens.not_in_first_row": "no piece of the first tokenizer covers these characters",
    "tokens.group": "these tokens together form \"{covers}\"",
    "tokens.invisible": "shown with visible stand-ins: {characters}",
    "tokens.placeholder": "Type a text to tokenize",
    "tokens.ids": "ids",
    "tokens.selected": "selected {details} (click it again to clear)",

    "attention.head_view": "head view",
    "attention.model_view": "model view",
    "attention.mode_title": "head view: one layer as lines; model view: every layer and head",
    "attention.layer": "layer",
    "attention.layer_n": "layer {layer}",
    "attention.heads": "heads",
    "attention.head_n": "head {head}",
    "attention.chip_title": "head {head}: click to show or hide, double-click to show only this head",
    "attention.threshold": "threshold",
    "attention.threshold_title": "hide links weaker than this",
    "attention.links": "links",
    "attention.all": "all",
    "attention.links_title": "which sentence attends to which",
    "attention.token_title": "{index}: {piece} (id {id}); click to keep only what it attends to",
    "attention.legend": "Left column: the token that attends (query); right: the tokens it attends to (keys). Hover a token to see only its links; click a token (either column) to keep only what it attends to.",
    "attention.selected_model": "selected token {position} \"{label}\": its row (what it attends to) is marked red in every head",
    "attention.selected_head": "selected token {position} \"{label}\": only its lines (what it attends to) are drawn; click it again to show all",
    "attention.thumb_title": "layer {layer}, head {head}: click to open in the head view",

    "generation.step": "step {step}: chose \"{token}\" with probability {percent}%",
    "generation.more_bytes": "(more bytes of the character before)",
    "generation.given": "prompt token {position} {what}: given in the prompt, not generated, so it has no probability here",
    "generation.stopped": "stopped: {error}",
    "generation.done": "{count} tokens",
    "generation.running": "generating… {count} tokens",
    "generation.prompt_token": "prompt token {position}",
    "generation.prompt_part": "prompt token {position}: more bytes of the character before",

    "lens.corner_next": "layer \\ after",
    "lens.corner_same": "layer \\ token",
    "lens.column_title": "position {position}: click to list the top predictions of this column",
    "lens.actual_next": "actual next token \"{token}\": {percent}%",
    "lens.actual_same": "actual token \"{token}\": {percent}%",
    "lens.cell_title": "{row}, position {position}",
    "lens.column_next": "position {position} (\"{label}\"): what each layer predicts as the next token",
    "lens.column_same": "position {position} (\"{label}\"): what each layer predicts for it",
    "lens.column_actual": "; actual: \"{token}\"",
    "lens.column_clear": ". Click the column header again to clear.",
    "lens.actual_cell": "actual {percent}%",
    "lens.explain_next": "Each column: what the model, stopped after that layer, predicts as the token after the input token on top. Bold: the actual next token. Click a column for its top-k.",
    "lens.explain_same": "Each column: what the model, stopped after that layer, predicts for that position. Bold: the actual token. Click a column for its top-k."
  },
  "ko": {
    "tokens.token": "토큰 {index}: id {id}",
    "tokens.entry": "어휘 항목: {piece}",
    "tokens.special": "토크나이저가 덧붙인 특수 토큰",
    "tokens.unknown": "알 수 없는 토큰: \"{covers}\" 대신 들어감",
    "tokens.bytes": "바이트: {bytes}",
    "tokens.forms": "옆 토큰과 함께 이루는 글자: \"{covers}\"",
    "tokens.characters": "글자 {start}–{end}: \"{covers}\"",
    "tokens.continues": "앞 단어에 이어지는 조각",
    "tokens.space": "공백으로 시작 (새 단어)",
    "tokens.counts": "토큰 {text_tokens}개 + 특수 토큰 {special_tokens}개 · 글자 {characters}개 · 단어 {words}개 · 단어당 토큰 수 {per_word}",
    "tokens.not_in_first_row": "첫 번째 토크나이저에는 이 글자에 해당하는 토큰이 없음",
    "tokens.group": "이 토큰들이 함께 이루는 글자: \"{covers}\"",
    "tokens.invisible": "보이는 기호로 바꿔 표시한 문자: {characters}",
    "tokens.placeholder": "토큰으로 나눌 문장을 입력하세요",
    "tokens.ids": "ID 보기",
    "tokens.selected": "선택: {details} (다시 클릭하면 해제)",

    "attention.head_view": "헤드 보기",
    "attention.model_view": "모델 보기",
    "attention.mode_title": "헤드 보기: 한 레이어를 선으로 / 모델 보기: 모든 레이어와 헤드",
    "attention.layer": "레이어",
    "attention.layer_n": "레이어 {layer}",
    "attention.heads": "헤드",
    "attention.head_n": "헤드 {head}",
    "attention.chip_title": "헤드 {head}: 클릭하면 보이기/숨기기, 두 번 클릭하면 이 헤드만 보기",
    "attention.threshold": "임계값",
    "attention.threshold_title": "이 값보다 약한 연결은 숨깁니다",
    "attention.links": "연결",
    "attention.all": "전체",
    "attention.links_title": "어느 문장이 어느 문장에 어텐션하는지",
    "attention.token_title": "{index}: {piece} (id {id}); 클릭하면 이 토큰이 어텐션하는 곳만 남김",
    "attention.legend": "왼쪽 열: 어텐션하는 토큰(쿼리), 오른쪽 열: 어텐션을 받는 토큰(키). 토큰에 마우스를 올리면 그 토큰의 연결만 보이고, 토큰을 클릭하면(어느 열이든) 그 토큰이 어텐션하는 곳만 남습니다.",
    "attention.selected_model": "선택한 토큰 {position} \"{label}\": 모든 헤드에서 이 토큰의 행(어텐션하는 곳)을 빨간색으로 표시했습니다",
    "attention.selected_head": "선택한 토큰 {position} \"{label}\": 이 토큰의 선(어텐션하는 곳)만 그렸습니다. 다시 클릭하면 모두 보입니다",
    "attention.thumb_title": "레이어 {layer}, 헤드 {head}: 클릭하면 헤드 보기로 열립니다",

    "generation.step": "{step}번째 단계: \"{token}\" 선택, 확률 {percent}%",
    "generation.more_bytes": "(앞 글자의 나머지 바이트)",
    "generation.given": "프롬프트 토큰 {position} {what}: 생성한 것이 아니라 프롬프트로 주어진 토큰이라 확률이 없습니다",
    "generation.stopped": "중단됨: {error}",
    "generation.done": "토큰 {count}개",
    "generation.running": "생성 중… 토큰 {count}개",
    "generation.prompt_token": "프롬프트 토큰 {position}",
    "generation.prompt_part": "프롬프트 토큰 {position}: 앞 글자의 나머지 바이트",

    "lens.corner_next": "레이어 ↓ 다음 →",
    "lens.corner_same": "레이어 ↓ 토큰 →",
    "lens.column_title": "위치 {position}: 클릭하면 이 열의 상위 예측을 보여 줍니다",
    "lens.actual_next": "실제 다음 토큰 \"{token}\": {percent}%",
    "lens.actual_same": "실제 토큰 \"{token}\": {percent}%",
    "lens.cell_title": "{row}, 위치 {position}",
    "lens.column_next": "위치 {position} (\"{label}\"): 각 레이어가 다음 토큰으로 예측한 것",
    "lens.column_same": "위치 {position} (\"{label}\"): 각 레이어가 이 위치에 예측한 것",
    "lens.column_actual": "; 실제: \"{token}\"",
    "lens.column_clear": ". 열 머리글을 다시 클릭하면 해제됩니다.",
    "lens.actual_cell": "실제 {percent}%",
    "lens.explain_next": "각 열: 모델을 그 레이어에서 멈췄을 때, 맨 위 입력 토큰 다음에 올 토큰으로 예측한 것. 굵은 글씨: 실제 다음 토큰. 열을 클릭하면 상위 k개 예측을 봅니다.",
    "lens.explain_same": "각 열: 모델을 그 레이어에서 멈췄을 때 그 위치에 예측한 토큰. 굵은 글씨: 실제 토큰. 열을 클릭하면 상위 k개 예측을 봅니다."
  }
};

// The view's words in its language: say("key", {name: value}) fills each {name} (values stay plain text).
function speaker(model) {
  const table = TEXT[model.get("lang")] || TEXT.en;
  return (key, values) => (table[key] ?? TEXT.en[key] ?? key).replace(/\{(\w+)\}/g,
    (placeholder, name) => (values && name in values ? String(values[name]) : placeholder));
}

// A renderer that draws the whole view again when its language changes: `draw({model, el})` gets a model whose
// listeners are dropped before each new drawing (so the old drawing stops reacting).
function redrawnOnLanguage(draw) {
  return ({ model, el }) => {
    let listeners = [];
    const scoped = {
      get: (key) => model.get(key),
      set: (key, value) => model.set(key, value),
      save_changes: () => model.save_changes(),
      on: (event, callback) => { listeners.push([event, callback]); model.on(event, callback); },
    };
    function again() {
      for (const [event, callback] of listeners) model.off(event, callback);
      listeners = [];
      el.replaceChildren();
      draw({ model: scoped, el });
      const root = el.firstElementChild;
      if (root) root.lang = model.get("lang") || "en"; // :lang(ko) styles, and Korean glyphs for Hangul
    }
    model.on("change:lang", again);
    again();
    return () => {  // anywidget calls this when the view is removed
      for (const [event, callback] of listeners) model.off(event, callback);
      model.off("change:lang", again);
    };
  };
}

// A DOM element with a class and (optionally) text, set as text.
function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = String(text);
  return element;
}

// Binary traits arrive as DataView (anywidget), ArrayBuffer or Uint8Array; copy into an aligned buffer.
function bytesOf(value) {
  if (!value) return new Uint8Array(0);
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  return new Uint8Array(0);
}

function base64ToBytes(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

// The exported page has no kernel: this stands in for the widget model (get / set / on / save_changes).
function standaloneModel(data) {
  const state = {};
  for (const [key, value] of Object.entries(data)) {
    state[key] = value && typeof value === "object" && "__bytes__" in value ? base64ToBytes(value.__bytes__) : value;
  }
  const listeners = {};
  return {
    get: (key) => state[key],
    set: (key, value) => {
      state[key] = value;
      for (const callback of listeners["change:" + key] || []) callback();
    },
    on: (event, callback) => { (listeners[event] = listeners[event] || []).push(callback); },
    off: (event, callback) => { listeners[event] = (listeners[event] || []).filter((c) => c !== callback); },
    save_changes: () => {},
  };
}

function setTrait(model, key, value) {
  model.set(key, value);
  model.save_changes();
}

// The selected token (trait `selected`): a position in the view's token sequence; -1 or missing = none.
function selectedOf(model) {
  const value = model.get("selected");
  return Number.isInteger(value) ? value : -1;
}

// A click on a token selects it; a click on the token already selected clears the selection.
function toggleSelected(model, position) {
  setTrait(model, "selected", selectedOf(model) === position ? -1 : position);
}

// Probability 0..1 -> background colour from pale red (unlikely) to green (likely).
function probabilityColour(p) {
  const x = Math.max(0, Math.min(1, Number(p) || 0));
  const hue = Math.round(120 * x);
  return `hsl(${hue}, 75%, ${88 - 18 * x}%)`;
}

function select(options, value, onChange, title) {
  const element = node("select", "wb-select");
  if (title) element.title = title;
  for (const [optionValue, label] of options) {
    const option = node("option", null, label);
    option.value = String(optionValue);
    if (String(optionValue) === String(value)) option.selected = true;
    element.appendChild(option);
  }
  element.addEventListener("change", () => onChange(element.value));
  return element;
}

function labelled(text, control) {
  const wrapper = node("label", "wb-control");
  wrapper.appendChild(node("span", "wb-control-label", text));
  wrapper.appendChild(control);
  return wrapper;
}
