// Signs requests to this node as docs/request-signing.md specifies: RFC 9421 with ed25519 over "@method",
// "@authority", "@target-uri" and, with a body, an RFC 9530 "content-digest" (sha-256). WebCrypto does the
// hashing and signing; the private key is a CryptoKey the page cannot read.

const encoder = new TextEncoder();

/** Standard base64 with padding (RFC 4648 §4): the RFC 8941 byte sequences. */
export function base64(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text);
}

/** base64url without padding (RFC 4648 §5): keyids and nonces. */
export function base64url(bytes) {
  return base64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes of a base64url (or base64) string; throws on anything else. */
export function fromBase64url(text) {
  if (!/^[A-Za-z0-9_\-+/]*={0,2}$/.test(text)) throw new Error("not base64url");
  const standard = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(standard + "===".slice((standard.length + 3) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** `bytes` prefixed with `app`'s signature domain (docs/abi.md): the tag `syneroym-sig-v1`, a zero, the byte 2,
 * the app id's length (u32, little-endian) and the app id. Apps sign their receipts, and people their envelopes,
 * over exactly this. */
export function inAppDomain(app, bytes) {
  const name = encoder.encode(app);
  const out = new Uint8Array(21 + name.length + bytes.length);
  out.set(encoder.encode("syneroym-sig-v1\0"));
  out[16] = 2;
  new DataView(out.buffer).setUint32(17, name.length, true);
  out.set(name, 21);
  out.set(bytes, 21 + name.length);
  return out;
}

/** The Content-Digest header value of `body` (bytes). */
export async function contentDigest(body) {
  return "sha-256=:" + base64(await crypto.subtle.digest("SHA-256", body)) + ":";
}

/**
 * The signature headers for a request: `identity` is { privateKey: CryptoKey, keyid: string }; `url` is absolute
 * (this node's origin, as the browser will send its Host); `body` is a Uint8Array or null.
 */
export async function signatureHeaders(identity, method, url, body) {
  const target = new URL(url);
  const authority = target.host.toLowerCase();
  const targetURI = `${target.protocol}//${target.host}${target.pathname}${target.search}`;
  const components = ['"@method"', '"@authority"', '"@target-uri"'];
  const lines = [`"@method": ${method}`, `"@authority": ${authority}`, `"@target-uri": ${targetURI}`];
  const headers = {};
  if (body && body.length > 0) {
    headers["Content-Digest"] = await contentDigest(body);
    components.push('"content-digest"');
    lines.push(`"content-digest": ${headers["Content-Digest"]}`);
  }
  const nonce = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const created = Math.floor(Date.now() / 1000);
  const params = `(${components.join(" ")});created=${created};keyid="${identity.keyid}";alg="ed25519";nonce="${nonce}"`;
  lines.push(`"@signature-params": ${params}`);
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, identity.privateKey, encoder.encode(lines.join("\n")));
  headers["Signature-Input"] = `sig1=${params}`;
  headers["Signature"] = `sig1=:${base64(signature)}:`;
  return headers;
}

/** An error the node answered, with its code and message. */
export class NodeError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * Sends a signed request to this node and returns its JSON answer (or text, for a non-JSON one); throws a
 * NodeError for an error status. `body` is an object (sent as JSON), a string, or null.
 */
export async function signedFetch(identity, method, path, body = null) {
  const url = new URL(path, location.origin).href;
  const bytes = body === null ? null : encoder.encode(typeof body === "string" ? body : JSON.stringify(body));
  const headers = await signatureHeaders(identity, method, url, bytes);
  if (bytes) headers["Content-Type"] = "application/json";
  const response = await fetch(url, { method, headers, body: bytes, credentials: "omit", cache: "no-store" });
  const text = await response.text();
  let answer = text;
  try { answer = JSON.parse(text); } catch { /* not JSON: the text itself */ }
  if (!response.ok) {
    const error = answer && answer.error ? answer.error : { code: String(response.status), message: text };
    throw new NodeError(response.status, error.code, error.message);
  }
  return answer;
}
