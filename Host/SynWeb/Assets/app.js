// The people's page: a customer's or provider's key in this browser, and the apps' pages, one view at a time
// (`#/`, `#/space/<id>[/manage]`, `#/store/<id>[/orders|/manage]`, `#/orders`, `#/provider`, `#/chat[/<id>]`,
// `#/key`). Every action is a request signed with that key.

import * as keys from "./identity.js";
import { element } from "./ui.js";
import { searchView, searchSpaces, spaceHit, spaceView, ordersView, jobsView } from "./homeservices.js";
import { storeView, foodOrdersView, searchFood, foodHit } from "./foodmesh.js";

/** What the Find page searches. */
const SOURCES = [
  { id: "services", title: "Services", search: searchSpaces, render: spaceHit },
  { id: "food", title: "Food", search: searchFood, render: foodHit },
];

const $ = (id) => document.getElementById(id);
let me = null;
let leave = () => {};

function showMe() {
  $("me-new").hidden = me !== null;
  $("me-state").textContent = me ? `Your key: ${me.keyid}` : "This browser has no key of yours yet: make one, or bring yours from another device.";
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  leave();
  leave = () => {};
  const view = $("view");
  view.replaceChildren();
  const [, page, id, sub] = (location.hash || "#/").split("/");
  // The key panel is the page of its own when asked for, and always there until there is a key.
  $("me").hidden = !(page === "key" || me === null);
  try {
    if ((page === "space" || page === "store") && id && sub === "manage") {
      if (!me) throw new Error("make or bring your key first: a manager's changes are signed with it");
      // Loaded when a manager opens it.
      const manage = await import("./manage.js");
      await (page === "space" ? manage.manageSpace : manage.manageStore)(view, decodeURIComponent(id), me);
    } else if (page === "space" && id) await spaceView(view, decodeURIComponent(id), () => me, go);
    else if (page === "store" && id && sub === "orders") leave = await foodOrdersView(view, () => me, "store", decodeURIComponent(id));
    else if (page === "store" && id) await storeView(view, decodeURIComponent(id), () => me, go);
    else if (page === "orders") {
      const services = await ordersView(view, () => me, "consumer");
      const food = await foodOrdersView(view, () => me, "customer");
      await jobsView(view, () => me, "consumer", go);
      leave = () => { services(); food(); };
    } else if (page === "provider") {
      leave = await ordersView(view, () => me, "provider");
      await jobsView(view, () => me, "provider", go);
    }
    else if (page === "chat") {
      // Loaded when first asked for: the first page stays small.
      const { chatView } = await import("./chat.js");
      leave = await chatView(view, () => me, id);
    }
    else if (page !== "key") await searchView(view, SOURCES);
  } catch (error) {
    view.append(element("p", "This page cannot be shown: " + (error.message || error), { class: "error", role: "alert" }));
  }
  view.dataset.page = page || "find";
}

async function start() {
  me = await keys.load("person");
  showMe();
  $("me-create").addEventListener("click", async () => {
    try {
      const made = await keys.create("person");
      me = made.identity;
      $("me-phrase-shown").textContent = made.phrase;
      const url = URL.createObjectURL(new Blob([made.file], { type: "application/json" }));
      $("me-download").href = url;
      $("me-recovery").hidden = false;
      // Once saved, the phrase and the file leave the page.
      $("me-saved").onclick = () => {
        $("me-phrase-shown").textContent = "";
        $("me-download").removeAttribute("href");
        URL.revokeObjectURL(url);
        $("me-recovery").hidden = true;
      };
      showMe();
    } catch (error) {
      $("me-error").textContent = "Cannot make a key in this browser: " + (error.message || error);
    }
  });
  $("me-restore").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("me-error").textContent = "";
    try {
      me = await keys.restoreFrom("person", $("me-file"), $("me-phrase"));
      showMe();
    } catch (error) {
      $("me-error").textContent = "Cannot use that key: " + (error.message || error);
    }
  });
  window.addEventListener("hashchange", route);
  await route();
  // When the page became usable, in ms from the start of its navigation (the browser tests read it).
  document.body.dataset.ready = String(Math.round(performance.now()));
}

start();
