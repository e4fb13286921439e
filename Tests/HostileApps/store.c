/*
 * store.c — exercises the broker's storage and identity slots from a real sandboxed worker.
 * Build with -DAPP_ID='"store"' (default) or another id to run a second, separate app.
 * Every method answers "ERR <status> <last_error>" when a slot fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "synapp.h"

#ifndef APP_ID
#define APP_ID "store"
#endif

static const syn_host *host;
static const syn_magic magic = { sizeof(syn_magic), SYN_ABI_MAJOR, SYN_ABI_MINOR, APP_ID, "1.0.0" };
SYN_EXPORT const syn_magic *synapp_magic(void) { return &magic; }
static volatile int never;

static int is(const syn_request *r, const char *m) {
    return r->method.len == strlen(m) && memcmp(r->method.ptr, m, r->method.len) == 0;
}

static syn_status text(syn_ctx *ctx, syn_response *res, const char *s, size_t n) {
    uint8_t *out = host->alloc(ctx, n ? n : 1);
    if (!out) return SYN_E_TOO_LARGE;
    memcpy(out, s, n);
    res->status = 200;
    res->body = (syn_buf){ out, n };
    return SYN_OK;
}

static syn_status fail(syn_ctx *ctx, syn_response *res, syn_status s) {
    syn_buf m = { 0 };
    host->last_error(ctx, &m);
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "ERR %d %.*s", (int)s, (int)m.len, (const char *)m.ptr);
    return text(ctx, res, buf, (size_t)n);
}

static void hex(const uint8_t *b, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

/* Splits body "a<sep>b" into two bufs. */
static int split(syn_buf body, char sep, syn_buf *a, syn_buf *b) {
    for (size_t i = 0; i < body.len; i++)
        if (body.ptr[i] == sep) {
            *a = (syn_buf){ body.ptr, i };
            *b = (syn_buf){ body.ptr + i + 1, body.len - i - 1 };
            return 1;
        }
    return 0;
}

static syn_status handle(syn_ctx *ctx, const syn_request *original, syn_response *res) {
    char buf[4096];
    syn_status s;
    syn_buf a, b;
    /* Through the HTTP gateway bodies are JSON: a JSON string without escapes stands for its contents. */
    syn_request unwrapped = *original;
    const syn_request *req = &unwrapped;
    if (original->body.len >= 2 && original->body.ptr[0] == '"' && original->body.ptr[original->body.len - 1] == '"'
        && !memchr(original->body.ptr, '\\', original->body.len))
        unwrapped.body = (syn_buf){ original->body.ptr + 1, original->body.len - 2 };
    if (is(req, "put")) { /* key=value */
        uint64_t v = 0;
        if (!split(req->body, '=', &a, &b)) return SYN_E_BAD_ARG;
        if ((s = host->kv_put(ctx, a, b, 0, &v)) != SYN_OK) return fail(ctx, res, s);
        int n = snprintf(buf, sizeof buf, "version %llu", (unsigned long long)v);
        return text(ctx, res, buf, (size_t)n);
    }
    if (is(req, "noop")) return text(ctx, res, "ok", 2);
    if (is(req, "bigkey")) { /* kv_get of a 1 MiB key */
        static uint8_t key[1 << 20];
        syn_buf value;
        if ((s = host->kv_get(ctx, (syn_buf){ key, sizeof key }, &value, NULL)) != SYN_OK) return fail(ctx, res, s);
        return text(ctx, res, "found", 5);
    }
    if (is(req, "putget")) { /* one kv_put and one kv_get of the same key */
        uint64_t v = 0;
        syn_buf value;
        if ((s = host->kv_put(ctx, (syn_buf){ (const uint8_t *)"bench", 5 }, req->body, 0, &v)) != SYN_OK) return fail(ctx, res, s);
        if ((s = host->kv_get(ctx, (syn_buf){ (const uint8_t *)"bench", 5 }, &value, &v)) != SYN_OK) return fail(ctx, res, s);
        return text(ctx, res, (const char *)value.ptr, value.len);
    }
    if (is(req, "putget_blind")) { /* the same without versions: the put is written behind, the get reads it back */
        syn_buf value;
        if ((s = host->kv_put(ctx, (syn_buf){ (const uint8_t *)"bench", 5 }, req->body, 0, NULL)) != SYN_OK) return fail(ctx, res, s);
        if ((s = host->kv_get(ctx, (syn_buf){ (const uint8_t *)"bench", 5 }, &value, NULL)) != SYN_OK) return fail(ctx, res, s);
        return text(ctx, res, (const char *)value.ptr, value.len);
    }
    if (is(req, "blind")) { /* "k=v;k=v;...": blind puts, then "get:k" reads back without a version, "ver:k" with one,
                               "del:k" deletes, "fail" answers 500, "crash" dies; answers what the reads saw */
        size_t at = 0, n = 0;
        buf[0] = 0;
        while (at < req->body.len) {
            size_t end = at;
            while (end < req->body.len && req->body.ptr[end] != ';') end++;
            syn_buf item = { req->body.ptr + at, end - at };
            at = end + 1;
            syn_buf value;
            uint64_t v = 0;
            if (item.len > 4 && memcmp(item.ptr, "get:", 4) == 0) {
                s = host->kv_get(ctx, (syn_buf){ item.ptr + 4, item.len - 4 }, &value, NULL);
                if (s != SYN_OK) return fail(ctx, res, s);
                n += (size_t)snprintf(buf + n, sizeof buf - n, "%.*s;", (int)value.len, (const char *)value.ptr);
            } else if (item.len > 4 && memcmp(item.ptr, "ver:", 4) == 0) {
                s = host->kv_get(ctx, (syn_buf){ item.ptr + 4, item.len - 4 }, &value, &v);
                if (s != SYN_OK) return fail(ctx, res, s);
                n += (size_t)snprintf(buf + n, sizeof buf - n, "%.*s@%llu;", (int)value.len, (const char *)value.ptr,
                                      (unsigned long long)v);
            } else if (item.len > 4 && memcmp(item.ptr, "del:", 4) == 0) {
                if ((s = host->kv_delete(ctx, (syn_buf){ item.ptr + 4, item.len - 4 }, 0)) != SYN_OK) return fail(ctx, res, s);
            } else if (item.len == 4 && memcmp(item.ptr, "fail", 4) == 0) {
                text(ctx, res, "failing", 7);
                res->status = 500;
                return SYN_OK;
            } else if (item.len == 5 && memcmp(item.ptr, "crash", 5) == 0) {
                *(volatile int *)(uintptr_t)never = 1;
            } else if (split(item, '=', &a, &b)) {
                if ((s = host->kv_put(ctx, a, b, 0, NULL)) != SYN_OK) return fail(ctx, res, s);
            }
            if (n >= sizeof buf) n = sizeof buf - 1;
        }
        return text(ctx, res, buf, n);
    }
    if (is(req, "fill_blind")) { /* 4 KiB blind puts well past a 1 MiB quota; the app never sees a failure */
        static uint8_t big[4096];
        for (int i = 0; i < 2000; i++) {
            char key[32];
            int k = snprintf(key, sizeof key, "fill%d", i);
            if ((s = host->kv_put(ctx, (syn_buf){ (const uint8_t *)key, (size_t)k }, (syn_buf){ big, sizeof big }, 0, NULL)) != SYN_OK)
                return fail(ctx, res, s);
        }
        return text(ctx, res, "filled", 6);
    }
    if (is(req, "forge_write")) { /* bypasses the host table: a raw hostWrite frame putting forged=x for this call */
        uint8_t frame[35] = { 35, 0, 0, 0, 8, 0, 0, 0 };
        for (int i = 0; i < 8; i++) frame[8 + i] = (uint8_t)(req->request_id >> (8 * i));
        frame[16] = 7; /* op: kv_put */
        static const uint8_t payload[15] = { 6, 0, 0, 0, 'f', 'o', 'r', 'g', 'e', 'd', 1, 0, 0, 0, 'x' };
        memcpy(frame + 20, payload, sizeof payload);
        if (write(3, frame, sizeof frame) != (ssize_t)sizeof frame) return text(ctx, res, "write failed", 12);
        return text(ctx, res, "forged", 6);
    }
    if (is(req, "putn_blind")) { /* as putn, without asking for versions: written behind */
        char digits[32] = { 0 };
        memcpy(digits, req->body.ptr, req->body.len < 31 ? req->body.len : 31);
        char *colon = strchr(digits, ':');
        if (!colon) return SYN_E_BAD_ARG;
        long first = strtol(digits, NULL, 10), count = strtol(colon + 1, NULL, 10);
        static const uint8_t value[64] = { 1 };
        for (long i = first; i < first + count; i++) {
            char key[32];
            int k = snprintf(key, sizeof key, "k%ld", i);
            if ((s = host->kv_put(ctx, (syn_buf){ (const uint8_t *)key, (size_t)k }, (syn_buf){ value, 64 }, 0, NULL)) != SYN_OK)
                return fail(ctx, res, s);
        }
        return text(ctx, res, "ok", 2);
    }
    if (is(req, "putn")) { /* "<first>:<count>": count puts of key k<i> = 64-byte value */
        char digits[32] = { 0 };
        memcpy(digits, req->body.ptr, req->body.len < 31 ? req->body.len : 31);
        char *colon = strchr(digits, ':');
        if (!colon) return SYN_E_BAD_ARG;
        long first = strtol(digits, NULL, 10), count = strtol(colon + 1, NULL, 10);
        static const uint8_t value[64] = { 1 };
        for (long i = first; i < first + count; i++) {
            char key[32];
            uint64_t v;
            int k = snprintf(key, sizeof key, "k%ld", i);
            if ((s = host->kv_put(ctx, (syn_buf){ (const uint8_t *)key, (size_t)k }, (syn_buf){ value, 64 }, 0, &v)) != SYN_OK)
                return fail(ctx, res, s);
        }
        return text(ctx, res, "ok", 2);
    }
    if (is(req, "cas")) { /* key=value@version */
        syn_buf kv, ver;
        uint64_t v = 0;
        if (!split(req->body, '@', &kv, &ver) || !split(kv, '=', &a, &b)) return SYN_E_BAD_ARG;
        char digits[32] = { 0 };
        memcpy(digits, ver.ptr, ver.len < 31 ? ver.len : 31);
        uint64_t want = strcmp(digits, "absent") == 0 ? UINT64_MAX : strtoull(digits, NULL, 10);
        if ((s = host->kv_put(ctx, a, b, want, &v)) != SYN_OK) return fail(ctx, res, s);
        int n = snprintf(buf, sizeof buf, "version %llu", (unsigned long long)v);
        return text(ctx, res, buf, (size_t)n);
    }
    if (is(req, "get")) {
        syn_buf value;
        uint64_t v = 0;
        if ((s = host->kv_get(ctx, req->body, &value, &v)) != SYN_OK) return fail(ctx, res, s);
        int n = snprintf(buf, sizeof buf, "%.*s@%llu", (int)value.len, (const char *)value.ptr, (unsigned long long)v);
        return text(ctx, res, buf, (size_t)n);
    }
    if (is(req, "del")) {
        if ((s = host->kv_delete(ctx, req->body, 0)) != SYN_OK) return fail(ctx, res, s);
        return text(ctx, res, "deleted", 7);
    }
    if (is(req, "scan")) { /* prefix|cursor, two per page */
        syn_buf page, next;
        if (!split(req->body, '|', &a, &b)) { a = req->body; b = (syn_buf){ 0 }; }
        if ((s = host->kv_scan(ctx, a, b, 2, &page, &next)) != SYN_OK) return fail(ctx, res, s);
        int n = snprintf(buf, sizeof buf, "%.*s|%.*s", (int)page.len, (const char *)page.ptr, (int)next.len,
                         (const char *)next.ptr);
        return text(ctx, res, buf, (size_t)n);
    }
    if (is(req, "sql")) { /* SQL<TAB>params_json */
        uint64_t changes = 0;
        if (!split(req->body, '\t', &a, &b)) { a = req->body; b = (syn_buf){ (const uint8_t *)"[]", 2 }; }
        if ((s = host->sql_exec(ctx, a, b, &changes)) != SYN_OK) return fail(ctx, res, s);
        int n = snprintf(buf, sizeof buf, "changes %llu", (unsigned long long)changes);
        return text(ctx, res, buf, (size_t)n);
    }
    if (is(req, "query")) {
        syn_buf rows;
        if (!split(req->body, '\t', &a, &b)) { a = req->body; b = (syn_buf){ (const uint8_t *)"[]", 2 }; }
        if ((s = host->sql_query(ctx, a, b, &rows)) != SYN_OK) return fail(ctx, res, s);
        return text(ctx, res, (const char *)rows.ptr, rows.len);
    }
    if (is(req, "fill")) { /* insert 4 KiB rows until a write fails; reports how many and the status */
        host->sql_exec(ctx, (syn_buf){ (const uint8_t *)"CREATE TABLE IF NOT EXISTS fill(b BLOB)", 39 },
                       (syn_buf){ (const uint8_t *)"[]", 2 }, NULL);
        const char *ins = "INSERT INTO fill VALUES (zeroblob(4096))";
        int count = 0;
        for (;; count++) {
            s = host->sql_exec(ctx, (syn_buf){ (const uint8_t *)ins, strlen(ins) }, (syn_buf){ (const uint8_t *)"[]", 2 }, NULL);
            if (s != SYN_OK || count > 100000) break;
        }
        syn_buf m = { 0 };
        host->last_error(ctx, &m);
        int n = snprintf(buf, sizeof buf, "rows %d status %d %.*s", count, (int)s, (int)m.len, (const char *)m.ptr);
        res->status = 200;
        return text(ctx, res, buf, (size_t)n);
    }
    if (is(req, "put_two_then_crash") || is(req, "put_two_then_500")) {
        uint64_t v;
        host->kv_put(ctx, (syn_buf){ (const uint8_t *)"half-1", 6 }, req->body, 0, &v);
        host->kv_put(ctx, (syn_buf){ (const uint8_t *)"half-2", 6 }, req->body, 0, &v);
        if (is(req, "put_two_then_crash")) *(volatile int *)(uintptr_t)never = 1;
        syn_status r = text(ctx, res, "failing", 7);
        res->status = 500;
        return r;
    }
    if (is(req, "pubkey")) {
        uint8_t key[32];
        if ((s = host->id_public_key(ctx, key)) != SYN_OK) return fail(ctx, res, s);
        hex(key, 32, buf);
        return text(ctx, res, buf, 64);
    }
    if (is(req, "sign")) {
        uint8_t sig[64];
        if ((s = host->id_sign(ctx, req->body, sig)) != SYN_OK) return fail(ctx, res, s);
        hex(sig, 64, buf);
        return text(ctx, res, buf, 128);
    }
    if (is(req, "verify_own")) { /* signs the body, then verifies it, then verifies a tampered copy */
        uint8_t key[32], sig[64];
        if ((s = host->id_public_key(ctx, key)) != SYN_OK || (s = host->id_sign(ctx, req->body, sig)) != SYN_OK)
            return fail(ctx, res, s);
        syn_status good = host->id_verify(ctx, key, req->body, sig);
        sig[0] ^= 1;
        syn_status bad = host->id_verify(ctx, key, req->body, sig);
        int n = snprintf(buf, sizeof buf, "good %d bad %d", (int)good, (int)bad);
        return text(ctx, res, buf, (size_t)n);
    }
    if (is(req, "emit") || is(req, "emit_then_500")) { /* type|payload_json */
        if (!split(req->body, '|', &a, &b)) return SYN_E_BAD_ARG;
        if ((s = host->event_emit(ctx, a, b)) != SYN_OK) return fail(ctx, res, s);
        syn_status r = text(ctx, res, "emitted", 7);
        if (is(req, "emit_then_500")) res->status = 500;
        return r;
    }
    if (is(req, "deny_flood")) { /* 500 calls the node does not grant */
        for (int i = 0; i < 500; i++) {
            host->sql_exec(ctx, (syn_buf){ (const uint8_t *)"SELECT 1", 8 }, (syn_buf){ (const uint8_t *)"[]", 2 }, NULL);
        }
        return text(ctx, res, "done", 4);
    }
    if (is(req, "emit_flood")) { /* emits until refused; reports how many and why */
        int count = 0;
        for (; count < 100000; count++) {
            s = host->event_emit(ctx, (syn_buf){ (const uint8_t *)"shop.flood", 10 }, (syn_buf){ (const uint8_t *)"{}", 2 });
            if (s != SYN_OK) break;
        }
        syn_buf m = { 0 };
        host->last_error(ctx, &m);
        int n = snprintf(buf, sizeof buf, "emitted %d then %d %.*s", count, (int)s, (int)m.len, (const char *)m.ptr);
        return text(ctx, res, buf, (size_t)n);
    }
    if (is(req, "timer_flood")) { /* day-long timers until refused; reports how many and why */
        int count = 0;
        uint64_t token;
        for (; count < 100000; count++) {
            s = host->timer_set(ctx, 86400000, (syn_buf){ (const uint8_t *)"t", 1 }, &token);
            if (s != SYN_OK) break;
        }
        syn_buf m = { 0 };
        host->last_error(ctx, &m);
        int n = snprintf(buf, sizeof buf, "set %d then %d %.*s", count, (int)s, (int)m.len, (const char *)m.ptr);
        return text(ctx, res, buf, (size_t)n);
    }
    if (is(req, "emit_big") || is(req, "timer_big")) { /* ~60 KiB events or day-long timers until refused (at most 200) */
        static char big[60002];
        memset(big, 'x', sizeof big);
        big[0] = '"'; big[sizeof big - 1] = '"';
        int count = 0;
        uint64_t token;
        for (; count < 200; count++) {
            syn_buf payload = { (const uint8_t *)big, sizeof big };
            s = is(req, "emit_big") ? host->event_emit(ctx, (syn_buf){ (const uint8_t *)"shop.big", 8 }, payload)
                                    : host->timer_set(ctx, 86400000, payload, &token);
            if (s != SYN_OK) break;
        }
        syn_buf m = { 0 };
        if (s != SYN_OK) host->last_error(ctx, &m);
        int n = snprintf(buf, sizeof buf, "%d then %d %.*s", count, (int)s, (int)m.len, (const char *)m.ptr);
        return text(ctx, res, buf, (size_t)n);
    }
    if (is(req, "timer")) { /* delay_ms|payload */
        uint64_t token = 0;
        if (!split(req->body, '|', &a, &b)) return SYN_E_BAD_ARG;
        char digits[32] = { 0 };
        memcpy(digits, a.ptr, a.len < 31 ? a.len : 31);
        if ((s = host->timer_set(ctx, strtoull(digits, NULL, 10), b, &token)) != SYN_OK) return fail(ctx, res, s);
        int n = snprintf(buf, sizeof buf, "token %llu", (unsigned long long)token);
        return text(ctx, res, buf, (size_t)n);
    }
    return text(ctx, res, "unknown", 7);
}

/* Records every delivery in the app's own KV: "event:<id>" -> "<type>|<payload>", "timer:<token>" -> payload. */
static syn_status on_event(syn_ctx *ctx, const syn_event *e) {
    char key[64], value[2048];
    uint64_t v;
    int k = snprintf(key, sizeof key, "%s:%llu", e->kind == SYN_EVENT_TIMER ? "timer" : "event", (unsigned long long)e->token);
    int n = snprintf(value, sizeof value, "%.*s|%.*s", (int)e->topic.len, (const char *)e->topic.ptr, (int)e->payload.len,
                     (const char *)e->payload.ptr);
    return host->kv_put(ctx, (syn_buf){ (const uint8_t *)key, (size_t)k }, (syn_buf){ (const uint8_t *)value, (size_t)n }, 0, &v);
}

#ifdef INIT_PUT
/* -DINIT_PUT: init writes a key, and fails with whatever status the host gives (a denial without storage.kv). */
static syn_status init(syn_ctx *ctx, syn_buf config) {
    (void)config;
    uint64_t v;
    return host->kv_put(ctx, (syn_buf){ (const uint8_t *)"boot", 4 }, (syn_buf){ (const uint8_t *)"1", 1 }, 0, &v);
}
#define INIT_FUNCTION init
#else
#define INIT_FUNCTION NULL
#endif

static const syn_plugin plugin = { sizeof(syn_plugin), SYN_ABI_MINOR, INIT_FUNCTION, handle, on_event, NULL };

SYN_EXPORT syn_status synapp_entry(const syn_host *h, uint32_t *minor, const syn_plugin **o) {
    host = h;
    *minor = SYN_ABI_MINOR;
    *o = &plugin;
    return SYN_OK;
}
