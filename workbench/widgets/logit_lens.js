// Logit lens: a table of layers x positions; each cell is the layer's top prediction, coloured by its
// probability, bold when it is the actual next (decoders) or actual (masked LMs) token; click for the top-k.
// state = {name, tokens: [{label, id, special}], rows: [{name, cells: [{top: [[id, p]...], target}]}],
//          next_token, targets: [id or -1], vocabulary: {id: label}}

function render({ model, el }) {
  const root = node("div", "wb-view wb-lens");
  el.appendChild(root);
  const detail = node("div", "wb-note");
  function draw() {
    const state = model.get("state");
    const word = (id) => state.vocabulary[String(id)] ?? `<id ${id}>`;
    const table = node("table", "wb-lens-table");
    const head = node("tr");
    head.appendChild(node("th", null, state.next_token ? "layer \\ after" : "layer \\ token"));
    state.tokens.forEach((token) => head.appendChild(node("th", token.special ? "wb-special" : null, token.label)));
    table.appendChild(head);
    state.rows.forEach((row) => {
      const tr = node("tr");
      tr.appendChild(node("th", null, row.name));
      row.cells.forEach((cell, position) => {
        const [topId, topP] = cell.top[0];
        const td = node("td", null, word(topId));
        td.style.background = probabilityColour(topP);
        if (topId === state.targets[position]) td.classList.add("wb-match");
        const lines = cell.top.map(([id, p]) => `${(100 * p).toFixed(1).padStart(5)}%  ${word(id)}`);
        if (cell.target !== null) lines.push(`actual ${state.next_token ? "next " : ""}token "${word(state.targets[position])}": ${(100 * cell.target).toFixed(2)}%`);
        td.title = `${row.name}, position ${position}\n` + lines.join("\n");
        td.addEventListener("click", () => { detail.textContent = td.title; });
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    root.replaceChildren(table, detail);
    detail.textContent = state.next_token
      ? "Each column: what the model, stopped after that layer, predicts as the token after the input token on top. Bold: the actual next token. Click a cell for the top-k."
      : "Each column: what the model, stopped after that layer, predicts for that position. Bold: the actual token. Click a cell for the top-k.";
  }
  model.on("change:state", draw);
  draw();
}

export default { render };
