// Helpers shared by every view renderer (prepended to <view>.js; no imports, no network).
// Token text is only ever placed with textContent / title, never parsed as HTML.

const PALETTE = ["#fde68a", "#bfdbfe", "#bbf7d0", "#fbcfe8", "#ddd6fe", "#fed7aa"];
const HEAD_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"];

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
    off: () => {},
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
