/* relay: a v1.1 SynApp for testing calls between apps (app_call, call_origin). Built once per app id with
 * -DAPP_ID='"relay_a"' and so on. Methods (the gateway takes JSON bodies: `call`'s is a JSON string of hex digits, of
 * lines that keep the C small):
 *   call    hex of "<app>\n<method>\n<on_behalf or empty>\n<body>" -> 200 "<target status>\n<target body>", or
 *           502 "<syn_status>\n<last_error>" when app_call fails
 *   whoami  -> "<origin or ->\n<caller as hex>"
 *   self    -> this app's public key as hex (identity.sign)
 *   spin    -> never answers: loops until the node ends the call
 *   storm   hex of "<app>\n<method>\n<count>" -> calls it <count> times; 200 "<calls that succeeded>\n<last status>\n<its last_error>"
 *   big     -> 200 with a body of 2 MiB (more than an app with the default 1 MiB frame limit takes) */
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include "synapp.h"

#ifndef APP_ID
#define APP_ID "relay_a"
#endif

static const syn_host *host;
static const syn_magic magic = { sizeof(syn_magic), SYN_ABI_MAJOR, SYN_ABI_MINOR, APP_ID, "1.0.0" };

SYN_EXPORT const syn_magic *synapp_magic(void) { return &magic; }

static int method_is(const syn_request *req, const char *name) {
    size_t n = strlen(name);
    return req->method.len == n && memcmp(req->method.ptr, name, n) == 0;
}

static syn_status respond(syn_ctx *ctx, syn_response *res, uint32_t status, const uint8_t *a, size_t alen,
                          const uint8_t *b, size_t blen) {
    uint8_t *out = host->alloc(ctx, alen + blen + 1);
    if (!out) return SYN_E_TOO_LARGE;
    if (alen) memcpy(out, a, alen);
    if (blen) memcpy(out + alen, b, blen);
    res->status = status;
    res->body.ptr = out;
    res->body.len = alen + blen;
    return SYN_OK;
}

static void hex(const uint8_t *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) { out[2 * i] = digits[in[i] >> 4]; out[2 * i + 1] = digits[in[i] & 15]; }
    out[2 * n] = 0;
}

/* The next line of `body` from *offset: its start and length; *offset moves past the newline. */
static syn_buf line(syn_buf body, size_t *offset) {
    size_t start = *offset, end = start;
    while (end < body.len && body.ptr[end] != '\n') end++;
    *offset = end < body.len ? end + 1 : end;
    syn_buf out = { body.ptr + start, end - start };
    return out;
}

static syn_status handle(syn_ctx *ctx, const syn_request *req, syn_response *res) {
    int v11 = host->minor >= 1 && host->size >= offsetof(syn_host, call_origin) + sizeof(void *);
    if (method_is(req, "call")) {
        if (!v11) return respond(ctx, res, 501, (const uint8_t *)"no app_call", 11, NULL, 0);
        /* "\"<hex>\"" -> the lines. */
        if (req->body.len < 2 || req->body.ptr[0] != '"' || req->body.ptr[req->body.len - 1] != '"' || req->body.len % 2)
            return respond(ctx, res, 400, (const uint8_t *)"body: a JSON string of hex digits", 33, NULL, 0);
        size_t count = (req->body.len - 2) / 2;
        uint8_t *raw = host->alloc(ctx, count + 1);
        if (!raw) return SYN_E_TOO_LARGE;
        for (size_t i = 0; i < count; i++) {
            int v = 0;
            for (int k = 0; k < 2; k++) {
                uint8_t c = req->body.ptr[1 + 2 * i + k];
                int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
                if (d < 0) return respond(ctx, res, 400, (const uint8_t *)"body: hex digits only", 21, NULL, 0);
                v = v * 16 + d;
            }
            raw[i] = (uint8_t)v;
        }
        syn_buf lines = { raw, count };
        size_t offset = 0;
        syn_buf app = line(lines, &offset), method = line(lines, &offset), behalf = line(lines, &offset);
        syn_buf rest = { lines.ptr + offset, lines.len - offset };
        uint32_t status = 0;
        syn_buf answer = { NULL, 0 };
        syn_status s = host->app_call(ctx, app, method, rest, behalf, &status, &answer);
        char head[32];
        if (s != SYN_OK) {
            syn_buf message = { NULL, 0 };
            host->last_error(ctx, &message);
            int n = snprintf(head, sizeof head, "%d\n", s);
            return respond(ctx, res, 502, (const uint8_t *)head, (size_t)n, message.ptr, message.len);
        }
        int n = snprintf(head, sizeof head, "%u\n", status);
        return respond(ctx, res, 200, (const uint8_t *)head, (size_t)n, answer.ptr, answer.len);
    }
    if (method_is(req, "storm")) {
        if (!v11 || req->body.len < 2) return respond(ctx, res, 400, (const uint8_t *)"storm", 5, NULL, 0);
        char text[256];
        size_t count = (req->body.len - 2) / 2 < sizeof text - 1 ? (req->body.len - 2) / 2 : sizeof text - 1;
        for (size_t i = 0; i < count; i++) {
            int v = 0;
            for (int k = 0; k < 2; k++) {
                uint8_t c = req->body.ptr[1 + 2 * i + k];
                v = v * 16 + (c >= 'a' ? c - 'a' + 10 : c - '0');
            }
            text[i] = (char)v;
        }
        text[count] = 0;
        syn_buf whole = { (const uint8_t *)text, count };
        size_t offset = 0;
        syn_buf app = line(whole, &offset), method = line(whole, &offset), times = line(whole, &offset);
        int n = 0;
        for (size_t i = 0; i < times.len; i++) n = n * 10 + (times.ptr[i] - '0');
        int ok = 0;
        syn_status last = SYN_OK;
        for (int i = 0; i < n; i++) {
            uint32_t status = 0;
            syn_buf answer = { NULL, 0 }, none = { NULL, 0 };
            last = host->app_call(ctx, app, method, none, none, &status, &answer);
            if (last != SYN_OK) break;
            ok++;
        }
        char out[32];
        int len = snprintf(out, sizeof out, "%d\n%d\n", ok, last);
        syn_buf message = { NULL, 0 };
        if (last != SYN_OK) host->last_error(ctx, &message);
        return respond(ctx, res, 200, (const uint8_t *)out, (size_t)len, message.ptr, message.len);
    }
    if (method_is(req, "big")) {
        size_t n = 2u << 20;
        uint8_t *out = host->alloc(ctx, n);
        if (!out) return respond(ctx, res, 507, (const uint8_t *)"no arena", 8, NULL, 0);
        memset(out, 'x', n);
        res->status = 200;
        res->body.ptr = out;
        res->body.len = n;
        return SYN_OK;
    }
    if (method_is(req, "whoami")) {
        syn_buf origin = { (const uint8_t *)"-", 1 };
        if (v11) { syn_buf o = { NULL, 0 }; if (host->call_origin(ctx, &o) == SYN_OK) origin = o; }
        char caller[2 * 64 + 2];
        caller[0] = '\n';
        hex(req->caller.ptr ? req->caller.ptr : (const uint8_t *)"", req->caller.len > 64 ? 64 : req->caller.len, caller + 1);
        return respond(ctx, res, 200, origin.ptr, origin.len, (const uint8_t *)caller, strlen(caller));
    }
    if (method_is(req, "self")) {
        uint8_t key[32];
        char text[65];
        if (host->id_public_key(ctx, key) != SYN_OK) return respond(ctx, res, 500, (const uint8_t *)"no key", 6, NULL, 0);
        hex(key, 32, text);
        return respond(ctx, res, 200, (const uint8_t *)text, 64, NULL, 0);
    }
    if (method_is(req, "spin")) {
        volatile uint64_t t = 0;
        for (;;) t += host->clock_ns(ctx, 1);
    }
    return respond(ctx, res, 404, (const uint8_t *)"no such method", 14, NULL, 0);
}

static const syn_plugin plugin = { sizeof(syn_plugin), SYN_ABI_MINOR, NULL, handle, NULL, NULL };

SYN_EXPORT syn_status synapp_entry(const syn_host *h, uint32_t *minor_inout, const syn_plugin **out) {
    if (!h || !minor_inout || !out) return SYN_E_BAD_ARG;
    host = h;
    if (*minor_inout > SYN_ABI_MINOR) *minor_inout = SYN_ABI_MINOR;
    *out = &plugin;
    return SYN_OK;
}
