// A person's ed25519 key in this browser: made with WebCrypto, kept in IndexedDB as a CryptoKey the page cannot
// read (non-extractable), and carried to another device by a recovery file or phrase, given once when the key is
// made. The node owner's pages import the owner's key the same way, or from the key file `syneroym keys` wrote.

import { base64url, fromBase64url } from "./sign.js";

const DATABASE = "syneroym";
const STORE = "keys";
/** PKCS #8 wrapping of a raw 32-byte ed25519 seed (RFC 8410). */
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
/** The recovery phrase's prefix: the version, so a later format is never misread. */
const PHRASE_PREFIX = "SYN1-";

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function store(mode) {
  const open = indexedDB.open(DATABASE, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  const db = await request(open);
  return db.transaction(STORE, mode).objectStore(STORE);
}

/** The identity kept under `name` ("person" or "owner"), or null. */
export async function load(name) {
  return (await request((await store("readonly")).get(name))) ?? null;
}

/** Forgets the identity kept under `name`. */
export async function forget(name) {
  await request((await store("readwrite")).delete(name));
}

async function keep(name, identity) {
  await request((await store("readwrite")).put(identity, name));
  return identity;
}

/** An identity from a 32-byte seed: WebCrypto cannot derive a public key from a private one, so it is read once
 * through a short-lived extractable key (its JWK's copy of the seed is a string the page cannot wipe; it is
 * dropped at once). */
async function fromSeed(seed) {
  if (seed.length !== 32) throw new Error("a key is 32 bytes; this is " + seed.length);
  const pkcs8 = new Uint8Array(48);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(seed, 16);
  const readable = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  const keyid = (await crypto.subtle.exportKey("jwk", readable)).x;
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
  pkcs8.fill(0);
  return { privateKey, keyid, created: new Date().toISOString() };
}

/**
 * Makes a new key, keeps it under `name`, and returns { identity, phrase, file }: the recovery phrase and file
 * (JSON text) are the only way to use the key elsewhere, and this is the only time they can be had.
 */
export async function create(name) {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const seed = pkcs8.slice(16);
  // Kept non-extractable; its key id is the public half's.
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
  pkcs8.fill(0);
  const keyid = base64url(await crypto.subtle.exportKey("raw", pair.publicKey));
  const identity = await keep(name, { privateKey, keyid, created: new Date().toISOString() });
  const phrase = PHRASE_PREFIX + base64url(seed);
  const file = JSON.stringify({ syneroym: "key", version: 1, keyid: identity.keyid, seed: base64url(seed) }, null, 1) + "\n";
  seed.fill(0);
  return { identity, phrase, file };
}

/**
 * Imports a key under `name` from a recovery phrase, a recovery file's text, or the bytes of a node key file
 * (`syneroym keys`: 64 bytes, the seed then the public key). Throws, saying what was wrong, on anything else.
 */
export async function restore(name, input) {
  let seed;
  let expected = null;
  if (input instanceof Uint8Array && input.length === 64) {
    seed = input.slice(0, 32);
    expected = base64url(input.slice(32));
  } else {
    const text = (input instanceof Uint8Array ? new TextDecoder().decode(input) : String(input)).trim();
    if (text.startsWith(PHRASE_PREFIX)) {
      seed = fromBase64url(text.slice(PHRASE_PREFIX.length));
    } else {
      let parsed;
      try { parsed = JSON.parse(text); } catch { throw new Error("not a recovery phrase (SYN1-…), a recovery file or a 64-byte key file"); }
      if (parsed.syneroym !== "key" || parsed.version !== 1 || typeof parsed.seed !== "string") throw new Error("not a Syneroym recovery file");
      seed = fromBase64url(parsed.seed);
      expected = parsed.keyid ?? null;
    }
  }
  const identity = await fromSeed(seed);
  seed.fill(0);
  if (expected !== null && expected !== identity.keyid) throw new Error("the file's public key does not match its private key: it is damaged");
  return keep(name, identity);
}

/** `restore` from a form: the file chosen in `fileInput`, else the phrase typed in `phraseInput`. Both inputs are
 * emptied, and the file's bytes wiped, whatever happens. */
export async function restoreFrom(name, fileInput, phraseInput) {
  const file = fileInput.files[0];
  const input = file ? new Uint8Array(await file.arrayBuffer()) : phraseInput.value;
  phraseInput.value = "";
  fileInput.value = "";
  try {
    return await restore(name, input);
  } finally {
    if (input instanceof Uint8Array) input.fill(0);
  }
}
