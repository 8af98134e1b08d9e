// Generation view: the prompt (grey), then each generated token coloured by its probability; click a token
// for its top-k alternatives. state = {name, done, error, prompt: [{label, special}],
// steps: [{id, text, token, prob, alternatives: [[label, prob, chosen]...]}]} (grows while streaming).

function render({ model, el }) {
  const root = node("div", "wb-view wb-generation");
  el.appendChild(root);
  const status = node("span", "wb-status");
  const text = node("div", "wb-gen-text");
  const table = node("table", "wb-alternatives");
  root.append(status, text, table);
  let selected = null;

  function showAlternatives(step, index) {
    table.replaceChildren();
    const caption = node("caption", "wb-note", `step ${index}: chose "${step.token}" with probability ${(100 * step.prob).toFixed(1)}%`);
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

  function draw() {
    const state = model.get("state");
    status.textContent = state.error ? `stopped: ${state.error}` : state.done ? `${state.steps.length} tokens` : `generating… ${state.steps.length} tokens`;
    text.replaceChildren();
    for (const piece of state.prompt) text.appendChild(node("span", "wb-gen-prompt", piece.special ? "" : piece.label));
    state.steps.forEach((step, index) => {
      const span = node("span", "wb-gen-token", step.text);
      span.style.background = probabilityColour(step.prob);
      span.title = `${step.token}: ${(100 * step.prob).toFixed(1)}%\n` + step.alternatives.map(([label, p]) => `${(100 * p).toFixed(1).padStart(5)}%  ${label}`).join("\n");
      if (index === selected) span.classList.add("wb-selected");
      span.addEventListener("click", () => { selected = index; draw(); });
      text.appendChild(span);
    });
    if (selected !== null && state.steps[selected]) showAlternatives(state.steps[selected], selected);
  }
  model.on("change:state", draw);
  draw();
}

export default { render };
