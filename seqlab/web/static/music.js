"use strict";
// The music page: generate tunes; show each as sheet music, sound, ABC, downloads and its checks.

const musicForm = document.getElementById("music-form");
const musicError = document.querySelector("main > .error");
const musicStatus = document.querySelector("main > .status");
const tuneList = document.getElementById("tunes");
const tuneTemplate = document.getElementById("tune-template");

function validityReport(validity) {
  const box = document.createElement("div");
  const verdict = document.createElement("p");
  verdict.className = validity.valid ? "valid" : "invalid";
  verdict.textContent = validity.valid
    ? `Valid: ${validity.interior_bars} interior bars all the right length, repeats match, music21 reads it` +
      (validity.aabb ? ", AABB form." : ".")
    : "Not valid:";
  box.append(verdict);
  if (validity.reasons.length) {
    const reasons = document.createElement("ul");
    for (const reason of validity.reasons) {
      const item = document.createElement("li");
      item.textContent = reason;
      reasons.append(item);
    }
    box.append(reasons);
  }
  return box;
}

function showTune(tune, temperature) {
  const article = tuneTemplate.content.firstElementChild.cloneNode(true);
  article.querySelector(".title").textContent = `${tune.number}. ${tune.title || "(no title)"}`;
  const sheet = article.querySelector(".sheet");
  const drawing = tune.svg ? seqlab.svg(tune.svg) : null;
  if (drawing) sheet.append(drawing);
  else sheet.textContent = "No sheet music for this tune.";
  const audio = article.querySelector("audio");
  if (tune.files.wav) audio.src = tune.files.wav;
  else audio.remove();
  const downloads = article.querySelector(".downloads");
  for (const [kind, label] of [["abc", "ABC"], ["midi", "MIDI"], ["wav", "WAV"], ["svg", "SVG"]]) {
    if (tune.files[kind]) downloads.append(seqlab.download(tune.files[kind], label), " ");
  }
  article.querySelector(".validity").append(validityReport(tune.validity));
  for (const problem of tune.errors) {
    const line = document.createElement("p");
    line.className = "error";
    line.textContent = problem;
    article.querySelector(".validity").append(line);
  }
  article.querySelector(".abc").textContent = tune.abc;
  article.querySelector(".more").addEventListener("click", () => moreLikeThis(tune.start, temperature));
  return article;
}

async function generate(request) {
  const button = musicForm.querySelector("button[type=submit]");
  await seqlab.busy(button, musicError, async () => {
    musicStatus.textContent = "Writing…";
    try {
      const answer = await seqlab.post("/api/music/generate", request);
      tuneList.replaceChildren(...answer.tunes.map((tune) => showTune(tune, request.temperature)));
      musicStatus.textContent = `Seed ${answer.seed}: ${answer.tunes.length} valid of ${answer.sampled} sampled` +
        (answer.rejected ? `; rejected ${answer.rejected} (first: ${answer.first_rejection})` : "") + ".";
    } catch (error) {
      musicStatus.textContent = "";
      throw error;
    }
  });
}

// Same start, new seed: the form shows the start it asks with.
function moreLikeThis(start, temperature) {
  for (const name of ["seed", "meter", "key"]) musicForm.elements[name].value = "";
  musicForm.elements.rhythm.value = "";
  musicForm.elements.start.value = start;
  generate({count: 1, start, temperature});
  musicForm.scrollIntoView({behavior: "smooth"});
}

musicForm.addEventListener("submit", (event) => {
  event.preventDefault();
  generate(seqlab.fields(musicForm));
});
