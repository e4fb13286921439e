/*
 * fetcher.c — a test app for net_request (app id "fetcher").
 *   fetch  body {"url":"https://..."}: GET the URL; answers "<http status> <body bytes>" or "ERR <syn_status> <last_error>".
 */
#include <stdio.h>
#include <string.h>
#include "synapp.h"

static const syn_host *host;
static const syn_magic magic = { sizeof(syn_magic), SYN_ABI_MAJOR, SYN_ABI_MINOR, "fetcher", "1.0.0" };
SYN_EXPORT const syn_magic *synapp_magic(void) { return &magic; }

static syn_buf str(const char *s) { return (syn_buf){ (const uint8_t *)s, strlen(s) }; }

static syn_status answer(syn_ctx *ctx, syn_response *res, const char *s, size_t n) {
    uint8_t *out = host->alloc(ctx, n ? n : 1);
    if (!out) return SYN_E_TOO_LARGE;
    memcpy(out, s, n);
    res->status = 200;
    res->body = (syn_buf){ out, n };
    return SYN_OK;
}

static syn_status handle(syn_ctx *ctx, const syn_request *req, syn_response *res) {
    char body[600], url[512], buf[1200];
    size_t n = req->body.len < sizeof body - 1 ? req->body.len : sizeof body - 1;
    memcpy(body, req->body.ptr, n);
    body[n] = 0;
    unsigned timeout = 5000;
    // {"url":"U"} or {"url":"U","timeout":MS}
    if (sscanf(body, "{\"url\":\"%511[^\"]\",\"timeout\":%u}", url, &timeout) < 1) return answer(ctx, res, "\"bad body\"", 10);
    uint32_t status = 0;
    syn_buf response = { 0 };
    syn_status s = host->net_request(ctx, str("GET"), str(url), str("{\"Accept\":\"text/plain\"}"), (syn_buf){ 0 }, timeout,
                                     &status, &response);
    int len;
    if (s != SYN_OK) {
        syn_buf m = { 0 };
        host->last_error(ctx, &m);
        len = snprintf(buf, sizeof buf, "\"ERR %d %.*s\"", (int)s, (int)(m.len > 900 ? 900 : m.len), (const char *)m.ptr);
        for (int i = 1; i < len - 1; i++) if (buf[i] == '"' || buf[i] == '\\') buf[i] = '\'';
    } else {
        len = snprintf(buf, sizeof buf, "\"%u %zu %.*s\"", status, response.len, (int)(response.len > 40 ? 40 : response.len),
                       (const char *)response.ptr);
    }
    return answer(ctx, res, buf, (size_t)len);
}

static const syn_plugin plugin = { sizeof(syn_plugin), SYN_ABI_MINOR, NULL, handle, NULL, NULL };

SYN_EXPORT syn_status synapp_entry(const syn_host *h, uint32_t *minor_inout, const syn_plugin **out) {
    host = h;
    if (*minor_inout > SYN_ABI_MINOR) *minor_inout = SYN_ABI_MINOR;
    *out = &plugin;
    return SYN_OK;
}
