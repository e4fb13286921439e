// The node owner's page: the owner's key (imported into this browser), the apps with their states, actions and
// footprints over time, and the audit log. Every request is signed with the owner's key (sign.js); the node checks
// it as it checks the CLI's.

import { signedFetch, NodeError } from "./sign.js";
import * as keys from "./identity.js";

const $ = (id) => document.getElementById(id);
/** Samples kept per app for the footprint charts (one per refresh). */
const SAMPLES = 60;
const REFRESH_MS = 5000;
let owner = null;
const history = new Map();

/** An element with text and attributes; never HTML from the node or an app. */
function element(tag, text = "", attributes = {}) {
  const e = document.createElement(tag);
  if (text) e.textContent = text;
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
  return e;
}

function say(id, text) { $(id).textContent = text; }

function explain(error) {
  if (error instanceof NodeError && error.status === 403) return "This key is not an owner of this node: its owners are the keys in node.toml [node] owners.";
  if (error instanceof NodeError && error.status === 401) return "The node did not accept the signature: " + error.message;
  return error.message || String(error);
}

function showKey() {
  $("key-form").hidden = owner !== null;
  $("key-forget").hidden = owner === null;
  say("key-state", owner ? `Signed in with owner key ${owner.keyid}` : "No owner key in this browser yet.");
}

/** A small line chart of `values` (an SVG the page draws, with its last value as text for screen readers). */
function chart(label, values, unit) {
  const width = 80, height = 20;
  const max = Math.max(1, ...values);
  // Two units of margin, so a flat line at zero still shows; one sample is drawn as a short line.
  const series = values.length === 1 ? [values[0], values[0]] : values;
  const points = series.map((v, i) => `${(i * width) / Math.max(1, series.length - 1)},${height - 2 - (v / max) * (height - 4)}`).join(" ");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "spark");
  svg.setAttribute("aria-hidden", "true");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points);
  svg.append(line);
  const wrap = element("span", "", { class: "metric" });
  wrap.append(svg, element("span", `${label} ${values.at(-1) ?? 0}${unit}`));
  return wrap;
}

function record(app, stats) {
  const s = stats ?? { calls: 0, cpu_ms: 0, storage_bytes: 0, deaths: 0 };
  const list = history.get(app) ?? [];
  // Deaths come by cause ({"oom": 1, "crash": 2, …}): the chart shows them all.
  const deaths = Object.values(s.deaths ?? {}).reduce((a, b) => a + b, 0);
  list.push({ calls: s.calls, cpu: s.cpu_ms, storage: s.storage_bytes, deaths });
  while (list.length > SAMPLES) list.shift();
  history.set(app, list);
  // Calls and CPU as the change since the sample before; storage and deaths as they are.
  const delta = (key) => list.map((x, i) => (i === 0 ? 0 : Math.max(0, x[key] - list[i - 1][key])));
  return [chart("calls", delta("calls"), ""), chart("CPU", delta("cpu"), " ms"),
          chart("storage", list.map((x) => Math.round(x.storage / 1024)), " KiB"), chart("deaths", list.map((x) => x.deaths), "")];
}

async function act(app, action, button) {
  button.disabled = true;
  try {
    const answer = await signedFetch(owner, "POST", `/v1/admin/apps/${encodeURIComponent(app)}/${action}`);
    say("apps-error", "");
    $(`state-${app}`).textContent = answer.state;
  } catch (error) {
    say("apps-error", `${action} ${app}: ${explain(error)}`);
  } finally {
    button.disabled = false;
  }
}

async function refresh() {
  if (!owner) return;
  try {
    const [apps, stats] = await Promise.all([signedFetch(owner, "GET", "/v1/admin/apps"), signedFetch(owner, "GET", "/v1/admin/stats")]);
    const rows = apps.apps.map((app) => {
      const row = element("tr", "", { "data-testid": `app-${app.id}` });
      const name = element("th", app.name, { scope: "row" });
      name.append(element("span", ` (${app.id})`, { class: "muted" }));
      const state = element("td", app.state, { id: `state-${app.id}`, "data-testid": `app-${app.id}-state` });
      if (app.problem) state.append(element("span", ` — ${app.problem}`, { class: "error" }));
      const metrics = element("td");
      metrics.append(...record(app.id, stats.apps[app.id]));
      const actions = element("td");
      for (const action of ["enable", "disable", "restart"]) {
        const button = element("button", action, { type: "button", "data-testid": `app-${app.id}-${action}`, "aria-label": `${action} ${app.name}` });
        button.addEventListener("click", () => act(app.id, action, button));
        actions.append(button);
      }
      row.append(name, element("td", app.version), state, metrics, actions);
      return row;
    });
    // Drawn anew every few seconds (the charts move): keyboard focus stays on the same button.
    const focused = $("apps").contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    $("apps").replaceChildren(...rows);
    if (focused) $("apps").querySelector(`[data-testid="${CSS.escape(focused)}"]`)?.focus();
    say("apps-error", "");
  } catch (error) {
    say("apps-error", explain(error));
  }
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "never";
}

async function peers() {
  try {
    const answer = await signedFetch(owner, "GET", "/v1/admin/peers");
    $("peers").replaceChildren(...answer.peers.map((p) => {
      const row = element("tr", "", { "data-testid": `peer-${p.node_id}` });
      const name = element("th", p.name || "(no name)", { scope: "row" });
      name.append(element("span", ` ${p.node_id.slice(0, 12)}…`, { class: "muted" }));
      const link = p.state + (p.rtt_ms !== undefined ? `, ${p.rtt_ms} ms` : "") + (p.last_error ? ` — ${p.last_error}` : "");
      const m = p.messages;
      row.append(name, element("td", link), element("td", m ? `${m.sent} sent, ${m.acked} acknowledged, ${m.queued} waiting` : ""));
      return row;
    }));
    if (answer.peers.length === 0) {
      const row = element("tr");
      row.append(element("td", "No peers yet: `syneroym peers invite` on one node, `syneroym peers add` on the other.", { colspan: "3" }));
      $("peers").replaceChildren(row);
    }
  } catch (error) {
    // A node without links has no peer routes: nothing to show.
    $("peers").replaceChildren();
  }
}

async function backups() {
  try {
    const b = await signedFetch(owner, "GET", "/v1/admin/backup");
    const schedule = b.every_hours > 0 ? `every ${b.every_hours} h, keeping ${b.keep}` : "not scheduled ([backup] every_hours in node.toml)";
    say("backup-state", `Last backup: ${when(b.last_ok)}. Schedule: ${schedule}.` + (b.overdue ? " Backups are late." : "")
      + (b.last_error ? ` Last failure: ${b.last_error}` : "") + (b.key_set ? "" : " No backup key is set ([backup] key_file)."));
  } catch (error) {
    say("backup-state", explain(error));
  }
}

async function backupNow() {
  $("backup-now").disabled = true;
  say("backup-progress", "Backing up…");
  try {
    const text = await signedFetch(owner, "POST", "/v1/admin/backup", {});
    const lines = (typeof text === "string" ? text : JSON.stringify(text)).trim().split("\n").map((l) => JSON.parse(l));
    const last = lines.at(-1);
    if (last.error) say("backup-progress", "The backup failed: " + last.error.message);
    else say("backup-progress", `Done: ${last.done.path} (${last.done.bytes} bytes).`);
  } catch (error) {
    say("backup-progress", "The backup failed: " + explain(error));
  } finally {
    $("backup-now").disabled = false;
    await backups();
  }
}

async function verify() {
  say("audit-result", "Verifying…");
  $("audit-verify").disabled = true;
  try {
    const r = await signedFetch(owner, "GET", "/v1/admin/audit/verify");
    say("audit-result", r.ok ? `Intact: ${r.entries} entries, ${r.checkpoints} signed checkpoints.`
      : `BROKEN at entry ${r.first_broken.seq}: ${r.first_broken.reason}`);
  } catch (error) {
    say("audit-result", explain(error));
  } finally {
    $("audit-verify").disabled = false;
  }
}

async function audit() {
  try {
    const answer = await signedFetch(owner, "GET", "/v1/admin/audit?limit=50");
    // Newest first.
    $("audit").replaceChildren(...answer.entries.slice().sort((a, b) => b.seq - a.seq).map((e) => element("li",
      `${new Date(e.time_ns / 1e6).toISOString()} ${e.actor.slice(0, 12)} ${e.app || "node"} ${e.action} ${e.decision}: ${e.cause}`)));
  } catch (error) {
    $("audit").replaceChildren(element("li", explain(error), { class: "error" }));
  }
}

async function start() {
  try {
    const health = await (await fetch("/v1/health", { cache: "no-store" })).json();
    say("node", `Node ${health.node}`);
  } catch { /* the page works without it */ }
  owner = await keys.load("owner");
  showKey();
  $("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say("key-error", "");
    try {
      owner = await keys.restoreFrom("owner", $("key-file"), $("key-phrase"));
      showKey();
      await refresh();
      await Promise.all([peers(), backups()]);
    } catch (error) {
      say("key-error", "Cannot import that key: " + explain(error));
    }
  });
  $("key-forget").addEventListener("click", async () => {
    await keys.forget("owner");
    owner = null;
    history.clear();
    $("apps").replaceChildren();
    showKey();
  });
  $("audit-refresh").addEventListener("click", audit);
  $("audit-verify").addEventListener("click", verify);
  $("backup-now").addEventListener("click", backupNow);
  await refresh();
  if (owner) await Promise.all([peers(), backups()]);
  setInterval(refresh, REFRESH_MS);
  // When the page became usable, in ms from the start of its navigation (the browser tests read it).
  document.body.dataset.ready = String(Math.round(performance.now()));
}

start();
