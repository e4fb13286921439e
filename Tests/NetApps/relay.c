/*
 * relay.c — a test app for net_send between nodes (app id "relay").
 *   send      body {"peer":"PEER","count":N}: sends N messages "m<i>" to PEER in one call, i counting every message
 *             this app ever sent to PEER (kept in its database, in the same transaction); answers "sent <total>".
 *   sendfail  the same body: sends, then fails the call (500): the messages must never leave.
 *   received  body {"peer":"PEER"} or {}: answers [[count, distinct (peer, seq), min seq, max seq, out of order,
 *             payload mismatches]] of what arrived from PEER (or from every peer); in order means 1, 2, 3, … per peer.
 *   big       body {"peer":"PEER","count":N}: sends one message of N bytes.
 *   publish   body {"count":N}: publishes N ephemeral messages "p<i>" on topic relay.live (the first refusal ends it).
 *   live      answers [[count, distinct payloads]] of the ephemeral messages that arrived (kind 4).
 * on_event kind 3 records (peer, seq, payload) in table got, in the call's transaction; kind 4 records the topic
 * message in table live.
 */
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include "synapp.h"

static const syn_host *host;
static const syn_magic magic = { sizeof(syn_magic), SYN_ABI_MAJOR, SYN_ABI_MINOR, "relay", "1.0.0" };
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

static syn_status fail(syn_ctx *ctx, syn_response *res, syn_status s) {
    syn_buf m = { 0 };
    host->last_error(ctx, &m);
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "ERR %d %.*s", (int)s, (int)m.len, (const char *)m.ptr);
    return answer(ctx, res, 500, buf, (size_t)n);
}

static syn_status init(syn_ctx *ctx, syn_buf config) {
    (void)config;
    syn_status s = host->sql_exec(ctx, str("CREATE TABLE IF NOT EXISTS got (peer TEXT, seq INTEGER, payload TEXT)"), str("[]"), NULL);
    if (s != SYN_OK) return s;
    s = host->sql_exec(ctx, str("CREATE TABLE IF NOT EXISTS live (topic TEXT, payload TEXT)"), str("[]"), NULL);
    if (s != SYN_OK) return s;
    return host->sql_exec(ctx, str("CREATE TABLE IF NOT EXISTS sent (peer TEXT, n INTEGER)"), str("[]"), NULL);
}

static syn_status handle(syn_ctx *ctx, const syn_request *req, syn_response *res) {
    char peer[128], buf[256];
    syn_status s;
    if (is(req, "send") || is(req, "sendfail")) {
        unsigned count = 1;
        size_t n = req->body.len < sizeof buf - 1 ? req->body.len : sizeof buf - 1;
        memcpy(buf, req->body.ptr, n);
        buf[n] = 0;
        if (sscanf(buf, "{\"peer\":\"%127[^\"]\",\"count\":%u}", peer, &count) < 1)
            return answer(ctx, res, 400, "body: {\"peer\":\"PEER\",\"count\":N}", 33);
        syn_buf rows = { 0 };
        char params[192];
        snprintf(params, sizeof params, "[\"%s\"]", peer);
        if ((s = host->sql_query(ctx, str("SELECT coalesce(max(n), 0) FROM sent WHERE peer = ?"), str(params), &rows)) != SYN_OK)
            return fail(ctx, res, s);
        unsigned long long total = 0;
        sscanf((const char *)rows.ptr, "[[%llu", &total);
        for (unsigned i = 0; i < count; i++) {
            char payload[64];
            int len = snprintf(payload, sizeof payload, "m%llu", total + i);
            if ((s = host->net_send(ctx, str(peer), (syn_buf){ (const uint8_t *)payload, (size_t)len })) != SYN_OK) return fail(ctx, res, s);
        }
        if (is(req, "sendfail")) return answer(ctx, res, 500, "failed on purpose", 17);
        snprintf(params, sizeof params, "[\"%s\", %llu]", peer, total + count);
        if ((s = host->sql_exec(ctx, str("INSERT INTO sent(peer, n) VALUES (?, ?)"), str(params), NULL)) != SYN_OK) return fail(ctx, res, s);
        int len = snprintf(buf, sizeof buf, "\"sent %llu\"", total + count);
        return answer(ctx, res, 200, buf, (size_t)len);
    }
    if (is(req, "big")) {
        /* One message of COUNT bytes: past 64 KiB the host refuses it. */
        static uint8_t payload[70000];
        unsigned count = 0;
        size_t n = req->body.len < sizeof buf - 1 ? req->body.len : sizeof buf - 1;
        memcpy(buf, req->body.ptr, n);
        buf[n] = 0;
        if (sscanf(buf, "{\"peer\":\"%127[^\"]\",\"count\":%u}", peer, &count) != 2 || count > sizeof payload)
            return answer(ctx, res, 400, "\"bad body\"", 10);
        memset(payload, 'a', count);
        if ((s = host->net_send(ctx, str(peer), (syn_buf){ payload, count })) != SYN_OK) return fail(ctx, res, s);
        return answer(ctx, res, 200, "\"sent\"", 6);
    }
    if (is(req, "publish")) {
        unsigned count = 1;
        size_t n = req->body.len < sizeof buf - 1 ? req->body.len : sizeof buf - 1;
        memcpy(buf, req->body.ptr, n);
        buf[n] = 0;
        sscanf(buf, "{\"count\":%u}", &count);
        for (unsigned i = 0; i < count; i++) {
            char payload[32];
            int len = snprintf(payload, sizeof payload, "p%u", i);
            if ((s = host->msg_publish(ctx, str("relay.live"), (syn_buf){ (const uint8_t *)payload, (size_t)len })) != SYN_OK)
                return fail(ctx, res, s);
        }
        return answer(ctx, res, 200, "\"published\"", 11);
    }
    if (is(req, "live")) {
        syn_buf rows = { 0 };
        s = host->sql_query(ctx, str("SELECT count(*), count(DISTINCT payload) FROM live"), str("[]"), &rows);
        if (s != SYN_OK) return fail(ctx, res, s);
        return answer(ctx, res, 200, (const char *)rows.ptr, rows.len);
    }
    if (is(req, "received")) {
        char from[128] = "";
        size_t n = req->body.len < sizeof buf - 1 ? req->body.len : sizeof buf - 1;
        memcpy(buf, req->body.ptr, n);
        buf[n] = 0;
        sscanf(buf, "{\"peer\":\"%127[^\"]\"}", from);
        char params[192];
        snprintf(params, sizeof params, "[\"%s\"]", from);
        syn_buf rows = { 0 };
        s = host->sql_query(ctx, str(
            "WITH g AS (SELECT rowid AS r, peer, seq, payload FROM got WHERE ?1 = '' OR peer = ?1)"
            " SELECT count(*), count(DISTINCT peer || ' ' || seq), coalesce(min(seq), 0), coalesce(max(seq), 0),"
            " (SELECT count(*) FROM (SELECT seq - lag(seq, 1, 0) OVER (PARTITION BY peer ORDER BY r) AS d FROM g) WHERE d != 1),"
            " (SELECT count(*) FROM g WHERE payload != 'm' || (seq - 1)) FROM g"), str(params), &rows);
        if (s != SYN_OK) return fail(ctx, res, s);
        return answer(ctx, res, 200, (const char *)rows.ptr, rows.len);
    }
    return answer(ctx, res, 404, "no such method", 14);
}

static syn_status on_event(syn_ctx *ctx, const syn_event *e) {
    char params[512];
    if (e->kind == SYN_EVENT_TOPIC) {
        if (e->topic.len > 64 || e->payload.len > 64) return SYN_E_BAD_ARG;
        snprintf(params, sizeof params, "[\"%.*s\", \"%.*s\"]", (int)e->topic.len, (const char *)e->topic.ptr,
                 (int)e->payload.len, (const char *)e->payload.ptr);
        return host->sql_exec(ctx, str("INSERT INTO live(topic, payload) VALUES (?, ?)"), str(params), NULL);
    }
    if (e->kind != SYN_EVENT_PEER) return SYN_OK;
    for (size_t i = 0; i < e->payload.len; i++) {
        uint8_t c = e->payload.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return SYN_E_BAD_ARG;
    }
    if (e->topic.len > 64 || e->payload.len > 64) return SYN_E_BAD_ARG;
    snprintf(params, sizeof params, "[\"%.*s\", %llu, \"%.*s\"]", (int)e->topic.len, (const char *)e->topic.ptr,
             (unsigned long long)e->token, (int)e->payload.len, (const char *)e->payload.ptr);
    return host->sql_exec(ctx, str("INSERT INTO got(peer, seq, payload) VALUES (?, ?, ?)"), str(params), NULL);
}

static const syn_plugin plugin = { sizeof(syn_plugin), SYN_ABI_MINOR, init, handle, on_event, NULL };

SYN_EXPORT syn_status synapp_entry(const syn_host *h, uint32_t *minor_inout, const syn_plugin **out) {
    host = h;
    if (*minor_inout > SYN_ABI_MINOR) *minor_inout = SYN_ABI_MINOR;
    *out = &plugin;
    return SYN_OK;
}
