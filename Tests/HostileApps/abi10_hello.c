/* A SynApp built against the frozen v1.0 header (abi10/synapp.h): it knows only the 19 slots of minor 0 and
 * negotiates minor 0. A newer host must load and serve it unchanged.
 *   hello  -> "v1.0 app, host minor N, table size S" */
#include <stdio.h>
#include <string.h>
#include "abi10/synapp.h"

static const syn_host *host;
static const syn_magic magic = { sizeof(syn_magic), SYN_ABI_MAJOR, SYN_ABI_MINOR, "oldapp", "1.0.0" };

SYN_EXPORT const syn_magic *synapp_magic(void) { return &magic; }

static syn_status handle(syn_ctx *ctx, const syn_request *req, syn_response *res) {
    (void)req;
    char text[128];
    int n = snprintf(text, sizeof text, "v1.0 app, host minor %u, table size %u, mine %zu", host->minor, host->size, sizeof(syn_host));
    uint8_t *out = host->alloc(ctx, (size_t)n);
    if (!out) return SYN_E_TOO_LARGE;
    memcpy(out, text, (size_t)n);
    res->status = 200;
    res->body.ptr = out;
    res->body.len = (size_t)n;
    return SYN_OK;
}

static const syn_plugin plugin = { sizeof(syn_plugin), SYN_ABI_MINOR, NULL, handle, NULL, NULL };

SYN_EXPORT syn_status synapp_entry(const syn_host *h, uint32_t *minor_inout, const syn_plugin **out) {
    if (!h || !minor_inout || !out) return SYN_E_BAD_ARG;
    host = h;
    if (*minor_inout > SYN_ABI_MINOR) *minor_inout = SYN_ABI_MINOR;
    *out = &plugin;
    return SYN_OK;
}
