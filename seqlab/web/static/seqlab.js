"use strict";
// What every page shares: JSON requests to this server, error messages, waiting.

const seqlab = {
  // POST `data` as JSON; the answer's JSON, or an Error with the server's one-line reason.
  async post(url, data, signal) {
    return seqlab.answer(fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(data),
      signal,
    }));
  },

  async get(url) {
    return seqlab.answer(fetch(url));
  },

  async answer(pending) {
    let response;
    try {
      response = await pending;
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new Error("the server cannot be reached: is seqlab serve still running?");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      // not JSON: the status says enough
    }
    if (!response.ok) {
      throw new Error((body && body.error) || `the server answered ${response.status}`);
    }
    return body;
  },

  // A form's filled-in fields as an object of strings (empty ones left out: the server's defaults).
  fields(form) {
    const values = {};
    for (const [name, value] of new FormData(form)) {
      if (String(value).trim() !== "") values[name] = String(value);
    }
    return values;
  },

  // Show `message` in `element` (an empty message hides it).
  showError(element, message) {
    element.textContent = message || "";
    element.hidden = !message;
  },

  // Run `work` with `button` disabled, showing `error` on failure.
  async busy(button, errorElement, work) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    seqlab.showError(errorElement, "");
    try {
      await work();
    } catch (error) {
      if (error.name !== "AbortError") seqlab.showError(errorElement, error.message);
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  },

  // `fn` called once typing pauses for `ms` milliseconds.
  debounce(fn, ms) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  },

  percent(probability) {
    return `${(100 * probability).toFixed(2)}%`;
  },

  // A link to a file of this server, downloaded under its own name.
  download(url, label) {
    const link = document.createElement("a");
    link.href = url;
    link.textContent = label;
    link.setAttribute("download", url.split("/").pop());
    return link;
  },

  // SVG text from this server as an element: parsed as SVG (never as HTML), scripts dropped.
  svg(text) {
    const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
    const root = parsed.documentElement;
    if (root.nodeName !== "svg") return null;
    for (const script of root.querySelectorAll("script, foreignObject")) script.remove();
    return document.importNode(root, true);
  },
};
