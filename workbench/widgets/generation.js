// Generation view: the prompt (grey), then each generated token coloured by its probability; click a token to
// select it: a generated token shows its probability and top-k alternatives, a prompt token says it was given.
// state = {name, done, error, prompt: [{label, special}] (label: the characters the token adds, "" for none),
// steps: [{id, text, token, prob, alternatives: [[label, prob, chosen]...]}]} (grows while streaming).
// `selected` numbers the prompt tokens first, then the generated ones: position = prompt.length + step.
// Words: `say` (common.js).

function drawGeneration({ model, el }) {
  const say = speaker(model);
  const root = node("div", "wb-view wb-generation");
  el.appendChild(root);
  const status = node("span", "wb-status");
  const text = node("div", "wb-gen-text");
  const table = node("table", "wb-alternatives");
  root.append(status, text, table);

  function showAlternatives(step, index) {
    table.replaceChildren();
    const caption = node("caption", "wb-note", say("generation.step", { step: index, token: step.token, percent: (100 * step.prob).toFixed(1) }));
    table.appendChild(caption);
    for (const [label, p, chosen] of step.alternatives) {
      const tr = node("tr");
      tr.appendChild(node("td", null, label));
      const barCell = node("td");
      const bar = node("span", "wb-bar");
      bar.style.width = Math.max(1, Math.round(160 * p)) + "px";
      if (chosen) bar.style.background = "#16a34a";
      barCell.appendChild(bar);
      tr.appendChild(barCell);
      tr.appendChild(node("td", null, `${(100 * p).toFixed(1)}%`));
      table.appendChild(tr);
    }
  }

  function showPromptToken(piece, position) {
    const what = piece.label === "" ? say("generation.more_bytes") : `"${piece.label}"`;
    table.replaceChildren(node("caption", "wb-note", say("generation.given", { position, what })));
  }

  function draw() {
    const state = model.get("state");
    const selected = selectedOf(model);
    root.dataset.selected = String(selected);
    const count = state.steps.length;
    status.textContent = state.error ? say("generation.stopped", { error: state.error })
      : say(state.done ? "generation.done" : "generation.running", { count });
    text.replaceChildren();
    state.prompt.forEach((piece, position) => {
      // a special token shows its name; a token that adds no new character (the 2nd byte of a syllable) a thin box
      const span = node("span", "wb-gen-prompt", piece.label);
      if (piece.special) span.classList.add("wb-gen-special");
      if (piece.label === "") span.classList.add("wb-gen-part");
      span.dataset.position = String(position);
      span.title = say(piece.label === "" ? "generation.prompt_part" : "generation.prompt_token", { position });
      if (position === selected) span.classList.add("wb-selected");
      span.addEventListener("click", () => toggleSelected(model, position));
      text.appendChild(span);
    });
    state.steps.forEach((step, index) => {
      const position = state.prompt.length + index;
      const span = node("span", "wb-gen-token", step.text);
      span.style.background = probabilityColour(step.prob);
      span.title = `${step.token}: ${(100 * step.prob).toFixed(1)}%\n` + step.alternatives.map(([label, p]) => `${(100 * p).toFixed(1).padStart(5)}%  ${label}`).join("\n");
      span.dataset.position = String(position);
      if (position === selected) span.classList.add("wb-selected");
      span.addEventListener("click", () => toggleSelected(model, position));
      text.appendChild(span);
    });
    const step = state.steps[selected - state.prompt.length];
    if (selected >= 0 && selected < state.prompt.length) showPromptToken(state.prompt[selected], selected);
    else if (selected >= 0 && step) showAlternatives(step, selected - state.prompt.length);
    else table.replaceChildren();
  }
  model.on("change:state", draw);
  model.on("change:selected", draw);
  draw();
}

const render = redrawnOnLanguage(drawGeneration);
export default { render };
