// Tokens view: one row of coloured pieces per tokenizer, ids below, details on hover; click a piece to select it.
// Labels come with invisible characters already made visible (views/tokens.py `visible`); titles, which cannot be
// styled or isolated, use `shown_piece` / `shown_covers` (the same rule) and name those characters (`code_points`).
// state = {text, text_pair, tokenizations: [{name, kind, note, counts, pieces: [Piece...], first_row?}]}
// `selected` is a position in the first tokenizer's row; the rows of other tokenizers carry `first_row`: for
// each of their pieces, the position in the first row that covers the same characters (-1: none), so clicking
// any row selects, and the pieces of every row over the selected characters are marked. Words: `say` (common.js).

function pieceTitle(piece, say) {
  const lines = [say("tokens.token", { index: piece.index, id: piece.id }), say("tokens.entry", { piece: piece.shown_piece })];
  if (piece.special) lines.push(say("tokens.special"));
  if (piece.unknown) lines.push(say("tokens.unknown", { covers: piece.shown_covers }));
  if (piece.byte_values) lines.push(say("tokens.bytes", { bytes: piece.byte_values.map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(" ") }));
  if (piece.group !== null && piece.group !== undefined) lines.push(say("tokens.forms", { covers: piece.forms }));
  if (!piece.special) lines.push(say("tokens.characters", { start: piece.start, end: piece.end, covers: piece.shown_covers }));
  if (piece.code_points.length) lines.push(say("tokens.invisible", { characters: piece.code_points.join(", ") }));
  if (piece.continues) lines.push(say("tokens.continues"));
  if (piece.space_before) lines.push(say("tokens.space"));
  return lines.join("\n");
}

function renderTokenization(tokenization, showIds, firstRow, onPick, say) {
  const block = node("div", "wb-tokenization");
  const header = node("div", "wb-tok-header");
  header.appendChild(node("span", "wb-tok-name", tokenization.name));
  const c = tokenization.counts;
  const perWord = c.tokens_per_word === null ? "–" : c.tokens_per_word.toFixed(2);
  header.appendChild(node("span", "wb-tok-counts", say("tokens.counts", { text_tokens: c.text_tokens,
    special_tokens: c.special_tokens, characters: c.characters, words: c.words, per_word: perWord })));
  block.appendChild(header);
  const row = node("div", "wb-pieces");
  let groupBox = null, groupId = null;
  tokenization.pieces.forEach((piece, i) => {
    const box = node("span", "wb-piece");
    box.style.background = piece.special ? "" : PALETTE[i % PALETTE.length];
    if (piece.special) box.classList.add("wb-special");
    if (piece.unknown) box.classList.add("wb-unknown");
    if (piece.partial) box.classList.add("wb-partial");
    if (piece.continues) box.classList.add("wb-continues");
    if (piece.sequence === 1) box.classList.add("wb-second");
    box.title = pieceTitle(piece, say);
    box.appendChild(node("span", "wb-piece-label", piece.label === "" ? "␣" : piece.label));
    if (showIds) box.appendChild(node("span", "wb-piece-id", piece.id));
    box.dataset.index = String(piece.index);
    const position = firstRow ? firstRow[i] : i; // where this piece is in the first row (the selectable one)
    box.dataset.position = String(position);
    if (position >= 0) box.addEventListener("click", () => onPick(position));
    else box.title += "\n" + say("tokens.not_in_first_row");
    // pieces that together form characters sit in one bracket that shows those characters
    if (piece.group !== null && piece.group !== undefined) {
      if (groupId !== piece.group) {
        groupId = piece.group;
        groupBox = node("span", "wb-group");
        const parts = node("span", "wb-group-pieces");
        groupBox.appendChild(parts);
        groupBox.appendChild(node("span", "wb-group-forms", piece.forms));
        groupBox.title = say("tokens.group", { covers: piece.forms });
        if (piece.continues) groupBox.classList.add("wb-continues");
        row.appendChild(groupBox);
      }
      groupBox.firstChild.appendChild(box);
    } else {
      groupId = null;
      row.appendChild(box);
    }
  });
  block.appendChild(row);
  block.appendChild(node("div", "wb-note", tokenization.note));
  return block;
}

function drawTokens({ model, el }) {
  const say = speaker(model);
  const root = node("div", "wb-view wb-tokens");
  el.appendChild(root);
  let showIds = true;
  const controls = node("div", "wb-controls");
  if (model.get("live") !== false) {
    const input = node("textarea", "wb-text-input");
    input.rows = 2;
    input.value = model.get("text") || "";
    input.placeholder = say("tokens.placeholder");
    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => setTrait(model, "text", input.value), 250);
    });
    controls.appendChild(input);
  }
  const idsBox = node("input");
  idsBox.type = "checkbox";
  idsBox.checked = showIds;
  idsBox.addEventListener("change", () => { showIds = idsBox.checked; draw(); });
  controls.appendChild(labelled(say("tokens.ids"), idsBox));
  root.appendChild(controls);
  const body = node("div", "wb-tok-body");
  const selection = node("div", "wb-selection");
  root.append(body, selection);
  const pick = (position) => toggleSelected(model, position);

  function draw() {
    const state = model.get("state") || { tokenizations: [] };
    body.replaceChildren(...state.tokenizations.map((t, row) => renderTokenization(t, showIds, row === 0 ? null : t.first_row, pick, say)));
    markSelected();
  }

  // the selected piece (and the pieces of other rows over the same characters) get `wb-selected`
  function markSelected() {
    const position = selectedOf(model);
    root.dataset.selected = String(position);
    for (const box of body.querySelectorAll(".wb-piece")) box.classList.toggle("wb-selected", position >= 0 && Number(box.dataset.position) === position);
    const tokenizations = (model.get("state") || { tokenizations: [] }).tokenizations;
    const piece = position >= 0 && tokenizations.length ? tokenizations[0].pieces[position] : null;
    selection.textContent = piece ? say("tokens.selected", { details: pieceTitle(piece, say).split("\n").join(" · ") }) : "";
  }
  model.on("change:state", draw);
  model.on("change:selected", markSelected);
  draw();
}

const render = redrawnOnLanguage(drawTokens);
export default { render };
