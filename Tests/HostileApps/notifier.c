/* notifier: a SynApp for testing client notices (msg_publish on "client.<person hex>", delivered to that person's
 * streams after the call commits), built once per app id with -DAPP_ID='"notifier"' and so on. Its one method takes a JSON string of space-separated words:
 *   notify  "<topic> <count> <size> [rollback|raw|marker]"
 *           publishes <count> notices on <topic> ("client." then 64 hex digits, or anything, to test refusals),
 *           each `{"n":<i>,"pad":"xx..."}` padded to about <size> bytes; "raw" publishes bytes that are not UTF-8.
 *           Answers 200 "<published>\n<last status>\n<last_error>"; with "rollback" it answers 500 after
 *           publishing, so the call rolls back and its notices must never be sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "synapp.h"

static const syn_host *host;
#ifndef APP_ID
#define APP_ID "notifier"
#endif

static const syn_magic magic = { sizeof(syn_magic), SYN_ABI_MAJOR, SYN_ABI_MINOR, APP_ID, "1.0.0" };

SYN_EXPORT const syn_magic *synapp_magic(void) { return &magic; }

static syn_status respond(syn_ctx *ctx, syn_response *res, uint32_t status, const char *text, size_t n) {
    uint8_t *out = host->alloc(ctx, n + 1);
    if (!out) return SYN_E_TOO_LARGE;
    memcpy(out, text, n);
    res->status = status;
    res->body.ptr = out;
    res->body.len = n;
    return SYN_OK;
}

static syn_status handle(syn_ctx *ctx, const syn_request *req, syn_response *res) {
    if (req->method.len != 6 || memcmp(req->method.ptr, "notify", 6) != 0)
        return respond(ctx, res, 404, "no such method", 14);
    char words[512];
    if (req->body.len < 2 || req->body.len - 2 >= sizeof(words) || req->body.ptr[0] != '"')
        return respond(ctx, res, 400, "body: a JSON string", 19);
    memcpy(words, req->body.ptr + 1, req->body.len - 2);
    words[req->body.len - 2] = 0;
    char topic[300] = "", mode[16] = "";
    int count = 0, size = 0;
    if (sscanf(words, "%299s %d %d %15s", topic, &count, &size, mode) < 3 || count < 0 || size < 0 || size > 70000)
        return respond(ctx, res, 400, "body: \"<topic> <count> <size> [rollback|raw|marker]\"", 52);
    char *payload = host->alloc(ctx, (size_t)size + 64);
    if (!payload) return SYN_E_TOO_LARGE;
    int published = 0;
    syn_status last = SYN_OK;
    for (int i = 0; i < count; i++) {
        int n = snprintf(payload, 64, "{\"n\":%d,\"pad\":\"", i);
        while (n < size - 2) payload[n++] = strcmp(mode, "marker") == 0 ? 'z' : 'x';
        payload[n++] = '"';
        payload[n++] = '}';
        if (strcmp(mode, "raw") == 0) payload[1] = (char)0xff;
        syn_buf t = { (const uint8_t *)topic, strlen(topic) }, p = { (const uint8_t *)payload, (size_t)n };
        last = host->msg_publish(ctx, t, p);
        if (last != SYN_OK) break;
        published++;
    }
    char out[1200];
    syn_buf err = { 0, 0 };
    if (last != SYN_OK) host->last_error(ctx, &err);
    int n = snprintf(out, sizeof(out), "%d\n%d\n%.*s", published, last, (int)(err.len > 1000 ? 1000 : err.len), err.ptr ? (const char *)err.ptr : "");
    return respond(ctx, res, strcmp(mode, "rollback") == 0 ? 500 : 200, out, (size_t)n);
}

static const syn_plugin plugin = { sizeof(syn_plugin), SYN_ABI_MINOR, NULL, handle, NULL, NULL };

SYN_EXPORT syn_status synapp_entry(const syn_host *h, uint32_t *minor_inout, const syn_plugin **out) {
    if (!h || !minor_inout || !out) return SYN_E_BAD_ARG;
    host = h;
    if (*minor_inout > SYN_ABI_MINOR) *minor_inout = SYN_ABI_MINOR;
    *out = &plugin;
    return SYN_OK;
}
