/*
 * slots.c — calls every slot of the syn_host table and reports each status and last_error, one line per slot.
 * Proves every slot is callable through the real worker: local slots work, capability slots travel to the host
 * and come back with SYN_E_UNSUPPORTED and a message until the broker serves them.
 */
#include <stdio.h>
#include <string.h>
#include "synapp.h"

static const syn_host *host;
static const syn_magic magic = { sizeof(syn_magic), SYN_ABI_MAJOR, SYN_ABI_MINOR, "slots", "1.0.0" };
SYN_EXPORT const syn_magic *synapp_magic(void) { return &magic; }

static char out[8192];
static size_t used;

static void line(syn_ctx *ctx, const char *slot, syn_status s) {
    syn_buf msg = { 0 };
    if (s != SYN_OK) host->last_error(ctx, &msg);
    used += (size_t)snprintf(out + used, sizeof out - used, "%s %d %.*s\n", slot, (int)s, (int)msg.len,
                             (const char *)msg.ptr);
}

static syn_status handle(syn_ctx *ctx, const syn_request *req, syn_response *res) {
    (void)req;
    used = 0;
    const syn_buf k = { (const uint8_t *)"k", 1 }, v = { (const uint8_t *)"v", 1 }, e = { 0 };
    const syn_buf json = { (const uint8_t *)"[]", 2 };
    uint8_t key[32] = { 0 }, sig[64] = { 0 }, rnd[16];
    syn_buf value, page, next, rows, body;
    uint64_t version, changes, token;
    uint32_t status;

    line(ctx, "alloc", host->alloc(ctx, 64) ? SYN_OK : SYN_E_TOO_LARGE);
    line(ctx, "alloc_huge", host->alloc(ctx, (size_t)1 << 40) ? SYN_OK : SYN_E_TOO_LARGE);
    syn_buf none;
    line(ctx, "last_error_none", host->last_error(ctx, &none)); /* after a successful call: nothing to report */
    host->log(ctx, SYN_LOG_INFO, (syn_buf){ (const uint8_t *)"slots log", 9 });
    line(ctx, "log", SYN_OK);
    line(ctx, "id_public_key", host->id_public_key(ctx, key));
    line(ctx, "id_sign", host->id_sign(ctx, v, sig));
    line(ctx, "id_verify", host->id_verify(ctx, key, v, sig));
    line(ctx, "kv_get", host->kv_get(ctx, k, &value, &version));
    line(ctx, "kv_put", host->kv_put(ctx, k, v, 0, &version));
    line(ctx, "kv_delete", host->kv_delete(ctx, k, 0));
    line(ctx, "kv_scan", host->kv_scan(ctx, k, e, 10, &page, &next));
    line(ctx, "sql_exec", host->sql_exec(ctx, (syn_buf){ (const uint8_t *)"SELECT 1", 8 }, json, &changes));
    line(ctx, "sql_query", host->sql_query(ctx, (syn_buf){ (const uint8_t *)"SELECT 1", 8 }, json, &rows));
    line(ctx, "net_send", host->net_send(ctx, k, v));
    line(ctx, "net_request", host->net_request(ctx, (syn_buf){ (const uint8_t *)"GET", 3 },
                                               (syn_buf){ (const uint8_t *)"https://example.org", 19 }, json, e, 1000,
                                               &status, &body));
    line(ctx, "msg_publish", host->msg_publish(ctx, k, v));
    line(ctx, "event_emit", host->event_emit(ctx, (syn_buf){ (const uint8_t *)"slots.test", 10 }, json));
    line(ctx, "timer_set", host->timer_set(ctx, 10, v, &token));
    line(ctx, "clock_ns", host->clock_ns(ctx, 1) > 0 && host->clock_ns(ctx, 0) > 1700000000ull * 1000000000ull
                              ? SYN_OK : SYN_E_INTERNAL);
    line(ctx, "random", host->random(ctx, rnd, sizeof rnd));
    line(ctx, "random_too_large", host->random(ctx, rnd, 65537));
    line(ctx, "kv_get_null_out", host->kv_get(ctx, k, NULL, &version));

    uint8_t *mem = host->alloc(ctx, used);
    memcpy(mem, out, used);
    res->status = 200;
    res->body = (syn_buf){ mem, used };
    return SYN_OK;
}

static const syn_plugin plugin = { sizeof(syn_plugin), SYN_ABI_MINOR, NULL, handle, NULL, NULL };

SYN_EXPORT syn_status synapp_entry(const syn_host *h, uint32_t *minor, const syn_plugin **o) {
    host = h;
    *minor = SYN_ABI_MINOR;
    *o = &plugin;
    return SYN_OK;
}
