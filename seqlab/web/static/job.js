"use strict";
// A job page (gradients, long-term): the button starts a run; its progress is polled until it ends.

const job = document.querySelector(".job");
const api = job.dataset.api;
const runButton = job.querySelector(".run");
const jobError = job.querySelector(".error");
const progressBox = job.querySelector(".progress-box");
const outputs = document.querySelector(".outputs");
let shown = null;  // the outputs on the page, redrawn only when they change

function table(data) {
  const element = document.createElement("table");
  const caption = element.createCaption();
  caption.textContent = data.title;
  const head = element.createTHead().insertRow();
  for (const column of data.columns) {
    const cell = document.createElement("th");
    cell.textContent = column;
    head.append(cell);
  }
  const body = element.createTBody();
  for (const row of data.rows) {
    const line = body.insertRow();
    for (const value of row) line.insertCell().textContent = value;
  }
  return element;
}

function showOutputs(data) {
  const key = JSON.stringify(data);
  if (key === shown) return;
  shown = key;
  outputs.querySelector(".empty").hidden = Boolean(data);
  if (!data) return;
  outputs.querySelector(".source").textContent = `Shown: ${data.source}.`;
  outputs.querySelector(".table-box").replaceChildren(...(data.table ? [table(data.table)] : []));
  outputs.querySelector(".images").replaceChildren(...data.images.map(({name, url}) => {
    const image = document.createElement("img");
    image.src = url;
    image.alt = name;
    return image;
  }));
  const downloads = outputs.querySelector(".downloads");
  downloads.replaceChildren(...data.downloads.flatMap(({name, url}) => [seqlab.download(url, name), " "]));
}

function showStatus(status) {
  const running = status.state === "running";
  runButton.disabled = running;
  progressBox.hidden = !running;
  job.querySelector("progress").value = status.progress;
  job.querySelector(".percent").textContent = `${Math.round(100 * status.progress)}%`;
  job.querySelector(".message").textContent = status.message;
  seqlab.showError(jobError, status.state === "failed" ? status.error : "");
  showOutputs(status.outputs);
  if (running) setTimeout(refresh, 500);
}

async function refresh() {
  try {
    showStatus(await seqlab.get(`${api}/status`));
  } catch (error) {
    seqlab.showError(jobError, error.message);
  }
}

runButton.addEventListener("click", async () => {
  try {
    showStatus(await seqlab.post(`${api}/run`, {}));
  } catch (error) {
    seqlab.showError(jobError, error.message);
  }
});

refresh();
