// The pages a Space's or a store's managers run it from: its settings, its catalog (HomeServices) or products and
// stock (FoodMesh), and its weekly hours and exceptions. Loaded only when a manager opens them; every change is a
// call signed by the manager's key, which the app checks is a manager's.

import { signedFetch } from "./sign.js";
import { element } from "./ui.js";

const call = (me, app, method, body) => signedFetch(me, "POST", `/v1/apps/${app}/${method}`, body);
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** A labelled input; `attributes` go on the input. */
function field(id, label, value = "", attributes = {}) {
  const input = element(attributes.multiline ? "textarea" : "input", "", { id, "data-testid": id, ...attributes });
  input.removeAttribute("multiline");
  input.value = value ?? "";
  const wrap = element("div", "", { class: "field" });
  wrap.append(element("label", label, { for: id }), input);
  return { wrap, input };
}

/** A form that runs `save` on submit and says how it went. */
function form(title, testid, children, save) {
  const f = element("form", "", { "aria-label": title });
  const result = element("p", "", { role: "status", "data-testid": `${testid}-result` });
  f.append(element("h3", title), ...children, element("button", "Save", { type: "submit", "data-testid": `${testid}-save` }), result);
  f.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.textContent = "Saving…";
    try {
      result.textContent = (await save()) || "Saved.";
    } catch (e) {
      result.textContent = "Not saved: " + e.message;
    }
  });
  return f;
}

/** One span per weekday ("HH:MM"–"HH:MM", empty for closed), from and to a list of hours entries. */
function weekForm(prefix, weekly) {
  const rows = [];
  const fieldset = element("fieldset");
  fieldset.append(element("legend", "Weekly hours (leave a day empty to close it)"));
  for (const day of DAYS) {
    const span = weekly.find((h) => h.day === day);
    const start = field(`${prefix}-${day}-start`, `${day} opens`, span?.start ?? "", { placeholder: "09:00", inputmode: "numeric" });
    const end = field(`${prefix}-${day}-end`, `${day} closes`, span?.end ?? "", { placeholder: "17:00", inputmode: "numeric" });
    const row = element("div", "", { class: "day" });
    row.append(start.wrap, end.wrap);
    fieldset.append(row);
    rows.push({ day, start: start.input, end: end.input });
  }
  const read = () => rows.filter((r) => r.start.value && r.end.value).map((r) => ({ day: r.day, start: r.start.value.trim(), end: r.end.value.trim() }));
  return { fieldset, read };
}

/** A HomeServices Space's manager page. */
export async function manageSpace(root, id, me) {
  const space = await call(me, "homeservices", "spaces.get", { id });
  const catalog = await call(me, "homeservices", "catalog.list", { id });
  const rules = await call(me, "homeservices", "availability.get", { space_id: id });
  root.append(element("h2", `Run ${space.name}`), element("a", "Back to the Space", { href: `#/space/${encodeURIComponent(id)}` }));

  const name = field("space-name-edit", "Name", space.name);
  const description = field("space-description", "Description", space.description, { multiline: true });
  const terms = field("space-terms", "Terms", space.terms, { multiline: true });
  const free = field("space-free-hours", "Free cancellation until (hours before the start)", String(space.cancellation.free_until_hours), { type: "number", min: "0" });
  const fee = field("space-fee", "Fee after that (%)", String(space.cancellation.fee_percent), { type: "number", min: "0", max: "100" });
  root.append(form("Settings", "space-settings", [name.wrap, description.wrap, terms.wrap, free.wrap, fee.wrap], async () => {
    await call(me, "homeservices", "spaces.update", {
      id, name: name.input.value, description: description.input.value, terms: terms.input.value,
      cancellation: { free_until_hours: Number(free.input.value), fee_percent: Number(fee.input.value) },
    });
  }));

  const items = element("ul", "", { "data-testid": "catalog" });
  const drawItems = (list) => items.replaceChildren(...list.map((item) => {
    const li = element("li", `${item.title} (${item.kind}, ${item.duration_minutes} min) `);
    const remove = element("button", "Remove", { type: "button", "data-testid": `catalog-${item.id}-remove`, "aria-label": `Remove ${item.title}` });
    remove.addEventListener("click", async () => {
      await call(me, "homeservices", "catalog.remove", { space_id: id, id: item.id });
      drawItems((await call(me, "homeservices", "catalog.list", { id })).items);
    });
    li.append(remove);
    return li;
  }));
  drawItems(catalog.items);
  const title = field("item-title", "Service");
  const itemDescription = field("item-description", "Description");
  const duration = field("item-duration", "Minutes", "60", { type: "number", min: "5", max: "1440" });
  const amount = field("item-price", "Price (e.g. 85.00; empty: by quote)", "", { inputmode: "decimal" });
  const currency = field("item-currency", "Currency", "EUR", { maxlength: "3" });
  root.append(element("h3", "Catalog"), items, form("Add a service", "item", [title.wrap, itemDescription.wrap, duration.wrap, amount.wrap, currency.wrap], async () => {
    const priced = amount.input.value.trim() !== "";
    await call(me, "homeservices", "catalog.upsert", {
      space_id: id, title: title.input.value, description: itemDescription.input.value, kind: priced ? "slot" : "job",
      duration_minutes: Number(duration.input.value),
      price: priced ? { model: "fixed", amount: Math.round(Number(amount.input.value) * 100), currency: currency.input.value }
        : { model: "quote", currency: currency.input.value },
    });
    drawItems((await call(me, "homeservices", "catalog.list", { id })).items);
    return `Added ${title.input.value}.`;
  }));

  const week = weekForm("hours", rules.weekly ?? []);
  const exceptions = [...(rules.exceptions ?? [])];
  const exceptionList = element("ul", "", { "data-testid": "exceptions" });
  const drawExceptions = () => exceptionList.replaceChildren(...exceptions.map((x, i) => {
    const li = element("li", `${x.date}: ${x.hours?.length ? x.hours.map((h) => `${h.start}–${h.end}`).join(", ") : "closed"} `);
    const remove = element("button", "Remove", { type: "button", "aria-label": `Remove the exception on ${x.date}` });
    remove.addEventListener("click", () => { exceptions.splice(i, 1); drawExceptions(); });
    li.append(remove);
    return li;
  }));
  drawExceptions();
  const date = field("exception-date", "Exception: date", "", { type: "date" });
  const xStart = field("exception-start", "opens (empty: closed all day)", "", { placeholder: "10:00" });
  const xEnd = field("exception-end", "closes", "", { placeholder: "14:00" });
  const add = element("button", "Add the exception", { type: "button", "data-testid": "exception-add" });
  add.addEventListener("click", () => {
    if (!date.input.value) return;
    exceptions.push({ date: date.input.value, hours: xStart.input.value && xEnd.input.value ? [{ start: xStart.input.value, end: xEnd.input.value }] : [] });
    drawExceptions();
  });
  root.append(form(`Hours (${space.time_zone})`, "hours", [week.fieldset, exceptionList, date.wrap, xStart.wrap, xEnd.wrap, add], async () => {
    // What the page does not edit (breaks, buffer, notice, horizon, expiry) stays as it was.
    await call(me, "homeservices", "availability.set", { space_id: id, rules: { ...rules, weekly: week.read(), exceptions } });
  }));
}

/** A FoodMesh store's manager page. */
export async function manageStore(root, id, me) {
  const store = await call(me, "foodmesh", "stores.get", { id });
  root.append(element("h2", `Run ${store.name}`), element("a", "Back to the store", { href: `#/store/${encodeURIComponent(id)}` }));
  const name = field("store-name-edit", "Name", store.name);
  const description = field("store-description", "Description", store.description, { multiline: true });
  const terms = field("store-terms", "Terms", store.terms, { multiline: true });
  const hold = field("store-hold", "A quote holds stock for (minutes)", String(store.hold_minutes), { type: "number", min: "1", max: "120" });
  const week = weekForm("store-hours", store.hours ?? []);
  root.append(form("Settings and hours", "store-settings", [name.wrap, description.wrap, terms.wrap, hold.wrap, week.fieldset], async () => {
    await call(me, "foodmesh", "stores.update", {
      id, name: name.input.value, description: description.input.value, terms: terms.input.value,
      hold_minutes: Number(hold.input.value), hours: week.read(),
    });
  }));

  const list = element("ul", "", { "data-testid": "products" });
  async function drawProducts() {
    const products = (await call(me, "foodmesh", "products.list", { store_id: id })).products;
    list.replaceChildren(...products.map((p) => {
      const li = element("li", `${p.title}: ${p.stock === null || p.stock === undefined ? "unlimited" : `${p.stock} in stock, ${p.held} held`} `);
      const stock = element("input", "", { type: "number", min: "0", id: `stock-${p.id}`, "data-testid": `stock-${p.id}`, "aria-label": `New stock of ${p.title}` });
      const set = element("button", "Set stock", { type: "button", "data-testid": `stock-${p.id}-set` });
      set.addEventListener("click", async () => {
        try {
          await call(me, "foodmesh", "stock.set", { store_id: id, product_id: p.id, stock: Number(stock.value) });
          await drawProducts();
        } catch (e) {
          li.append(element("span", ` ${e.message}`, { class: "error", role: "alert" }));
        }
      });
      li.append(stock, set);
      return li;
    }));
  }
  await drawProducts();
  const title = field("product-title", "Product");
  const unit = field("product-unit", "Unit", "piece");
  const price = field("product-price", `Price (${store.currency}, e.g. 5.50)`, "", { inputmode: "decimal" });
  const count = field("product-stock", "Stock", "0", { type: "number", min: "0" });
  root.append(element("h3", "Products and stock"), list, form("Add a product", "product", [title.wrap, unit.wrap, price.wrap, count.wrap], async () => {
    await call(me, "foodmesh", "products.upsert", {
      store_id: id, title: title.input.value, description: "", unit: unit.input.value,
      price: Math.round(Number(price.input.value) * 100), stock: Number(count.input.value),
    });
    await drawProducts();
    return `Added ${title.input.value}.`;
  }));
}
