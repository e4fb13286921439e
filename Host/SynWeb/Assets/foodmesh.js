// FoodMesh in the browser (docs/foodmesh.md): a store's page with its terms and policy, a cart, a quote that holds
// the stock for a few minutes (with its countdown), placing the order, and following it; for a store's managers,
// its orders with the transitions the node says they may take now.

import { signedFetch } from "./sign.js";
import { element, liveOrders, publicCall } from "./ui.js";
import { reviewsSection } from "./homeservices.js";

const APP = "foodmesh";

const read = (method, body) => publicCall(APP, method, body);

const call = (me, method, body) => signedFetch(me, "POST", `/v1/apps/${APP}/${method}`, body);

export function cents(amount, currency) {
  return `${(amount / 100).toFixed(2)} ${currency}`;
}

/** The offset of `zone` from UTC at instant `ms`, in ms. */
function offset(ms, zone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second) - Math.floor(ms / 1000) * 1000;
}

/** The instant of local day `ymd` (Y, M, D) at "HH:MM" in `zone`. */
function instant(ymd, hhmm, zone) {
  const [h, m] = hhmm.split(":").map(Number);
  const guess = Date.UTC(ymd[0], ymd[1] - 1, ymd[2], h, m);
  return guess - offset(guess - offset(guess, zone), zone);
}

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** Pickup choices from the store's windows, today and tomorrow in its zone: up to an hour each, starting now at
 * the earliest (a quote's window starts now or later, lasts at most 4 h, and lies inside the store's windows). */
export function pickupChoices(store, now = Date.now()) {
  const choices = [];
  for (let d = 0; d < 2; d++) {
    const local = new Date(now + offset(now, store.time_zone) + d * 86_400_000);
    const ymd = [local.getUTCFullYear(), local.getUTCMonth() + 1, local.getUTCDate()];
    for (const w of (store.pickup_windows ?? []).filter((w) => w.day === DAYS[local.getUTCDay()])) {
      const start = instant(ymd, w.start, store.time_zone);
      const end = w.end === "24:00" ? instant(ymd, "00:00", store.time_zone) + 86_400_000 : instant(ymd, w.end, store.time_zone);
      const from = Math.max(start, now + 60_000);
      if (end - from < 5 * 60_000) continue;
      const until = Math.min(end, from + 3_600_000);
      const clock = new Intl.DateTimeFormat("en-GB", { timeZone: store.time_zone, hour: "2-digit", minute: "2-digit" });
      const label = `${d === 0 ? "Today" : "Tomorrow"} ${clock.format(from)}–${clock.format(until)}`;
      choices.push({ from, until, label });
    }
  }
  return choices;
}

/** A store: its terms and policy, its products with a cart, and the quote and its hold. */
export async function storeView(root, id, me, go) {
  const store = await read("stores.get", { id });
  const products = await read("products.list", { store_id: id });
  root.append(element("h2", store.name, { "data-testid": "store-name" }),
    element("p", `${store.kind} in ${store.location.city}, ${store.open_now ? "open now" : "closed now"}. Times are in ${store.time_zone}.`, { class: "muted" }),
    element("p", store.description));
  const terms = element("details");
  terms.append(element("summary", "Terms and policy"), element("p", store.terms || "No terms given."),
    element("p", `Cancelling is free until the store accepts; after that it keeps ${store.policy.cancel_fee_percent}%. `
      + `A quote holds the stock for ${store.hold_minutes} minutes.`, { "data-testid": "store-policy" }));
  root.append(terms);
  if (me() && store.managers.includes(me().keyid)) {
    const links = element("p");
    links.append(element("a", "Orders for this store", { href: `#/store/${encodeURIComponent(id)}/orders`, "data-testid": "store-orders-link" }), element("span", " · "),
      element("a", "Run this store: settings, hours, products and stock", { href: `#/store/${encodeURIComponent(id)}/manage`, "data-testid": "store-manage-link" }));
    root.append(links);
  }
  const cart = new Map();
  const list = element("ul", "", { class: "items" });
  for (const product of products.products ?? products.items ?? []) {
    const entry = element("li", "", { "data-testid": `product-${product.id}` });
    const available = product.available === null || product.available === undefined ? "" : `, ${product.available} left`;
    entry.append(element("strong", product.title), element("span", ` — ${cents(product.price, store.currency)} a ${product.unit}${available}`, { class: "muted" }));
    const label = element("label", `Quantity (${product.unit})`, { for: `qty-${product.id}` });
    const quantity = element("input", "", { id: `qty-${product.id}`, type: "number", min: "0", max: "1000", value: "0", "data-testid": `qty-${product.id}` });
    quantity.addEventListener("change", () => {
      const n = Math.max(0, Math.min(1000, Math.floor(Number(quantity.value) || 0)));
      if (n > 0) cart.set(product.id, n); else cart.delete(product.id);
    });
    entry.append(label, quantity);
    list.append(entry);
  }
  root.append(element("h3", "Products"), list);
  const how = element("select", "", { id: "fulfilment", "data-testid": "fulfilment" });
  how.append(element("option", "Pick it up", { value: "pickup" }));
  if ((store.delivery_zones ?? []).length > 0) how.append(element("option", "Have it delivered", { value: "delivery" }));
  const when = element("select", "", { id: "pickup-when", "data-testid": "pickup-when" });
  const choices = pickupChoices(store);
  choices.forEach((c, i) => when.append(element("option", c.label, { value: String(i) })));
  const address = element("input", "", { id: "delivery-address", autocomplete: "street-address", "data-testid": "delivery-address" });
  const postcode = element("input", "", { id: "delivery-postcode", autocomplete: "postal-code", "data-testid": "delivery-postcode" });
  const pickupPart = element("div");
  pickupPart.append(element("label", "Pick up", { for: "pickup-when" }), when);
  const deliveryPart = element("div", "", { hidden: "" });
  deliveryPart.append(element("label", "Address", { for: "delivery-address" }), address, element("label", "Postcode", { for: "delivery-postcode" }), postcode,
    element("p", `Zones: ${(store.delivery_zones ?? []).map((z) => `${z.name} (${cents(z.fee, store.currency)}, from ${cents(z.min_order, store.currency)})`).join("; ")}`, { class: "muted" }));
  how.addEventListener("change", () => {
    pickupPart.hidden = how.value !== "pickup";
    deliveryPart.hidden = how.value !== "delivery";
  });
  const quoteButton = element("button", "Get a quote", { type: "button", "data-testid": "quote" });
  const panel = element("div", "", { "aria-live": "polite" });
  const error = element("p", "", { class: "error", role: "alert" });
  quoteButton.addEventListener("click", async () => {
    error.textContent = "";
    if (!me()) { error.textContent = "Make your key first (above): the quote is signed with it."; return; }
    if (cart.size === 0) { error.textContent = "Choose how many of something first."; return; }
    let fulfilment;
    if (how.value === "delivery") {
      if (!address.value.trim()) { error.textContent = "Give the address to deliver to."; return; }
      fulfilment = { type: "delivery", address: address.value.trim() };
      if (postcode.value.trim()) fulfilment.postcode = postcode.value.trim();
      try {
        const position = await new Promise((resolve, reject) => navigator.geolocation.getCurrentPosition(resolve, reject, { timeout: 5000 }));
        fulfilment.point = { lat: position.coords.latitude, lon: position.coords.longitude };
      } catch {
        // The store places a delivery by where it goes: the browser must say.
        error.textContent = "A delivery needs where you are: let this page use your location, then get the quote again.";
        return;
      }
    } else {
      const choice = choices[Number(when.value)];
      if (!choice) { error.textContent = "The store has no pickup window today or tomorrow."; return; }
      fulfilment = { type: "pickup", from_ms: choice.from, until_ms: choice.until };
    }
    quoteButton.disabled = true;
    try {
      const quote = await call(me(), "orders.quote", {
        store_id: id, items: [...cart].map(([product_id, quantity]) => ({ product_id, quantity })), fulfilment,
      });
      showQuote(panel, quote, me, go, fulfilment.type);
    } catch (e) {
      error.textContent = "No quote: " + e.message;
    } finally {
      quoteButton.disabled = false;
    }
  });
  root.append(element("label", "How", { for: "fulfilment" }), how, pickupPart, deliveryPart, quoteButton, error, panel);
  await reviewsSection(root, id, APP, read);
}

/** The quote: its lines and total, the policy, and the hold counting down; placing it makes the order. */
function showQuote(root, quote, me, go, type) {
  const lines = element("ul");
  for (const l of quote.lines) lines.append(element("li", `${l.quantity} × ${l.title}: ${cents(l.amount, quote.currency)}`));
  const timer = element("p", "", { role: "timer", "data-testid": "hold-countdown" });
  const tick = () => {
    const left = Math.max(0, Math.round((quote.expires_ms - Date.now()) / 1000));
    timer.textContent = left > 0 ? `Held for you for ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} more.` : "The hold has ended: get a new quote.";
    if (left === 0) { clearInterval(interval); place.disabled = true; }
  };
  const interval = setInterval(tick, 1000);
  const method = type === "delivery" ? "pay_on_delivery" : "cash_on_pickup";
  const place = element("button", type === "delivery" ? "Place the order (pay on delivery)" : "Place the order (pay on pickup)",
    { type: "button", "data-testid": "place" });
  const error = element("p", "", { class: "error", role: "alert" });
  place.addEventListener("click", async () => {
    place.disabled = true;
    try {
      await call(me(), "orders.place", { quote_id: quote.id, payment_method: method });
      clearInterval(interval);
      go("#/orders");
    } catch (e) {
      error.textContent = "Not placed: " + e.message;
      place.disabled = false;
    }
  });
  const fee = quote.delivery_fee ? element("p", `Delivery ${cents(quote.delivery_fee, quote.currency)}`) : element("span");
  root.replaceChildren(element("h3", "Your quote"), lines, fee,
    element("p", `Total ${cents(quote.total, quote.currency)}`, { "data-testid": "quote-total" }), timer, place, error);
  tick();
}

/** Orders, as the customer (`role` "customer") or as a store's manager (`role` "store", with `storeID`), each with
 * the transitions the node says the caller may take now. */
export function foodOrdersView(root, me, role, storeID = null) {
  return liveOrders(root, me, {
    app: APP, prefix: "food-order", testid: `food-orders-${role}`, title: role === "store" ? "The store's orders" : "Food orders",
    load: async () => {
      const answer = await call(me(), "orders.list", role === "store" ? { role, store_id: storeID } : { role });
      return Array.isArray(answer) ? answer : answer.orders ?? [];
    },
    describe: (order) => [element("span", `${order.lines.map((l) => `${l.quantity} × ${l.title}`).join(", ")}: ${cents(order.total, order.currency)} — `)],
    actions: (order) => order.allowed ?? [],
  });
}

/** Food search hits (`search`, over products) for the Find page. */
export async function searchFood(query) {
  const body = { limit: 20 };
  for (const key of ["q", "near", "open_now", "in_stock"]) if (query[key] !== undefined) body[key] = query[key];
  return (await read("search", body)).hits;
}

/** One product hit, as a list item linking to its store. */
export function foodHit(hit) {
  const item = element("li");
  const left = hit.available === null || hit.available === undefined ? "" : `, ${hit.available} left`;
  item.append(element("a", `${hit.title} at ${hit.store_name}`, { href: `#/store/${encodeURIComponent(hit.store_id)}`, "data-testid": `store-${hit.store_id}` }),
    element("span", ` — ${cents(hit.price, hit.currency)} a ${hit.unit}${left}` + (hit.distance_km !== undefined ? `, ${hit.distance_km.toFixed(1)} km` : ""), { class: "muted" }));
  return item;
}
