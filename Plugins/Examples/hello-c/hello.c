/*
 * hello-c: a complete SynApp in plain C. Build it with
 *   cc -shared -fPIC -O2 -I PluginABI/include -o libhello.so Plugins/Examples/hello-c/hello.c
 * and try it in the sandbox with
 *   syneroym exec --manifest manifests/hello.toml hello '{"name":"Ada"}'
 *
 * Methods:
 *   hello   {"name": "..."} -> {"greeting": "Hello, ...!"}   (public)
 *   echo    any body -> the same body                          (public)
 *   whoami  -> {"caller": "<hex key>"} or {"caller": null}
 *   random  -> {"random": "<32 hex chars>"}
 *   clock   -> {"monotonic_ns": N, "realtime_ns": N}
 *   kv      -> tries kv_get and reports the status and last_error (the broker arrives later)
 */
#include <stdio.h>
#include <string.h>
#include "synapp.h"

static const syn_host *host;
static uint64_t calls;

static const syn_magic magic = {
    sizeof(syn_magic), SYN_ABI_MAJOR, SYN_ABI_MINOR, "hello", "1.0.0",
};

SYN_EXPORT const syn_magic *synapp_magic(void) { return &magic; }

static int method_is(const syn_request *req, const char *name) {
    size_t n = strlen(name);
    return req->method.len == n && memcmp(req->method.ptr, name, n) == 0;
}

/* Copies `text` (len bytes) into the call's arena and makes it the response body. */
static syn_status respond(syn_ctx *ctx, syn_response *res, uint32_t status, const char *text, size_t len) {
    uint8_t *out = host->alloc(ctx, len);
    if (!out) return SYN_E_TOO_LARGE;
    memcpy(out, text, len);
    res->status = status;
    res->body.ptr = out;
    res->body.len = len;
    return SYN_OK;
}

/* Extracts the string value of "name" from a small JSON object; returns its length or 0. Deliberately simple:
 * it accepts only plain characters, so hostile input cannot break the JSON it is echoed into. */
static size_t json_name(syn_buf body, char *out, size_t cap) {
    const char *key = "\"name\"";
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen < body.len; i++) {
        if (memcmp(body.ptr + i, key, klen) != 0) continue;
        size_t j = i + klen;
        while (j < body.len && (body.ptr[j] == ' ' || body.ptr[j] == ':')) j++;
        if (j >= body.len || body.ptr[j] != '"') return 0;
        size_t n = 0;
        for (j++; j < body.len && body.ptr[j] != '"' && n + 1 < cap; j++) {
            uint8_t c = body.ptr[j];
            if (c < 0x20 || c == '\\') return 0;
            out[n++] = (char)c;
        }
        return (j < body.len && body.ptr[j] == '"') ? n : 0;
    }
    return 0;
}

static syn_status hello_init(syn_ctx *ctx, syn_buf config) {
    const char *msg = "hello-c initialised";
    host->log(ctx, SYN_LOG_INFO, (syn_buf){(const uint8_t *)msg, strlen(msg)});
    (void)config;
    return SYN_OK;
}

static syn_status hello_handle(syn_ctx *ctx, const syn_request *req, syn_response *res) {
    char buf[512];
    calls++;
    if (method_is(req, "hello")) {
        char name[128];
        size_t n = json_name(req->body, name, sizeof name);
        if (n == 0) {
            const char *err = "{\"error\":\"body must be {\\\"name\\\": \\\"...\\\"}\"}";
            return respond(ctx, res, 400, err, strlen(err));
        }
        int len = snprintf(buf, sizeof buf, "{\"greeting\":\"Hello, %.*s!\",\"calls\":%llu}", (int)n, name,
                           (unsigned long long)calls);
        return respond(ctx, res, 200, buf, (size_t)len);
    }
    if (method_is(req, "echo")) {
        return respond(ctx, res, 200, (const char *)req->body.ptr, req->body.len);
    }
    if (method_is(req, "whoami")) {
        if (req->caller.len != 32) return respond(ctx, res, 200, "{\"caller\":null}", 15);
        int len = snprintf(buf, sizeof buf, "{\"caller\":\"");
        for (size_t i = 0; i < 32; i++) len += snprintf(buf + len, sizeof buf - (size_t)len, "%02x", req->caller.ptr[i]);
        len += snprintf(buf + len, sizeof buf - (size_t)len, "\"}");
        return respond(ctx, res, 200, buf, (size_t)len);
    }
    if (method_is(req, "random")) {
        uint8_t r[16];
        syn_status s = host->random(ctx, r, sizeof r);
        if (s != SYN_OK) return s;
        int len = snprintf(buf, sizeof buf, "{\"random\":\"");
        for (size_t i = 0; i < sizeof r; i++) len += snprintf(buf + len, sizeof buf - (size_t)len, "%02x", r[i]);
        len += snprintf(buf + len, sizeof buf - (size_t)len, "\"}");
        return respond(ctx, res, 200, buf, (size_t)len);
    }
    if (method_is(req, "clock")) {
        int len = snprintf(buf, sizeof buf, "{\"monotonic_ns\":%llu,\"realtime_ns\":%llu}",
                           (unsigned long long)host->clock_ns(ctx, 1), (unsigned long long)host->clock_ns(ctx, 0));
        return respond(ctx, res, 200, buf, (size_t)len);
    }
    if (method_is(req, "kv")) {
        syn_buf value, message = {0};
        uint64_t version = 0;
        syn_status s = host->kv_get(ctx, (syn_buf){(const uint8_t *)"greeting", 8}, &value, &version);
        host->last_error(ctx, &message);
        int len = snprintf(buf, sizeof buf, "{\"status\":%d,\"last_error\":\"%.*s\"}", (int)s, (int)message.len,
                           (const char *)message.ptr);
        return respond(ctx, res, 200, buf, (size_t)len);
    }
    const char *nf = "{\"error\":\"unknown method\"}";
    return respond(ctx, res, 404, nf, strlen(nf));
}

static void hello_shutdown(syn_ctx *ctx) { (void)ctx; }

static const syn_plugin plugin = {
    sizeof(syn_plugin), SYN_ABI_MINOR, hello_init, hello_handle, NULL, hello_shutdown,
};

SYN_EXPORT syn_status synapp_entry(const syn_host *h, uint32_t *minor_inout, const syn_plugin **out) {
    if (!h || !minor_inout || !out) return SYN_E_BAD_ARG;
    if (h->size < offsetof(syn_host, random) + sizeof(h->random)) return SYN_E_UNSUPPORTED;
    host = h;
    if (*minor_inout > SYN_ABI_MINOR) *minor_inout = SYN_ABI_MINOR;
    *out = &plugin;
    return SYN_OK;
}
