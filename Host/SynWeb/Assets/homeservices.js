// HomeServices in the browser (docs/homeservices.md): find a Space, read its terms and policy, book a slot in the
// Space's time zone after seeing what cancelling would cost, follow one's orders; and, for a Space's managers,
// the incoming orders with the actions their state allows. Reads are public calls; the rest are signed.

import { signedFetch, inAppDomain } from "./sign.js";
import { element, liveOrders, publicCall } from "./ui.js";

function fromHex(hex) {
  if (!/^([0-9a-f]{2})*$/.test(hex)) throw new Error("not hex");
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
}

let appKeys = null;

/** The app's public key (hex) as the node lists it (`GET /v1/apps`), fetched once. */
async function appKey(app) {
  appKeys ??= fetch("/v1/apps", { cache: "no-store" }).then((r) => r.json())
    .then((list) => Object.fromEntries(list.apps.map((a) => [a.id, a.key])));
  return (await appKeys)[app] ?? null;
}

/**
 * Whether a review's receipt was signed by the app's key (docs/homeservices.md, Signed receipts): ed25519 over the
 * app's signature domain and the exact signed bytes, checked here in the browser. Returns the signed receipt (the
 * one to show: never the unsigned copy beside it), or null.
 */
export async function verifiedReceipt(review, app = "homeservices") {
  try {
    // The key must be the one the node holds for the app, not whatever the app's answer says.
    if (review.app_key !== (await appKey(app))) return null;
    const signed = Uint8Array.from(atob(review.signed_json), (c) => c.charCodeAt(0));
    const message = inAppDomain(app, signed);
    const key = await crypto.subtle.importKey("raw", fromHex(review.app_key), { name: "Ed25519" }, false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, fromHex(review.signature), message);
    return ok ? JSON.parse(new TextDecoder().decode(signed)) : null;
  } catch {
    return null;
  }
}

const APP = "homeservices";

const read = (method, body) => publicCall(APP, method, body);

const call = (me, method, body) => signedFetch(me, "POST", `/v1/apps/${APP}/${method}`, body);

export function money(price) {
  if (!price || price.model === "quote") return "priced by quote";
  const amount = (price.amount / 100).toFixed(2) + " " + price.currency;
  return price.model === "hourly" ? amount + " an hour" : amount;
}

function policyText(policy) {
  if (!policy) return "";
  if (policy.fee_percent === 0) return "Free cancellation at any time.";
  return `Free cancellation until ${policy.free_until_hours} h before the start; after that, a ${policy.fee_percent}% fee.`;
}

/** What cancelling would cost, before booking: the item's policy applied to this slot and price. */
export function cancellationPreview(policy, price, slot) {
  const freeUntil = slot.start_ms - policy.free_until_hours * 3_600_000;
  const minutes = (slot.end_ms - slot.start_ms) / 60_000;
  const base = !price || price.model === "quote" ? 0 : price.model === "hourly" ? Math.floor((price.amount * minutes) / 60) : price.amount;
  const fee = Math.floor((base * policy.fee_percent) / 100);
  if (fee === 0) return "Cancelling this booking is free.";
  const when = new Date(freeUntil).toISOString().slice(0, 16).replace("T", " ");
  return `Cancelling is free until it is confirmed and until ${when} UTC; after that it costs ${(fee / 100).toFixed(2)} ${price.currency}.`;
}

/** HomeServices search hits (`search`), for the Find page. */
export async function searchSpaces(query) {
  const { q, city, near, rating_min, limit } = query;
  return (await read("search", Object.fromEntries(Object.entries({ q, city, near, rating_min, limit }).filter(([, v]) => v !== undefined)))).hits;
}

/** One Space hit, as a list item linking to its page. */
export function spaceHit(hit) {
  const item = element("li");
  const link = element("a", hit.name, { href: `#/space/${encodeURIComponent(hit.space_id)}`, "data-testid": `space-${hit.space_id}` });
  const details = [hit.trade, hit.city, hit.distance_km !== undefined ? `${hit.distance_km.toFixed(1)} km` : "", `rating ${hit.rating ?? "none yet"}`];
  item.append(link, element("span", " — " + details.filter(Boolean).join(", "), { class: "muted" }));
  return item;
}

/** The search form over several apps: each `source` is { title, search(query) → hits, render(hit) → li, id }. */
export async function searchView(root, sources) {
  const form = element("form", "", { role: "search", "aria-label": "Find a service or food" });
  const fields = [["q", "What do you need?", "text"], ["city", "City", "text"], ["km", "Within (km) of where you are", "number"]];
  for (const [name, label, type] of fields) {
    const id = `search-${name}`;
    form.append(element("label", label, { for: id }), element("input", "", { id, name, type, "data-testid": id }));
  }
  const rating = element("select", "", { id: "search-rating", name: "rating", "data-testid": "search-rating" });
  for (const [value, label] of [["", "any"], ["3", "3 or more"], ["4", "4 or more"], ["4.5", "4.5 or more"]]) rating.append(element("option", label, { value }));
  form.append(element("label", "Rating", { for: "search-rating" }), rating);
  for (const [name, label] of [["open_now", "Open now (food)"], ["in_stock", "In stock (food)"]]) {
    const box = element("input", "", { id: `search-${name}`, name, type: "checkbox", "data-testid": `search-${name}` });
    const wrap = element("label", "", { for: `search-${name}`, class: "check" });
    wrap.append(box, element("span", ` ${label}`));
    form.append(wrap);
  }
  form.append(element("button", "Search", { type: "submit", "data-testid": "search-go" }));
  const status = element("p", "", { role: "status" });
  const lists = sources.map((source) => ({ source, list: element("ul", "", { "data-testid": `search-${source.id}` }) }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const query = { limit: 20 };
    if (data.get("q")) query.q = String(data.get("q"));
    if (data.get("city")) query.city = String(data.get("city"));
    if (data.get("rating")) query.rating_min = Number(data.get("rating"));
    if (data.get("open_now")) query.open_now = true;
    if (data.get("in_stock")) query.in_stock = true;
    const km = Number(data.get("km"));
    try {
      if (km > 0) {
        const position = await new Promise((resolve, reject) => navigator.geolocation.getCurrentPosition(resolve, reject, { timeout: 5000 }));
        query.near = { lat: position.coords.latitude, lon: position.coords.longitude, km };
      }
      const found = await Promise.all(lists.map(({ source }) => source.search(query).catch(() => [])));
      lists.forEach(({ source, list }, i) => list.replaceChildren(...found[i].map(source.render)));
      status.textContent = lists.map(({ source }, i) => `${found[i].length} ${source.title.toLowerCase()}`).join(", ") + " found";
    } catch (error) {
      status.textContent = "Search failed: " + (error.message || error);
    }
  });
  root.append(element("h2", "Find"), form, status);
  for (const { source, list } of lists) root.append(element("h3", source.title), list);
}

/** A Space: its description, terms and policy, its catalog, and booking through the slot picker. */
export async function spaceView(root, id, me, go) {
  const space = await read("spaces.get", { id });
  const catalog = await read("catalog.list", { id });
  root.append(element("h2", space.name, { "data-testid": "space-name" }),
    element("p", `${space.trade} in ${space.location.city}. Times are in ${space.time_zone}.`, { class: "muted" }),
    element("p", space.description));
  const terms = element("details");
  terms.append(element("summary", "Terms and cancellation policy"), element("p", space.terms || "No terms given."),
    element("p", policyText(space.cancellation), { "data-testid": "space-policy" }));
  if (me() && space.managers.includes(me().keyid)) {
    root.append(element("a", "Run this Space: settings, catalog, hours", { href: `#/space/${encodeURIComponent(id)}/manage`, "data-testid": "space-manage-link" }));
  }
  root.append(terms, element("h3", "Services"));
  const list = element("ul", "", { class: "items" });
  for (const item of catalog.items) {
    const entry = element("li", "", { "data-testid": `item-${item.id}` });
    entry.append(element("strong", item.title), element("span", ` — ${money(item.price)}, ${item.duration_minutes} min`, { class: "muted" }),
      element("p", item.description));
    if (item.kind === "slot") {
      const open = element("button", "Choose a time", { type: "button", "data-testid": `item-${item.id}-book` });
      const picker = element("div", "", { class: "picker" });
      open.addEventListener("click", () => slotPicker(picker, space, item, me, go));
      entry.append(open, picker);
    } else {
      entry.append(jobForm(space, item, me, go));
    }
    list.append(entry);
  }
  root.append(list);
  await reviewsSection(root, space.id, APP, read);
}

/** A Space's or store's published reviews (`app`'s `reviews.list`, read by `read`), each marked verified when its
 * signed receipt checks in this browser. */
export async function reviewsSection(root, id, app, read) {
  const answer = await read("reviews.list", { id });
  const list = element("ul", "", { "data-testid": "reviews" });
  for (const review of answer.reviews) {
    const signed = await verifiedReceipt(review, app);
    // A receipt counts here only if it is about this Space or store, with a rating of 1 to 5.
    const receipt = signed && signed.space === id && Number.isInteger(signed.rating) && signed.rating >= 1 && signed.rating <= 5 ? signed : null;
    const item = element("li", "", { "data-testid": `review-${String(review.receipt?.order_id ?? "")}` });
    if (receipt) {
      item.append(element("strong", `${"★".repeat(receipt.rating)}${"☆".repeat(5 - receipt.rating)} `, { "aria-label": `${receipt.rating} of 5` }),
        element("span", receipt.text || "(no words)"),
        element("span", " ✓ verified", { class: "verified", "data-testid": `review-${review.receipt.order_id}-verified`,
          title: `Its receipt is signed by this node's ${app} key, checked in your browser` }));
    } else {
      item.append(element("span", "A review whose receipt does not verify (not shown).", { class: "error" }));
    }
    list.append(item);
  }
  root.append(element("h3", "Reviews"), answer.reviews.length ? list : element("p", "No reviews yet."));
}

/** The free slots of `item` over the next week, by local day in the Space's zone; choosing one shows the cost of
 * cancelling, then the booking is confirmed. */
async function slotPicker(root, space, item, me, go) {
  root.replaceChildren(element("p", "Looking for free times…", { role: "status" }));
  const answer = await read("slots.list", { space_id: space.id, item_id: item.id, days: 7 });
  if (answer.slots.length === 0) {
    root.replaceChildren(element("p", "No free times in the next 7 days."));
    return;
  }
  const days = new Map();
  for (const slot of answer.slots) {
    const day = slot.local.slice(0, 10);
    if (!days.has(day)) days.set(day, []);
    days.get(day).push(slot);
  }
  const group = element("fieldset");
  group.append(element("legend", `Free times (${answer.time_zone})`));
  const confirm = element("div", "", { "aria-live": "polite" });
  for (const [day, slots] of days) {
    const row = element("div", "", { class: "day" });
    row.append(element("span", day + " ", { class: "muted" }));
    for (const slot of slots) {
      const button = element("button", slot.local.slice(11, 16), { type: "button", "data-testid": `slot-${slot.start_ms}`,
        "aria-label": `${day} at ${slot.local.slice(11, 16)}` });
      button.addEventListener("click", () => confirmBooking(confirm, space, item, slot, me, go));
      row.append(button);
    }
    group.append(row);
  }
  root.replaceChildren(group, confirm);
}

function confirmBooking(root, space, item, slot, me, go) {
  const policy = item.cancellation ?? space.cancellation;
  const note = element("input", "", { id: "booking-note", "data-testid": "booking-note" });
  const book = element("button", "Confirm the booking", { type: "button", "data-testid": "booking-confirm" });
  const error = element("p", "", { class: "error", role: "alert" });
  book.addEventListener("click", async () => {
    if (!me()) {
      error.textContent = "Make your key first (above): the booking is signed with it.";
      return;
    }
    book.disabled = true;
    try {
      const body = { space_id: space.id, item_id: item.id, start_ms: slot.start_ms };
      if (note.value) body.note = note.value;
      await call(me(), "bookings.request", body);
      go("#/orders");
    } catch (e) {
      error.textContent = "The booking failed: " + e.message;
      book.disabled = false;
    }
  });
  root.replaceChildren(element("h4", `${item.title}, ${slot.local.replace("T", " at ")}`),
    element("p", `${money(item.price)}. ${policyText(policy)}`),
    element("p", cancellationPreview(policy, item.price, slot), { "data-testid": "cancel-preview" }),
    element("label", "A note for the provider (optional)", { for: "booking-note" }), note, book, error);
}

/** Asking for a quote on a job item: what is needed, and between which days. */
function jobForm(space, item, me, go) {
  const form = element("form", "", { "aria-label": `Ask ${space.name} for a quote` });
  const what = element("input", "", { id: `job-${item.id}-what`, "data-testid": `job-${item.id}-what` });
  const from = element("input", "", { id: `job-${item.id}-from`, type: "date", "data-testid": `job-${item.id}-from` });
  const to = element("input", "", { id: `job-${item.id}-to`, type: "date", "data-testid": `job-${item.id}-to` });
  const error = element("p", "", { class: "error", role: "alert" });
  form.append(element("label", "What needs doing", { for: `job-${item.id}-what` }), what,
    element("label", "From", { for: `job-${item.id}-from` }), from, element("label", "Until", { for: `job-${item.id}-to` }), to,
    element("button", "Ask for a quote", { type: "submit", "data-testid": `job-${item.id}-ask` }), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!me()) { error.textContent = "Make your key first (above): the request is signed with it."; return; }
    const fromMs = from.value ? Date.parse(from.value) : Date.now();
    const toMs = to.value ? Date.parse(to.value) + 86_400_000 : fromMs + 7 * 86_400_000;
    try {
      await call(me(), "jobs.request", { space_id: space.id, item_id: item.id, description: what.value, window: { from_ms: fromMs, to_ms: toMs } });
      go("#/orders");
    } catch (e) {
      error.textContent = "Not sent: " + e.message;
    }
  });
  return form;
}

/** Jobs: the consumer's, with the quotes they may accept; or a provider's open jobs, each with a form to quote. */
export async function jobsView(root, me, role, go) {
  const list = element("ul", "", { "data-testid": `jobs-${role}` });
  const error = element("p", "", { class: "error", role: "alert" });
  root.append(element("h2", role === "provider" ? "Jobs waiting for a quote" : "My requests for quotes"), error, list);
  if (!me()) return;
  async function draw() {
    const jobs = await call(me(), "jobs.list", { role });
    list.replaceChildren(...jobs.map((job) => {
      const item = element("li", "", { "data-testid": `job-${job.id}` });
      item.append(element("span", `${job.description} — ${job.state}`));
      for (const quote of job.quotes ?? []) {
        const line = element("p", `Quote: ${money({ model: "fixed", amount: quote.amount, currency: quote.currency })}, ${quote.state}`
          + (quote.note ? ` (${quote.note})` : ""), { "data-testid": `quote-${quote.id}` });
        if (role === "consumer" && quote.state === "offered") {
          const accept = element("button", "Accept", { type: "button", "data-testid": `quote-${quote.id}-accept` });
          accept.addEventListener("click", async () => {
            try {
              await call(me(), "quotes.accept", { quote_id: quote.id });
              go("#/orders");
            } catch (e) { error.textContent = "Not accepted: " + e.message; }
          });
          line.append(accept);
        }
        item.append(line);
      }
      if (role === "provider") {
        const form = element("form", "", { "aria-label": "Quote this job" });
        const amount = element("input", "", { id: `quote-${job.id}-amount`, inputmode: "decimal", "data-testid": `job-${job.id}-amount` });
        const currency = element("input", "", { id: `quote-${job.id}-currency`, maxlength: "3", "data-testid": `job-${job.id}-currency` });
        currency.value = "EUR";
        form.append(element("label", "Price", { for: `quote-${job.id}-amount` }), amount, element("label", "Currency", { for: `quote-${job.id}-currency` }), currency,
          element("button", "Send the quote", { type: "submit", "data-testid": `job-${job.id}-quote` }));
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          try {
            await call(me(), "quotes.create", { job_id: job.id, amount: Math.round(Number(amount.value) * 100), currency: currency.value, valid_for_hours: 48 });
            await draw();
          } catch (e) { error.textContent = "Not sent: " + e.message; }
        });
        item.append(form);
      }
      return item;
    }));
  }
  try { await draw(); } catch (e) { error.textContent = "Cannot read the jobs: " + e.message; }
}

/** The actions a party may take on an order in its state (docs/homeservices.md, The order workflow). */
const ACTIONS = {
  provider: { requested: ["confirm", "decline", "cancel"], confirmed: ["start", "cancel"], in_progress: ["complete"] },
  consumer: { requested: ["cancel"], confirmed: ["cancel"] },
};

/** The caller's orders as consumer or provider, with the actions their state allows. */
export function ordersView(root, me, role) {
  return liveOrders(root, me, {
    app: APP, prefix: "order", testid: `orders-${role}`, title: role === "provider" ? "Incoming orders" : "My orders",
    load: () => call(me(), "orders.list", { role }),
    describe: (order) => [element("span", `${new Date(order.start_ms).toISOString().slice(0, 16).replace("T", " ")} UTC, ${money(order.price)} — `)],
    actions: (order) => ACTIONS[role][order.state] ?? [],
  });
}
