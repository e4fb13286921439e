/*
 * netbench.c — the app `syneroym bench net` runs on two nodes (app id "netbench").
 *   send   body {"peer":"PEER","count":N}: net_send N messages to PEER in one call; each payload is the sender's
 *          CLOCK_MONOTONIC time in nanoseconds (both nodes run on one machine, so the clocks agree).
 *   stats  [[received, distinct sequences, p50 latency ns, p99 latency ns]] of what arrived.
 *   count  [[received]]: cheap enough to poll while messages arrive.
 *   reset  forgets what arrived.
 * on_event kind 3 records (seq, now - sent) in the call's transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "synapp.h"

static const syn_host *host;
static const syn_magic magic = { sizeof(syn_magic), SYN_ABI_MAJOR, SYN_ABI_MINOR, "netbench", "1.0.0" };
SYN_EXPORT const syn_magic *synapp_magic(void) { return &magic; }

static syn_buf str(const char *s) { return (syn_buf){ (const uint8_t *)s, strlen(s) }; }

static int is(const syn_request *r, const char *m) {
    return r->method.len == strlen(m) && memcmp(r->method.ptr, m, r->method.len) == 0;
}

static syn_status answer(syn_ctx *ctx, syn_response *res, int status, const char *s, size_t n) {
    uint8_t *out = host->alloc(ctx, n ? n : 1);
    if (!out) return SYN_E_TOO_LARGE;
    memcpy(out, s, n);
    res->status = status;
    res->body = (syn_buf){ out, n };
    return SYN_OK;
}

static syn_status init(syn_ctx *ctx, syn_buf config) {
    (void)config;
    return host->sql_exec(ctx, str("CREATE TABLE IF NOT EXISTS got (seq INTEGER, lat INTEGER)"), str("[]"), NULL);
}

static syn_status handle(syn_ctx *ctx, const syn_request *req, syn_response *res) {
    char buf[256], peer[128];
    if (is(req, "send")) {
        unsigned count = 1;
        size_t n = req->body.len < sizeof buf - 1 ? req->body.len : sizeof buf - 1;
        memcpy(buf, req->body.ptr, n);
        buf[n] = 0;
        if (sscanf(buf, "{\"peer\":\"%127[^\"]\",\"count\":%u}", peer, &count) < 1) return answer(ctx, res, 400, "\"bad body\"", 10);
        for (unsigned i = 0; i < count; i++) {
            char payload[32];
            int len = snprintf(payload, sizeof payload, "%llu", (unsigned long long)host->clock_ns(ctx, 1));
            syn_status s = host->net_send(ctx, str(peer), (syn_buf){ (const uint8_t *)payload, (size_t)len });
            if (s != SYN_OK) {
                syn_buf m = { 0 };
                host->last_error(ctx, &m);
                int k = snprintf(buf, sizeof buf, "\"%d %.*s\"", (int)s, (int)(m.len > 200 ? 200 : m.len), (const char *)m.ptr);
                return answer(ctx, res, 500, buf, (size_t)k);
            }
        }
        return answer(ctx, res, 200, "\"sent\"", 6);
    }
    if (is(req, "stats")) {
        syn_buf rows = { 0 };
        syn_status s = host->sql_query(ctx, str(
            "SELECT count(*), count(DISTINCT seq),"
            " coalesce((SELECT lat FROM got ORDER BY lat LIMIT 1 OFFSET (SELECT count(*) / 2 FROM got)), 0),"
            " coalesce((SELECT lat FROM got ORDER BY lat LIMIT 1 OFFSET (SELECT count(*) * 99 / 100 FROM got)), 0) FROM got"),
            str("[]"), &rows);
        if (s != SYN_OK) return answer(ctx, res, 500, "\"stats failed\"", 14);
        return answer(ctx, res, 200, (const char *)rows.ptr, rows.len);
    }
    if (is(req, "count")) {
        syn_buf rows = { 0 };
        if (host->sql_query(ctx, str("SELECT max(rowid) FROM got"), str("[]"), &rows) != SYN_OK) return answer(ctx, res, 500, "\"count failed\"", 14);
        return answer(ctx, res, 200, (const char *)rows.ptr, rows.len);
    }
    if (is(req, "reset")) {
        if (host->sql_exec(ctx, str("DELETE FROM got"), str("[]"), NULL) != SYN_OK) return answer(ctx, res, 500, "\"reset failed\"", 14);
        return answer(ctx, res, 200, "\"reset\"", 7);
    }
    return answer(ctx, res, 404, "\"no such method\"", 16);
}

static syn_status on_event(syn_ctx *ctx, const syn_event *e) {
    if (e->kind != SYN_EVENT_PEER) return SYN_OK;
    unsigned long long now = host->clock_ns(ctx, 1);
    char text[32], params[96];
    size_t n = e->payload.len < sizeof text - 1 ? e->payload.len : sizeof text - 1;
    memcpy(text, e->payload.ptr, n);
    text[n] = 0;
    unsigned long long sent = strtoull(text, NULL, 10);
    snprintf(params, sizeof params, "[%llu, %llu]", (unsigned long long)e->token, now > sent ? now - sent : 0);
    return host->sql_exec(ctx, str("INSERT INTO got(seq, lat) VALUES (?, ?)"), str(params), NULL);
}

static const syn_plugin plugin = { sizeof(syn_plugin), SYN_ABI_MINOR, init, handle, on_event, NULL };

SYN_EXPORT syn_status synapp_entry(const syn_host *h, uint32_t *minor_inout, const syn_plugin **out) {
    host = h;
    if (*minor_inout > SYN_ABI_MINOR) *minor_inout = SYN_ABI_MINOR;
    *out = &plugin;
    return SYN_OK;
}
