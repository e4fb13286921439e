// What every page draws with: elements built from text (never HTML from the node or an app), lists redrawn only on
// change, and the live list of a person's orders with their actions, review forms and threads.

import { signedFetch } from "./sign.js";

/** An element with text and attributes; never HTML from the node or an app. */
export function element(tag, text = "", attributes = {}) {
  const e = document.createElement(tag);
  if (text) e.textContent = text;
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
  return e;
}

/** An unsigned call of one of `app`'s public methods; throws the node's or the app's message on an error. */
export async function publicCall(app, method, body) {
  const response = await fetch(`/v1/apps/${app}/${method}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), cache: "no-store",
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error ? answer.error.message : `HTTP ${response.status}`);
  return answer;
}

/** Redraws `list` with `draw()` only when `data` changed since `state.last`, keeping keyboard focus on the element
 * with the same test id (a list refreshed every few seconds must not take the focus away). */
export function redraw(list, state, data, draw) {
  const text = JSON.stringify(data);
  if (text === state.last) return;
  state.last = text;
  const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
  list.replaceChildren(...draw());
  if (focused) list.querySelector(`[data-testid="${CSS.escape(focused)}"]`)?.focus();
}

/** A form to review a completed order of `app`: the customer reviews the Space or store, a manager the customer. */
export function reviewForm(me, order, done, app, prefix) {
  const form = element("form", "", { "aria-label": "Review this order" });
  const rating = element("select", "", { id: `rating-${order.id}`, "data-testid": `${prefix}-${order.id}-rating` });
  for (const n of [5, 4, 3, 2, 1]) rating.append(element("option", `${n} of 5`, { value: String(n) }));
  const words = element("input", "", { id: `review-${order.id}`, "data-testid": `${prefix}-${order.id}-review-text` });
  form.append(element("label", "Rating", { for: `rating-${order.id}` }), rating,
    element("label", "Your review", { for: `review-${order.id}` }), words,
    element("button", "Publish the review", { type: "submit", "data-testid": `${prefix}-${order.id}-review` }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await signedFetch(me(), "POST", `/v1/apps/${app}/reviews.create`, { order_id: order.id, rating: Number(rating.value), text: words.value });
      form.replaceChildren(element("span", "Reviewed: it is published once both sides have reviewed, or when the window closes.",
        { "data-testid": `${prefix}-${order.id}-reviewed` }));
      done();
    } catch (e) {
      form.append(element("span", ` ${e.message}`, { class: "error", role: "alert" }));
    }
  });
  return form;
}

/**
 * A person's orders of `spec.app`, refreshed every two seconds while shown: each with what `spec.describe` draws,
 * a link to its thread, a review form once completed, and a button per transition `spec.actions` gives (taken
 * with the app's `orders.transition`). Returns the function that stops the refresh.
 */
export async function liveOrders(root, me, spec) {
  const list = element("ul", "", { "data-testid": spec.testid, "aria-live": "polite" });
  const error = element("p", "", { class: "error", role: "alert" });
  root.append(element("h2", spec.title), error, list);
  if (!me()) {
    error.textContent = "Make or import your key first: your orders are the ones it signed.";
    return () => {};
  }
  const reviewed = new Set();
  const drawn = {};
  async function refresh(force = false) {
    // A review being written is not drawn over.
    if (root.contains(document.activeElement) && document.activeElement.closest("form")) return;
    if (force) drawn.last = null;
    try {
      const orders = await spec.load();
      redraw(list, drawn, orders, () => orders.map((order) => {
        const item = element("li", "", { "data-testid": `${spec.prefix}-${order.id}` });
        item.append(...spec.describe(order), element("strong", order.state, { "data-testid": `${spec.prefix}-${order.id}-state` }));
        item.append(element("a", " Chat", { href: `#/chat/${encodeURIComponent(`t.${spec.app}.order.${order.id}`)}`,
          "data-testid": `${spec.prefix}-${order.id}-chat`, "aria-label": "Chat about this order" }), element("span", " "));
        if (order.state === "completed" && !reviewed.has(order.id)) item.append(reviewForm(me, order, () => reviewed.add(order.id), spec.app, spec.prefix));
        for (const action of spec.actions(order)) {
          const button = element("button", action.replace(/_/g, " "), { type: "button", "data-testid": `${spec.prefix}-${order.id}-${action}` });
          button.addEventListener("click", async () => {
            button.disabled = true;
            try {
              await signedFetch(me(), "POST", `/v1/apps/${spec.app}/orders.transition`, { order_id: order.id, transition: action });
              await refresh(true);
            } catch (e) {
              error.textContent = `${action}: ${e.message}`;
              button.disabled = false;
            }
          });
          item.append(button);
        }
        return item;
      }));
      error.textContent = "";
    } catch (e) {
      error.textContent = "Cannot read the orders: " + e.message;
    }
  }
  await refresh();
  const timer = setInterval(refresh, 2000);
  return () => clearInterval(timer);
}
