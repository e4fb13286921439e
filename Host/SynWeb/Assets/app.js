// The people's page: a customer's or provider's key in this browser, and what this node offers. Every action is
// a request signed with that key (sign.js).

import * as keys from "./identity.js";

const $ = (id) => document.getElementById(id);
let me = null;

function showMe() {
  $("me-new").hidden = me !== null;
  $("me-state").textContent = me ? `Your key: ${me.keyid}` : "This browser has no key of yours yet.";
}

async function start() {
  me = await keys.load("person");
  showMe();
  $("me-create").addEventListener("click", async () => {
    try {
      const made = await keys.create("person");
      me = made.identity;
      $("me-phrase-shown").textContent = made.phrase;
      $("me-download").href = URL.createObjectURL(new Blob([made.file], { type: "application/json" }));
      $("me-recovery").hidden = false;
      showMe();
    } catch (error) {
      $("me-error").textContent = "Cannot make a key in this browser: " + (error.message || error);
    }
  });
  $("me-restore").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("me-error").textContent = "";
    try {
      const file = $("me-file").files[0];
      const input = file ? new Uint8Array(await file.arrayBuffer()) : $("me-phrase").value;
      $("me-phrase").value = "";
      me = await keys.restore("person", input);
      showMe();
    } catch (error) {
      $("me-error").textContent = "Cannot use that key: " + (error.message || error);
    }
  });
  try {
    const list = await (await fetch("/v1/apps", { cache: "no-store" })).json();
    $("apps").replaceChildren(...list.apps.map((app) => {
      const item = document.createElement("li");
      item.textContent = `${app.name} (${app.state})`;
      item.dataset.testid = `app-${app.id}`;
      return item;
    }));
  } catch { /* the list is a convenience */ }
  // When the page became usable, in ms from the start of its navigation (the browser tests read it).
  document.body.dataset.ready = String(Math.round(performance.now()));
}

start();
