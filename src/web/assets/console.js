// Tocsin console: what JavaScript adds to pages that work without it. Under the message of a new
// alert, the characters, the SMS encoding and segments while typing (asked from the server, so
// the rules are the confirmation's); on an alert's page, its figures live (server-sent events).
"use strict";

function measureWhileTyping() {
  const form = document.getElementById("alert-form");
  const text = document.getElementById("text");
  const out = document.getElementById("text-compteur");
  if (!form || !text || !out) {
    return;
  }
  const csrf = form.querySelector('input[name="csrf"]').value;
  let timer = null;
  const measure = async () => {
    const body = new URLSearchParams({ csrf, text: text.value });
    const response = await fetch("/console/alerts/measure", { method: "POST", body });
    if (!response.ok) {
      return;
    }
    const m = await response.json();
    const encoding = m.encoding === "gsm7" ? "GSM-7" : "UCS-2";
    let line = `${m.characters} caractères · ${encoding} · ${m.segments} segment${m.segments > 1 ? "s" : ""} par SMS`;
    if (m.ucs2_characters.length > 0) {
      line += ` · passent en UCS-2 : ${m.ucs2_characters.join(" ")} (cochez « Rester en GSM-7 »)`;
    }
    out.textContent = line;
  };
  text.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(measure, 300);
  });
  if (text.value) {
    measure();
  }
}

function followLive() {
  const live = document.getElementById("live");
  if (!live || !window.EventSource) {
    return;
  }
  const status = live.dataset.status;
  if (status === "completed" || status === "cancelled") {
    return;
  }
  const group = (n) => n.toLocaleString("fr-FR");
  const events = new EventSource(`/console/alerts/${live.dataset.alert}/events`);
  events.addEventListener("progress", (event) => {
    const figures = JSON.parse(event.data);
    live.dataset.status = figures.status;
    document.getElementById("status").textContent = figures.label;
    const progress = document.getElementById("avancement");
    progress.value = figures.done_percent;
    progress.textContent = `${figures.done_percent} %`;
    document.getElementById("pace").textContent = figures.pace || "";
    for (const [channel, sent, delivered, failed, waiting] of figures.channels) {
      for (const [name, value] of [["sent", sent], ["delivered", delivered], ["failed", failed], ["waiting", waiting]]) {
        const cell = document.getElementById(`${channel}-${name}`);
        if (cell) {
          cell.textContent = group(value);
        }
      }
    }
    if (figures.status === "completed" || figures.status === "cancelled") {
      events.close();
    }
  });
}

measureWhileTyping();
followLive();
