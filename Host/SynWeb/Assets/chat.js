// Messaging in the browser (docs/messaging.md): a person's conversations, direct chats started by the other
// person's key id, and messages that arrive live through the person's stream (`GET /v1/apps/messaging/stream`,
// read with fetch because a stream must be signed). Every message is an envelope signed by the person's own key in
// the messaging app's signature domain, so anyone can verify it later.

import { signedFetch, signatureHeaders, base64url, inAppDomain } from "./sign.js";
import { element } from "./ui.js";

const APP = "messaging";
const encoder = new TextEncoder();
const call = (me, method, body) => signedFetch(me, "POST", `/v1/apps/${APP}/${method}`, body);

let lastHLC = 0;

/** An envelope of `kind` with `body`, signed by `me` as their `seq` in `conversation`. */
const KINDS = new Set(["create", "text", "structured", "member_add", "member_remove", "admin_add", "leave", "rename", "edit", "delete"]);

export async function envelope(me, conversation, seq, kind, body) {
  // The signed text is lines: every field but the body must be what it claims, or a hostile answer (a `next_seq`
  // holding newlines) could make the person sign words they never wrote.
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(conversation)) throw new Error("not a conversation id");
  if (!Number.isSafeInteger(seq) || seq < 1) throw new Error("not a sequence number");
  if (!KINDS.has(kind)) throw new Error("not a kind of envelope");
  if (typeof body !== "string") throw new Error("the body is text");
  lastHLC = Math.max(Date.now() * 1000, lastHLC + 1);
  const signed = encoder.encode(`syneroym-message-v1\n${conversation}\n${me.keyid}\n${seq}\n${lastHLC}\n${kind}\n${body}`);
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, me.privateKey, inAppDomain(APP, signed));
  return { conversation_id: conversation, author: me.keyid, seq, hlc: lastHLC, kind, body, signature: base64url(signature) };
}

/** The id of the direct conversation of two key ids: `d.` and both, in byte order. */
export function directID(a, b) {
  return a < b ? `d.${a}.${b}` : `d.${b}.${a}`;
}

/**
 * Opens the person's stream and calls `notice` with each notice until `signal` aborts; reopens after a cut (the
 * caller reads history to catch up). Resolves when aborted.
 */
async function follow(me, notice, signal, opened) {
  while (!signal.aborted) {
    try {
      const url = new URL(`/v1/apps/${APP}/stream`, location.origin).href;
      const response = await fetch(url, { headers: await signatureHeaders(me, "GET", url, null), signal, cache: "no-store" });
      if (!response.ok || !response.body) throw new Error(`stream: HTTP ${response.status}`);
      opened();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
          if (data && !/^event: end/m.test(event)) {
            try { notice(JSON.parse(data)); } catch { /* not a notice of ours */ }
          }
        }
      }
    } catch (error) {
      if (signal.aborted) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** The chat page: conversations, a new direct chat, and the open conversation, live. */
export async function chatView(root, me, openID) {
  if (!me()) {
    root.append(element("h2", "Chats"), element("p", "Make or import your key first: your messages are signed with it.", { class: "error" }));
    return () => {};
  }
  const stop = new AbortController();
  const list = element("ul", "", { "data-testid": "chats" });
  const thread = element("ol", "", { class: "thread", "data-testid": "thread", "aria-live": "polite" });
  const status = element("p", "", { role: "status", "data-testid": "chat-status" });
  const error = element("p", "", { class: "error", role: "alert" });
  const last = new Map();
  let open = openID ? decodeURIComponent(openID) : null;

  const start = element("form", "", { "aria-label": "Start a direct chat" });
  start.append(element("label", "Chat with (their key id)", { for: "chat-with" }),
    element("input", "", { id: "chat-with", spellcheck: "false", "data-testid": "chat-with" }),
    element("button", "Start", { type: "submit", "data-testid": "chat-start" }));

  const compose = element("form", "", { "aria-label": "Send a message" });
  const text = element("input", "", { id: "chat-text", autocomplete: "off", "data-testid": "chat-text" });
  compose.append(element("label", "Message", { for: "chat-text" }), text, element("button", "Send", { type: "submit", "data-testid": "chat-send" }));
  compose.hidden = open === null;

  /** What an envelope says, in words: a text, or an order's step or quote as Messaging posts them. */
  function words(env) {
    if (env.deleted) return "(deleted)";
    if (env.kind === "text") return env.edited_text ?? env.body;
    try {
      const s = JSON.parse(env.body);
      if (s.type === "order_update" && s.event) return `The order: ${s.event.replace(/_/g, " ")}, now ${s.state.replace(/_/g, " ")}.`;
      if (s.type === "order_update") return `Action ${s.action}: ${s.ok ? "done" : "refused"}.`;
      if (s.type === "quote") return `Quote ${s.state}: ${(s.amount / 100).toFixed(2)} ${s.currency}.`;
      return `(${s.type})`;
    } catch {
      return "";
    }
  }

  const shown = (env) => env.kind === "text" || env.kind === "structured";

  function line(env) {
    const mine = env.author === me().keyid;
    const item = element("li", "", { class: mine ? "mine" : "theirs", "data-testid": `msg-${env.author.slice(0, 8)}-${env.seq}` });
    const who = mine ? "You: " : env.kind === "structured" ? "" : `${env.author.slice(0, 8)}…: `;
    item.append(element("span", who, { class: "muted" }), element("span", words(env)));
    return item;
  }

  function showList() {
    list.replaceChildren(...[...last.entries()].map(([id, text]) => {
      const item = element("li");
      const name = id.startsWith("d.") ? "Direct chat" : id.startsWith("t.") ? `About ${id.split(".").slice(1, 3).join(" ")} ${id.split(".")[3].slice(0, 8)}` : id;
      item.append(element("a", name, { href: `#/chat/${encodeURIComponent(id)}`, "data-testid": `chat-${id}` }),
        element("span", ` — ${text}`, { class: "muted", "data-testid": `chat-last-${id}` }));
      return item;
    }));
  }

  async function load() {
    const answer = await call(me(), "conversations.list", {});
    for (const c of answer.conversations) if (!last.has(c.id)) last.set(c.id, c.title || `${c.unread} unread`);
    showList();
    if (open) {
      const history = await call(me(), "messages.history", { conversation_id: open, limit: 200 });
      thread.replaceChildren(...history.envelopes.filter(shown).map(line));
    }
  }

  start.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const other = start.querySelector("input").value.trim();
    try {
      const id = directID(me().keyid, other);
      try {
        await call(me(), "messages.post", { envelope: await envelope(me(), id, 1, "create", JSON.stringify({ kind: "direct", members: [other] })) });
      } catch (e) {
        if (e.code !== "exists") throw e;
      }
      location.hash = `#/chat/${encodeURIComponent(id)}`;
    } catch (e) {
      error.textContent = "Cannot start that chat: " + e.message;
    }
  });

  compose.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!text.value) return;
    error.textContent = "";
    try {
      const view = await call(me(), "conversations.get", { conversation_id: open });
      await call(me(), "messages.post", { envelope: await envelope(me(), open, view.next_seq, "text", text.value) });
      text.value = "";
    } catch (e) {
      error.textContent = "Not sent: " + e.message;
    }
  });

  root.append(element("h2", "Chats"), start, error, list, element("h3", open ? "Conversation" : ""), thread, compose, status);
  try { await load(); } catch (e) { error.textContent = "Cannot read the chats: " + e.message; }
  follow(me(), (notice) => {
    if (notice.type !== "message") return;
    const env = notice.envelope;
    if (shown(env)) last.set(notice.conversation_id, words(env));
    else if (!last.has(notice.conversation_id)) last.set(notice.conversation_id, "new");
    showList();
    if (notice.conversation_id === open && shown(env)) thread.append(line(env));
  }, stop.signal, () => { status.textContent = "Live."; status.dataset.live = "1"; });
  return () => stop.abort();
}
