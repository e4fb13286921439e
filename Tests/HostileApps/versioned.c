/*
 * versioned.c — one app in several versions, for the package, upgrade and rollback tests.
 *   -DAPP_ID='"notes"'         the manifest's id (default "notes")
 *   -DAPP_VERSION='"1.0.0"'    what the `version` method and synapp_magic report
 *   -DMAGIC_ID='"other"'       what synapp_magic reports as the app id (default APP_ID): a lying library
 *   -DMAGIC_ABI=2              the ABI major synapp_magic reports (default SYN_ABI_MAJOR)
 *   -DMIGRATION=0..3           what init does: 0 creates the notes table; 1 also adds a tags table (a good
 *                              migration); 2 runs a partial migration whose last statement fails, and returns that
 *                              error; 3 writes a row and then crashes (abort) in the middle of init.
 * Methods: version, put (body: a JSON string, stored as a note), count, tags (1 if the tags table exists).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "synapp.h"

#ifndef APP_ID
#define APP_ID "notes"
#endif
#ifndef APP_VERSION
#define APP_VERSION "1.0.0"
#endif
#ifndef MAGIC_ID
#define MAGIC_ID APP_ID
#endif
#ifndef MAGIC_ABI
#define MAGIC_ABI SYN_ABI_MAJOR
#endif
#ifndef MIGRATION
#define MIGRATION 0
#endif

static const syn_host *host;
static const syn_magic magic = { sizeof(syn_magic), MAGIC_ABI, SYN_ABI_MINOR, MAGIC_ID, APP_VERSION };
SYN_EXPORT const syn_magic *synapp_magic(void) { return &magic; }

static syn_buf text(const char *s) { return (syn_buf){ (const uint8_t *)s, strlen(s) }; }

static int is(const syn_request *r, const char *m) {
    return r->method.len == strlen(m) && memcmp(r->method.ptr, m, r->method.len) == 0;
}

static syn_status answer(syn_ctx *ctx, syn_response *res, const char *s) {
    size_t n = strlen(s);
    uint8_t *out = host->alloc(ctx, n ? n : 1);
    if (!out) return SYN_E_TOO_LARGE;
    memcpy(out, s, n);
    res->status = 200;
    res->body = (syn_buf){ out, n };
    return SYN_OK;
}

static syn_status exec(syn_ctx *ctx, const char *sql, const char *params) {
    return host->sql_exec(ctx, text(sql), text(params), NULL);
}

static syn_status init(syn_ctx *ctx, syn_buf config) {
    (void)config;
    syn_status s = exec(ctx, "CREATE TABLE IF NOT EXISTS notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL)", "[]");
    if (s != SYN_OK) return s;
    if (MIGRATION == 1) return exec(ctx, "CREATE TABLE IF NOT EXISTS tags(note INTEGER, tag TEXT)", "[]");
    if (MIGRATION == 2) {
        if ((s = exec(ctx, "CREATE TABLE IF NOT EXISTS tags(note INTEGER, tag TEXT)", "[]")) != SYN_OK) return s;
        if ((s = exec(ctx, "DELETE FROM notes", "[]")) != SYN_OK) return s;
        return exec(ctx, "INSERT INTO no_such_table VALUES (1)", "[]");
    }
    if (MIGRATION == 3) {
        exec(ctx, "DELETE FROM notes", "[]");
        abort();
    }
    return SYN_OK;
}

static syn_status handle(syn_ctx *ctx, const syn_request *req, syn_response *res) {
    syn_buf rows = { 0 };
    syn_status s;
    if (is(req, "version")) return answer(ctx, res, "\"" APP_VERSION "\"");
    if (is(req, "put")) {
        char params[600];
        if (req->body.len > 500) return SYN_E_TOO_LARGE;
        snprintf(params, sizeof params, "[%.*s]", (int)req->body.len, (const char *)req->body.ptr);
        if ((s = exec(ctx, "INSERT INTO notes(body) VALUES (?)", params)) != SYN_OK) return s;
        return answer(ctx, res, "\"ok\"");
    }
    if (is(req, "count") || is(req, "tags")) {
        const char *sql = is(req, "count") ? "SELECT count(*) FROM notes"
                                           : "SELECT count(*) FROM sqlite_schema WHERE name = 'tags'";
        if ((s = host->sql_query(ctx, text(sql), text("[]"), &rows)) != SYN_OK) return s;
        /* rows is [[n]]: answer n. */
        char out[64];
        size_t n = 0;
        for (size_t i = 0; i < rows.len && n < sizeof out - 1; i++)
            if (rows.ptr[i] >= '0' && rows.ptr[i] <= '9') out[n++] = (char)rows.ptr[i];
        out[n] = 0;
        return answer(ctx, res, out);
    }
    return SYN_E_NOT_FOUND;
}

static const syn_plugin plugin = { sizeof(syn_plugin), SYN_ABI_MINOR, init, handle, NULL, NULL };

SYN_EXPORT syn_status synapp_entry(const syn_host *h, uint32_t *minor, const syn_plugin **o) {
    host = h;
    *minor = SYN_ABI_MINOR;
    *o = &plugin;
    return SYN_OK;
}
