// Logit lens: a table of layers x positions; each cell is the layer's top prediction, coloured by its
// probability, bold when it is the actual next (decoders) or actual (masked LMs) token. Click a column header
// (or a cell) to select that position: its column is marked and the top-k of each of its cells is listed below.
// state = {name, tokens: [{label, id, special}], rows: [{name, cells: [{top: [[id, p]...], target}]}],
//          next_token, targets: [id or -1], vocabulary: {id: label}};  selected = a position or -1
// Words: `say` (common.js); the row names come in the state, already in the view's language.

function drawLens({ model, el }) {
  const say = speaker(model);
  const root = node("div", "wb-view wb-lens");
  el.appendChild(root);
  const detail = node("div", "wb-note");
  const column = node("table", "wb-lens-column");

  function draw() {
    const state = model.get("state");
    const selected = selectedOf(model);
    root.dataset.selected = String(selected);
    const word = (id) => state.vocabulary[String(id)] ?? `<id ${id}>`;
    const percent = (p) => `${(100 * p).toFixed(1)}%`;
    const table = node("table", "wb-lens-table");
    const head = node("tr");
    head.appendChild(node("th", null, say(state.next_token ? "lens.corner_next" : "lens.corner_same")));
    state.tokens.forEach((token, position) => {
      const th = node("th", token.special ? "wb-special wb-lens-token" : "wb-lens-token", token.label);
      th.dataset.position = String(position);
      th.title = say("lens.column_title", { position });
      if (position === selected) th.classList.add("wb-selected");
      th.addEventListener("click", () => toggleSelected(model, position));
      head.appendChild(th);
    });
    table.appendChild(head);
    state.rows.forEach((row) => {
      const tr = node("tr");
      tr.appendChild(node("th", null, row.name));
      row.cells.forEach((cell, position) => {
        const [topId, topP] = cell.top[0];
        const td = node("td", null, word(topId));
        td.style.background = probabilityColour(topP);
        if (topId === state.targets[position]) td.classList.add("wb-match");
        if (position === selected) td.classList.add("wb-selected");
        const lines = cell.top.map(([id, p]) => `${percent(p).padStart(6)}  ${word(id)}`);
        if (cell.target !== null) lines.push(say(state.next_token ? "lens.actual_next" : "lens.actual_same",
          { token: word(state.targets[position]), percent: (100 * cell.target).toFixed(2) }));
        td.title = say("lens.cell_title", { row: row.name, position }) + "\n" + lines.join("\n");
        td.addEventListener("click", () => setTrait(model, "selected", position));
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });

    // the selected column, one row per layer: its top-k predictions and the actual token's probability
    column.replaceChildren();
    const token = state.tokens[selected];
    if (token) {
      const target = state.targets[selected];
      detail.textContent = say(state.next_token ? "lens.column_next" : "lens.column_same", { position: selected, label: token.label }) +
        (target >= 0 ? say("lens.column_actual", { token: word(target) }) : "") + say("lens.column_clear");
      state.rows.forEach((row) => {
        const tr = node("tr");
        tr.appendChild(node("th", null, row.name));
        const cell = row.cells[selected];
        for (const [id, p] of cell.top) {
          const td = node("td", id === target ? "wb-match" : null, `${word(id)} ${percent(p)}`);
          td.style.background = probabilityColour(p);
          tr.appendChild(td);
        }
        if (cell.target !== null) tr.appendChild(node("td", "wb-lens-target", say("lens.actual_cell", { percent: (100 * cell.target).toFixed(2) })));
        column.appendChild(tr);
      });
    } else {
      detail.textContent = say(state.next_token ? "lens.explain_next" : "lens.explain_same");
    }
    root.replaceChildren(table, detail, column);
  }
  model.on("change:state", draw);
  model.on("change:selected", draw);
  draw();
}

const render = redrawnOnLanguage(drawLens);
export default { render };
