"use strict";
// The text page: next-word predictions as you type, and text written after a prompt.

const promptInput = document.getElementById("predict-prompt");
const predictError = document.getElementById("predict-error");
const predictions = document.getElementById("predictions");
let inFlight = null;  // the prediction request under way, dropped when the text changes again

async function predict() {
  const prompt = promptInput.value;
  if (inFlight) inFlight.abort();
  if (!prompt.trim()) {
    predictions.replaceChildren();
    seqlab.showError(predictError, "");
    return;
  }
  inFlight = new AbortController();
  try {
    const answer = await seqlab.post("/api/text/predict", {prompt, top: 5}, inFlight.signal);
    predictions.replaceChildren(...answer.words.map(({word, probability}) => {
      const item = document.createElement("li");
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.max(2, Math.round(600 * probability))}px`;
      const label = document.createElement("span");
      label.className = "word";
      label.textContent = word;
      item.append(label, bar, ` ${seqlab.percent(probability)}`);
      return item;
    }));
    seqlab.showError(predictError, answer.unknown.length ? `note: the model never saw ${answer.unknown.join(" ")}` : "");
  } catch (error) {
    if (error.name !== "AbortError") {
      predictions.replaceChildren();
      seqlab.showError(predictError, error.message);
    }
  }
}

promptInput.addEventListener("input", seqlab.debounce(predict, 250));
predict();

const generateForm = document.getElementById("generate-form");
const generated = document.getElementById("generated");
generateForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const button = generateForm.querySelector("button[type=submit]");
  seqlab.busy(button, generateForm.querySelector(".error"), async () => {
    generated.textContent = "Writing…";
    try {
      const answer = await seqlab.post("/api/text/generate", seqlab.fields(generateForm));
      generated.textContent = answer.text;
    } catch (error) {
      generated.textContent = "";
      throw error;
    }
  });
});
