// Attention view. Traits: state {tokens, layers, n_heads, n_tokens, floor, pair, name}, weights (bytes, see
// workbench/views/attention.py: counts uint16 [L*H*T], keys uint16 [N], values uint8 [N]),
// layer, heads, threshold, mode ("head" | "model"), direction ("all", "AB", "BA", "AA", "BB"), selected (a token
// position or -1). A selected token keeps only its own lines in the head view (what it attends to, as a hover
// does) and its row is marked in every thumbnail of the model view. For tests the canvas exposes
// `data-lines`, the number of lines it drew. Words: `say` (common.js).

const ROW = 18; // pixels per token row in the head view

function decodeAttention(bytes, rows) {
  const counts = new Uint16Array(bytes.buffer, 0, rows);
  const starts = new Uint32Array(rows + 1);
  for (let r = 0; r < rows; r++) starts[r + 1] = starts[r] + counts[r];
  const n = starts[rows];
  const keys = new Uint16Array(bytes.buffer, 2 * rows, n);
  const values = bytes.subarray(2 * rows + 2 * n, 2 * rows + 3 * n);
  return { starts, keys, values };
}

function drawAttention({ model, el }) {
  const say = speaker(model);
  const root = node("div", "wb-view wb-attention");
  el.appendChild(root);
  const state = model.get("state");
  const tokens = state.tokens, T = state.n_tokens, H = state.n_heads, layers = state.layers;
  const packed = decodeAttention(bytesOf(model.get("weights")), layers.length * H * T);
  const rowOf = (layerIndex, head, query) => (layerIndex * H + head) * T + query;
  let focus = null; // {side: "left" | "right", index}

  // ---- controls ----
  const controls = node("div", "wb-controls");
  root.appendChild(controls);
  const modeSelect = select([["head", say("attention.head_view")], ["model", say("attention.model_view")]], model.get("mode"),
    (value) => setTrait(model, "mode", value), say("attention.mode_title"));
  controls.appendChild(modeSelect);
  const layerSelect = select(layers.map((l) => [l, say("attention.layer_n", { layer: l })]), model.get("layer"),
    (value) => setTrait(model, "layer", Number(value)), say("attention.layer"));
  controls.appendChild(labelled(say("attention.layer"), layerSelect));
  const chips = node("span", "wb-head-chips");
  controls.appendChild(labelled(say("attention.heads"), chips));
  for (let h = 0; h < H; h++) {
    const chip = node("span", "wb-head-chip", h);
    chip.style.background = HEAD_COLOURS[h % HEAD_COLOURS.length];
    chip.title = say("attention.chip_title", { head: h });
    chip.dataset.head = String(h);
    chip.addEventListener("click", () => {
      const heads = new Set(model.get("heads"));
      heads.has(h) ? heads.delete(h) : heads.add(h);
      setTrait(model, "heads", [...heads].sort((a, b) => a - b));
    });
    chip.addEventListener("dblclick", () => setTrait(model, "heads", [h]));
    chips.appendChild(chip);
  }
  const slider = node("input", "wb-threshold");
  slider.type = "range";
  slider.min = String(state.floor);
  slider.max = "0.5";
  slider.step = "0.005";
  slider.value = String(model.get("threshold"));
  slider.title = say("attention.threshold_title");
  const sliderValue = node("span", "wb-control-label", Number(model.get("threshold")).toFixed(3));
  slider.addEventListener("input", () => { sliderValue.textContent = Number(slider.value).toFixed(3); setTrait(model, "threshold", Number(slider.value)); });
  const thresholdBox = labelled(say("attention.threshold"), slider);
  thresholdBox.appendChild(sliderValue);
  controls.appendChild(thresholdBox);
  if (state.pair) {
    controls.appendChild(labelled(say("attention.links"), select(
      [["all", say("attention.all")], ["AB", "A → B"], ["BA", "B → A"], ["AA", "A → A"], ["BB", "B → B"]], model.get("direction"),
      (value) => setTrait(model, "direction", value), say("attention.links_title"))));
  }

  // ---- head view: token columns and a canvas of lines between them ----
  const headView = node("div", "wb-head-view");
  const left = node("div", "wb-att-column wb-att-left");
  const right = node("div", "wb-att-column wb-att-right");
  const canvas = node("canvas", "wb-att-canvas");
  const width = 200;
  canvas.width = width;
  canvas.height = Math.max(1, T * ROW);
  canvas.style.width = width + "px";
  canvas.style.height = T * ROW + "px";
  const makeToken = (token, index, side) => {
    const cell = node("div", "wb-att-token", token.label === "" ? "␣" : token.label);
    if (token.special) cell.classList.add("wb-special");
    if (token.sequence === 1) cell.classList.add("wb-second");
    cell.title = say("attention.token_title", { index, piece: token.piece, id: token.id });
    cell.dataset.position = String(index);
    cell.addEventListener("click", () => toggleSelected(model, index));
    cell.addEventListener("mouseenter", () => { focus = { side, index }; drawLines(); });
    cell.addEventListener("mouseleave", () => { focus = null; drawLines(); });
    return cell;
  };
  tokens.forEach((token, i) => { left.appendChild(makeToken(token, i, "left")); right.appendChild(makeToken(token, i, "right")); });
  headView.append(left, canvas, right);
  root.appendChild(headView);

  // ---- model view: a grid of heatmap thumbnails, click to zoom into the head view ----
  const modelView = node("div", "wb-model-grid");
  root.appendChild(modelView);
  const legend = node("div", "wb-note", say("attention.legend"));
  root.appendChild(legend);
  const selection = node("div", "wb-selection");
  root.appendChild(selection);

  // the token whose lines are shown: the hovered one, else the selected one (as the query, left side)
  function lineFilter() {
    if (focus) return focus;
    const position = selectedOf(model);
    return position >= 0 && position < T ? { side: "left", index: position } : null;
  }

  function showSelection() {
    const position = selectedOf(model);
    root.dataset.selected = String(position);
    for (const column of [left, right]) {
      for (const cell of column.children) cell.classList.toggle("wb-selected", Number(cell.dataset.position) === position);
    }
    const token = position >= 0 ? tokens[position] : null;
    selection.textContent = !token ? ""
      : say(model.get("mode") === "model" ? "attention.selected_model" : "attention.selected_head", { position, label: token.label });
  }

  function allowed(query, key) {
    const direction = model.get("direction") || "all";
    if (direction === "all") return true;
    const from = tokens[query].sequence === 1 ? "B" : "A", to = tokens[key].sequence === 1 ? "B" : "A";
    if (tokens[query].sequence === null || tokens[key].sequence === null) return false;
    return direction === from + to;
  }

  function drawLines() {
    const layerIndex = Math.max(0, layers.indexOf(Number(model.get("layer"))));
    const heads = model.get("heads") || [];
    const threshold = Number(model.get("threshold")) || 0;
    const minimum = Math.ceil(threshold * 255 - 1e-6);
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.lineWidth = 1.5;
    for (const cell of left.children) cell.classList.remove("wb-focus");
    for (const cell of right.children) cell.classList.remove("wb-focus");
    if (focus) (focus.side === "left" ? left : right).children[focus.index].classList.add("wb-focus");
    const only = lineFilter();
    let drawn = 0;
    for (const h of heads) {
      ctx.strokeStyle = HEAD_COLOURS[h % HEAD_COLOURS.length];
      for (let q = 0; q < T; q++) {
        if (only && only.side === "left" && only.index !== q) continue;
        const r = rowOf(layerIndex, h, q);
        for (let i = packed.starts[r]; i < packed.starts[r + 1]; i++) {
          const value = packed.values[i], k = packed.keys[i];
          if (value < minimum) continue;
          if (only && only.side === "right" && only.index !== k) continue;
          if (!allowed(q, k)) continue;
          ctx.globalAlpha = Math.min(1, value / 255 / Math.max(1, heads.length / 3));
          ctx.beginPath();
          ctx.moveTo(0, q * ROW + ROW / 2);
          ctx.lineTo(width, k * ROW + ROW / 2);
          ctx.stroke();
          drawn++;
        }
      }
    }
    ctx.globalAlpha = 1;
    canvas.dataset.lines = String(drawn);
  }

  function drawGrid() {
    modelView.replaceChildren();
    const size = Math.min(T, 96); // thumbnail pixels: each pixel is the strongest link it covers
    modelView.style.gridTemplateColumns = `56px repeat(${H}, 66px)`;
    modelView.appendChild(node("span", "wb-grid-label", ""));
    for (let h = 0; h < H; h++) modelView.appendChild(node("span", "wb-grid-label", say("attention.head_n", { head: h })));
    const threshold = Number(model.get("threshold")) || 0;
    const position = selectedOf(model);
    const markedRow = position >= 0 && position < T ? Math.floor(position * size / T) : -1;
    layers.forEach((layer, layerIndex) => {
      modelView.appendChild(node("span", "wb-grid-label", say("attention.layer_n", { layer })));
      for (let h = 0; h < H; h++) {
        const thumb = node("canvas", "wb-thumb");
        thumb.width = size;
        thumb.height = size;
        thumb.style.width = "64px";
        thumb.style.height = "64px";
        thumb.title = say("attention.thumb_title", { layer, head: h });
        thumb.dataset.layer = String(layer);
        thumb.dataset.head = String(h);
        const image = thumb.getContext("2d").createImageData(size, size);
        const strongest = new Float32Array(size * size);
        for (let q = 0; q < T; q++) {
          const r = rowOf(layerIndex, h, q), y = Math.floor(q * size / T);
          for (let i = packed.starts[r]; i < packed.starts[r + 1]; i++) {
            const w = packed.values[i] / 255;
            if (w < threshold || !allowed(q, packed.keys[i])) continue;
            const p = y * size + Math.floor(packed.keys[i] * size / T);
            if (w > strongest[p]) strongest[p] = w;
          }
        }
        for (let p = 0; p < size * size; p++) {
          const w = strongest[p];
          image.data[4 * p] = Math.round(255 - 224 * w);
          image.data[4 * p + 1] = Math.round(255 - 160 * w);
          image.data[4 * p + 2] = Math.round(255 - 75 * w);
          image.data[4 * p + 3] = 255;
        }
        thumb.getContext("2d").putImageData(image, 0, 0);
        if (markedRow >= 0) { // the selected token's row: what it attends to in this head
          const context = thumb.getContext("2d");
          context.fillStyle = "rgba(220, 38, 38, 0.45)";
          context.fillRect(0, markedRow, size, 1);
        }
        thumb.addEventListener("click", () => {
          model.set("layer", layer);
          model.set("heads", [h]);
          model.set("mode", "head");
          model.save_changes();
        });
        modelView.appendChild(thumb);
      }
    });
  }

  function update() {
    const mode = model.get("mode");
    headView.style.display = mode === "head" ? "" : "none";
    legend.style.display = mode === "head" ? "" : "none";
    modelView.style.display = mode === "model" ? "grid" : "none";
    layerSelect.value = String(model.get("layer"));
    modeSelect.value = mode;
    const on = new Set(model.get("heads") || []);
    for (const chip of chips.children) chip.classList.toggle("wb-on", on.has(Number(chip.dataset.head)));
    showSelection();
    if (mode === "head") drawLines(); else drawGrid();
  }
  for (const name of ["layer", "heads", "threshold", "mode", "direction", "selected"]) model.on("change:" + name, update);
  update();
}

const render = redrawnOnLanguage(drawAttention);
export default { render };
