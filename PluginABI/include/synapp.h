/*
 * synapp.h — Syneroym PluginABI v1.1 (minor 1 appends app_call, call_origin and node_id to syn_host).
 *
 * The only contract between the Syneroym host and a SynApp. A SynApp is a shared library that exports exactly two
 * functions, `synapp_magic` and `synapp_entry`, and no data. The host loads it with dlopen inside a sandboxed worker
 * process; the app reaches the outside world only through the `syn_host` function table it receives.
 *
 * Compatibility rules (they keep this ABI stable for decades, as SQLite's and Vulkan's are):
 *  - A different ABI major version is refused at load time. The minor version is negotiated: the host passes the
 *    highest minor it supports in `*minor_inout`, and the app writes back the minor it will use (never higher).
 *  - Every function table starts with `uint32_t size; uint32_t minor;` and only ever grows at the end. A reader may
 *    touch a slot only if the slot's offset is below `size`.
 *  - Every `syn_host` slot is non-NULL. A capability that was not granted returns SYN_E_DENIED (never a NULL slot),
 *    and `last_error` then names the manifest or profile key that would grant it.
 *  - Status codes are stable negative numbers and are never renumbered.
 *
 * Memory ownership:
 *  - `syn_buf` is borrowed: the pointer is valid only for the duration of the call it is passed to.
 *  - Everything the host returns to the app (values, pages, messages) and the app's response body live in an arena
 *    owned by the per-call `syn_ctx`. Allocate response memory with `host->alloc(ctx, n)`. The host frees the whole
 *    arena when the call (init, handle, on_event) returns. No side ever frees memory the other side allocated:
 *    apps copy what they want to keep beyond the call.
 *  - A `syn_ctx` is valid only during the call that received it. Do not store it.
 *
 * Threads: the host calls the plugin from one thread at a time. Host functions must be called on that thread,
 * during the call, with the ctx of that call.
 *
 * Bodies are bytes. The shipped SynApps use JSON with snake_case keys.
 */
#ifndef SYNAPP_H
#define SYNAPP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SYN_ABI_MAJOR 1
#define SYN_ABI_MINOR 1

/* The longest delay timer_set accepts: 30 days. */
#define SYN_TIMER_MAX_DELAY_MS 2592000000ULL

/* Exported symbol visibility for the two entry points. */
#if defined(__GNUC__) || defined(__clang__)
#define SYN_EXPORT __attribute__((visibility("default")))
#else
#define SYN_EXPORT
#endif

/* ---- Status codes ----------------------------------------------------------------------------------------------
 * Returned by every host slot and by the plugin's init/handle/on_event. Never renumbered. */
typedef int32_t syn_status;
#define SYN_OK             0   /* Success. */
#define SYN_E_NOT_FOUND   -1   /* The key, row, peer or method does not exist. */
#define SYN_E_BAD_ARG     -2   /* An argument is malformed (bad JSON, NULL out pointer, invalid length). */
#define SYN_E_DENIED      -3   /* Not granted. last_error names the manifest or node.toml key that would grant it. */
#define SYN_E_QUOTA       -4   /* A quota (storage, rate, count) is exhausted. */
#define SYN_E_TIMEOUT     -5   /* The operation or the call's deadline expired. */
#define SYN_E_UNSUPPORTED -6   /* This host does not implement the slot or the requested minor version. */
#define SYN_E_CONFLICT    -7   /* A compare-and-swap version did not match, or a uniqueness rule was violated. */
#define SYN_E_TOO_LARGE   -8   /* A buffer exceeds a size limit (frame size, value size, alloc limit). */
#define SYN_E_IO          -9   /* The host failed to reach storage or the network. */
#define SYN_E_INTERNAL   -10   /* A bug or an unexpected host failure; last_error has details. */

/* ---- Basic types ---------------------------------------------------------------------------------------------- */

/* A borrowed byte range. `ptr` may be NULL only when `len` is 0. */
typedef struct syn_buf {
    const uint8_t *ptr;
    size_t len;
} syn_buf;

/* Opaque per-call context. Owns the call's arena; valid only during the call that received it. */
typedef struct syn_ctx syn_ctx;

/* A request to `handle`.
 *  method:     the method name, e.g. "bookings.request" (UTF-8, not NUL-terminated).
 *  caller:     the verified caller's raw 32-byte ed25519 public key, or empty (len 0) when anonymous.
 *  body:       the request body (JSON for the shipped apps).
 *  request_id: unique per running node, for logs and idempotency. */
typedef struct syn_request {
    syn_buf method;
    syn_buf caller;
    syn_buf body;
    uint64_t request_id;
} syn_request;

/* The app's answer. `status` is HTTP-like: 200, 400, 403, 404, 409, 500. `body` must point into memory from
 * `host->alloc` (or static data); the host copies it before freeing the arena. */
typedef struct syn_response {
    uint32_t status;
    syn_buf body;
} syn_response;

/* An asynchronous delivery to `on_event`.
 *  kind 1: a durable domain event (topic = event type, payload = JSON).
 *  kind 2: a timer set with timer_set fired (payload = what was passed to timer_set, token = its token).
 *  kind 3: a message from the same app on a peer node (topic = the peer's id).
 *  kind 4: an ephemeral topic message from msg_publish.
 *  token: the event id (kind 1, for de-duplication: delivery is at least once) or the timer token (kind 2). */
typedef struct syn_event {
    uint32_t kind;
    syn_buf topic;
    syn_buf payload;
    uint64_t token;
} syn_event;

#define SYN_EVENT_DOMAIN 1
#define SYN_EVENT_TIMER 2
#define SYN_EVENT_PEER 3
#define SYN_EVENT_TOPIC 4

/* Identification, returned by `synapp_magic`. Static data owned by the app; must stay valid while loaded.
 *  size:        sizeof(syn_magic) as the app was compiled.
 *  abi_major:   SYN_ABI_MAJOR the app was compiled against; a mismatch is refused.
 *  abi_minor:   SYN_ABI_MINOR the app was compiled against.
 *  app_id:      NUL-terminated id, must equal the manifest's [app] id ([a-z][a-z0-9_-]{0,62}).
 *  app_version: NUL-terminated version string, informational. */
typedef struct syn_magic {
    uint32_t size, abi_major, abi_minor;
    const char *app_id;
    const char *app_version;
} syn_magic;

/* Log levels for `host->log`. */
#define SYN_LOG_TRACE 0
#define SYN_LOG_DEBUG 1
#define SYN_LOG_INFO 2
#define SYN_LOG_WARN 3
#define SYN_LOG_ERROR 4

/* ---- The host function table -----------------------------------------------------------------------------------
 * Given to the app by `synapp_entry`. Valid until `shutdown` returns. Every slot is non-NULL. Slots that take out
 * parameters fill them only on SYN_OK; memory they return lives in the ctx arena. */
typedef struct syn_host {
    uint32_t size;  /* sizeof the table the host provides; touch a slot only if its offset is below size */
    uint32_t minor; /* the host's ABI minor */

    /* Allocates n bytes from the call's arena, 16-byte aligned. Freed by the host when the call returns.
     * Returns NULL if n exceeds the arena limit. */
    void *(*alloc)(syn_ctx *, size_t n);
    /* The message for the last failed host call in this ctx (arena memory). SYN_E_NOT_FOUND if none. */
    syn_status (*last_error)(syn_ctx *, syn_buf *message);
    /* Writes a log line attributed to the app. level is SYN_LOG_*. Long lines are truncated by the host. */
    void (*log)(syn_ctx *, int32_t level, syn_buf message);

    /* Identity. The app's own ed25519 key pair is held by the host; the private key never enters the worker. */
    syn_status (*id_public_key)(syn_ctx *, uint8_t out[32]);
    /* Signs `message` with the app's key. Domain-separated by app id: no app can sign as another app or the node. */
    syn_status (*id_sign)(syn_ctx *, syn_buf message, uint8_t out_signature[64]);
    /* SYN_OK if `signature` is a valid app signature by `public_key` over `message`, SYN_E_DENIED if not. */
    syn_status (*id_verify)(syn_ctx *, const uint8_t public_key[32], syn_buf message, const uint8_t signature[64]);

    /* Key-value storage in the app's own database, run inside the app's worker in the call's transaction (which
     * commits only on a 2xx or 3xx answer). Versions start at 1; if_version 0 means "any version" for kv_put and
     * kv_delete, and for kv_put UINT64_MAX means "only if absent". A mismatch is SYN_E_CONFLICT. */
    syn_status (*kv_get)(syn_ctx *, syn_buf key, syn_buf *value, uint64_t *version);
    syn_status (*kv_put)(syn_ctx *, syn_buf key, syn_buf value, uint64_t if_version, uint64_t *new_version);
    syn_status (*kv_delete)(syn_ctx *, syn_buf key, uint64_t if_version);
    /* Scans keys with `prefix`, at most `limit`, starting after `cursor` (empty for the first page).
     * page_json is a JSON array of {"key":..., "value":..., "version":...}; next_cursor is empty at the end. */
    syn_status (*kv_scan)(syn_ctx *, syn_buf prefix, syn_buf cursor, uint32_t limit, syn_buf *page_json,
                          syn_buf *next_cursor);
    /* SQL on the app's own database, in the call's transaction; params_json is a JSON array. rows_json is a JSON
     * array of arrays. BEGIN, COMMIT and ROLLBACK are the node's (SYN_E_DENIED); SAVEPOINT nests. */
    syn_status (*sql_exec)(syn_ctx *, syn_buf sql, syn_buf params_json, uint64_t *changes);
    syn_status (*sql_query)(syn_ctx *, syn_buf sql, syn_buf params_json, syn_buf *rows_json);

    /* Network. net_send delivers `payload` to the same app on peer node `peer`; net_request makes an outbound
     * HTTP request to an allow-listed URL. */
    syn_status (*net_send)(syn_ctx *, syn_buf peer, syn_buf payload);
    syn_status (*net_request)(syn_ctx *, syn_buf method, syn_buf url, syn_buf headers_json, syn_buf body,
                              uint32_t timeout_ms, uint32_t *status, syn_buf *response_body);

    /* Ephemeral message on a topic, best-effort to current subscribers. */
    syn_status (*msg_publish)(syn_ctx *, syn_buf topic, syn_buf payload);
    /* Durable typed domain event appended to the node's event log (e.g. "homeservices.order.confirm"). */
    syn_status (*event_emit)(syn_ctx *, syn_buf type, syn_buf payload_json);

    /* Schedules an on_event(kind 2) after delay_ms (at most SYN_TIMER_MAX_DELAY_MS) carrying `payload`; *token
       identifies it. */
    syn_status (*timer_set)(syn_ctx *, uint64_t delay_ms, syn_buf payload, uint64_t *token);
    /* Nanoseconds: monotonic != 0 for a monotonic clock, else since the Unix epoch. */
    uint64_t (*clock_ns)(syn_ctx *, int32_t monotonic);
    /* Fills out[0..n) with cryptographically secure random bytes. n at most 65536 per call. */
    syn_status (*random)(syn_ctx *, uint8_t *out, size_t n);

    /* ---- ABI minor 1. A minor-0 host's table ends above: check `size` (or `minor`) before touching these. ---- */

    /* Calls `method` of app `app` on this node and waits for its answer, within this call's own deadline. Granted
     * by the manifest's [capabilities] calls = ["app:method", ...] intersected with node.toml. `on_behalf` is empty
     * to call as this app (the target's caller is then this app's public key), or a person's signed call, the JSON
     * array ["key", created, "nonce", "signature"] (docs/abi.md), which makes that person the target's caller. The
     * target's writes commit on their own, whatever this call then does. *status is the target's HTTP-like status;
     * *response its body (arena memory). A cycle (an app already in the chain of calls), more than
     * SYN_APP_CALL_MAX_DEPTH apps in it, a bad or replayed signature and an ungranted method are SYN_E_DENIED. */
    syn_status (*app_call)(syn_ctx *, syn_buf app, syn_buf method, syn_buf body, syn_buf on_behalf,
                           uint32_t *status, syn_buf *response);
    /* The app that made this call: SYN_OK with its id in *app when the call came from another app on this node
     * through app_call (the request's caller is that app's key, or the person who signed the call);
     * SYN_E_NOT_FOUND for a call from a client, an event or a timer. */
    syn_status (*call_origin)(syn_ctx *, syn_buf *app);
    /* This node's id (its key id: unpadded base64url of its ed25519 public key) in *id (arena memory): what peers
     * name it by in net_send and what people name it by as their home node. */
    syn_status (*node_id)(syn_ctx *, syn_buf *id);
} syn_host;

/* The most apps one chain of app_call may hold, the first caller included. */
#define SYN_APP_CALL_MAX_DEPTH 4

/* ---- The plugin function table ---------------------------------------------------------------------------------
 * Returned by `synapp_entry`; static data owned by the app. `init` and `shutdown` may be NULL; `handle` may not.
 * `on_event` may be NULL if the app subscribes to nothing. */
typedef struct syn_plugin {
    uint32_t size;  /* sizeof(syn_plugin) as the app was compiled */
    uint32_t minor; /* the minor the app implements */
    /* Called once after loading, with the app's config (bytes, possibly empty). Non-SYN_OK refuses the load. */
    syn_status (*init)(syn_ctx *, syn_buf config);
    /* Handles one request. Fill `response`; return SYN_OK. Returning an error status, or a response status of
     * 500 or above, rolls back the request's storage writes. */
    syn_status (*handle)(syn_ctx *, const syn_request *request, syn_response *response);
    /* Handles an asynchronous event, timer or message. */
    syn_status (*on_event)(syn_ctx *, const syn_event *event);
    /* Called before the worker stops. No host calls are possible after it returns. */
    void (*shutdown)(syn_ctx *);
} syn_plugin;

/* ---- The two exports ------------------------------------------------------------------------------------------ */

/* Returns static identification data. Must be callable before synapp_entry and must not call anything else. */
SYN_EXPORT const syn_magic *synapp_magic(void);

/* Entry point. `host` is valid until shutdown returns. On input *minor_inout is the host's minor; on output the
 * app's chosen minor (<= input). *out receives the app's plugin table. Return SYN_OK, or an error to refuse. */
SYN_EXPORT syn_status synapp_entry(const syn_host *host, uint32_t *minor_inout, const syn_plugin **out);

#ifdef __cplusplus
}
#endif
#endif /* SYNAPP_H */
