// Tokens view: one row of coloured pieces per tokenizer, ids below, details on hover.
// state = {text, text_pair, tokenizations: [{name, kind, note, counts, pieces: [Piece...]}]}

function pieceTitle(piece) {
  const lines = [`token ${piece.index}: id ${piece.id}`, `vocabulary entry: ${piece.piece}`];
  if (piece.special) lines.push("special token added by the tokenizer");
  if (piece.unknown) lines.push(`unknown token: stands for "${piece.covers}"`);
  if (piece.byte_values) lines.push("bytes: " + piece.byte_values.map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(" "));
  if (piece.group !== null && piece.group !== undefined) lines.push(`with its neighbours forms "${piece.covers}"`);
  if (!piece.special) lines.push(`characters ${piece.start}–${piece.end}: "${piece.covers}"`);
  if (piece.continues) lines.push("continues the word before it");
  if (piece.space_before) lines.push("starts with a space (a new word)");
  return lines.join("\n");
}

function renderTokenization(tokenization, showIds) {
  const block = node("div", "wb-tokenization");
  const header = node("div", "wb-tok-header");
  header.appendChild(node("span", "wb-tok-name", tokenization.name));
  const c = tokenization.counts;
  const perWord = c.tokens_per_word === null ? "–" : c.tokens_per_word.toFixed(2);
  header.appendChild(node("span", "wb-tok-counts",
    `${c.text_tokens} tokens + ${c.special_tokens} special · ${c.characters} characters · ${c.words} words · ${perWord} tokens/word`));
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
    box.title = pieceTitle(piece);
    box.appendChild(node("span", "wb-piece-label", piece.label === "" ? "␣" : piece.label));
    if (showIds) box.appendChild(node("span", "wb-piece-id", piece.id));
    box.dataset.index = String(piece.index);
    // pieces that together form characters sit in one bracket that shows those characters
    if (piece.group !== null && piece.group !== undefined) {
      if (groupId !== piece.group) {
        groupId = piece.group;
        groupBox = node("span", "wb-group");
        const parts = node("span", "wb-group-pieces");
        groupBox.appendChild(parts);
        groupBox.appendChild(node("span", "wb-group-forms", piece.covers));
        groupBox.title = `these tokens together form "${piece.covers}"`;
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

function render({ model, el }) {
  const root = node("div", "wb-view wb-tokens");
  el.appendChild(root);
  let showIds = true;
  const controls = node("div", "wb-controls");
  if (model.get("live") !== false) {
    const input = node("textarea", "wb-text-input");
    input.rows = 2;
    input.value = model.get("text") || "";
    input.placeholder = "Type a text to tokenize";
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
  controls.appendChild(labelled("ids", idsBox));
  root.appendChild(controls);
  const body = node("div", "wb-tok-body");
  root.appendChild(body);

  function draw() {
    const state = model.get("state") || { tokenizations: [] };
    body.replaceChildren(...state.tokenizations.map((t) => renderTokenization(t, showIds)));
  }
  model.on("change:state", draw);
  draw();
}

export default { render };
