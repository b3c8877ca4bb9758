"use strict";
// The sentiment page: the label, its probability and the word-by-word curve.

const sentimentForm = document.getElementById("sentiment-form");
const sentimentError = document.querySelector("main > .error");
const verdict = document.getElementById("verdict");

sentimentForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const button = sentimentForm.querySelector("button[type=submit]");
  seqlab.busy(button, sentimentError, async () => {
    verdict.hidden = true;
    const answer = await seqlab.post("/api/sentiment/explain", seqlab.fields(sentimentForm));
    const label = verdict.querySelector(".label");
    label.textContent = `${answer.label}, probability ${answer.probability.toFixed(3)}`;
    label.className = `label ${answer.label}`;
    verdict.querySelector(".curve-box").replaceChildren(seqlab.svg(answer.curve_svg));
    verdict.querySelector(".note").textContent = answer.unknown.length
      ? `Words the model never saw (read as <unk>): ${answer.unknown.join(", ")}` : "";
    verdict.hidden = false;
  });
});
