/*
 * sqlattack.c — an app written to attack the node through SQL, as the review did. Every attack runs inside this
 * app's own sandboxed worker; the tests check that only this app pays for it.
 *
 * Methods (the body is JSON text: a string's contents are used as is):
 *   sql, query          run the body through sql_exec / sql_query; "ok <changes>" or the rows, "ERR <status> <why>"
 *   put                 kv_put key=value
 *   commit_then_crash   puts "x", runs COMMIT through sql_exec, then dies (SIGSEGV)
 *   temp_fill           CREATE TEMP TABLE, then 1 MB zeroblobs until an insert fails
 *   direct_fts3         its own SQLite connection with the two-argument fts3_tokenizer turned on, then the injection
 *   direct_zeroblob     its own in-memory connection with the length limit raised to 2 GB, then the zeroblob bomb
 *   direct_open         sqlite3_open_v2 of a new file: "ERR <rc>" when refused
 *   direct_spin         its own in-memory connection running a query that never ends
 *   grow_fds            ftruncate and pwrite past the quota on every regular file descriptor it holds
 *   sys_<name>          one raw system call: openat_create, openat_read, unlink, rename, fcntl_lease,
 *                       fcntl_setown, stat_path
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "synapp.h"

static const syn_host *host;
static const syn_magic magic = { sizeof(syn_magic), SYN_ABI_MAJOR, SYN_ABI_MINOR, "sqlattack", "1.0.0" };
SYN_EXPORT const syn_magic *synapp_magic(void) { return &magic; }
static volatile int never;

/* The SQLite C API, found in the worker that already loaded it (no header, no link). */
typedef struct sqlite3 sqlite3;
static int (*open_v2)(const char *, sqlite3 **, int, const char *);
static int (*exec_sql)(sqlite3 *, const char *, int (*)(void *, int, char **, char **), void *, char **);
static int (*db_config)(sqlite3 *, int, ...);
static int (*set_limit)(sqlite3 *, int, int);
static const char *(*errmsg)(sqlite3 *);

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

static syn_status answer(syn_ctx *ctx, syn_response *res, const char *format, ...) __attribute__((format(printf, 3, 4)));
static syn_status answer(syn_ctx *ctx, syn_response *res, const char *format, ...) {
    char buf[2048];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(buf, sizeof buf, format, args);
    va_end(args);
    return text(ctx, res, buf, n < 0 ? 0 : (size_t)(n < (int)sizeof buf ? n : (int)sizeof buf - 1));
}

static syn_status failed(syn_ctx *ctx, syn_response *res, syn_status s) {
    syn_buf m = { 0 };
    host->last_error(ctx, &m);
    return answer(ctx, res, "ERR %d %.*s", (int)s, (int)m.len, (const char *)m.ptr);
}

static const syn_buf no_params = { (const uint8_t *)"[]", 2 };

static syn_status run(syn_ctx *ctx, const char *sql) {
    return host->sql_exec(ctx, (syn_buf){ (const uint8_t *)sql, strlen(sql) }, no_params, NULL);
}

static int bind_sqlite(void) {
    open_v2 = dlsym(RTLD_DEFAULT, "sqlite3_open_v2");
    exec_sql = dlsym(RTLD_DEFAULT, "sqlite3_exec");
    db_config = dlsym(RTLD_DEFAULT, "sqlite3_db_config");
    set_limit = dlsym(RTLD_DEFAULT, "sqlite3_limit");
    errmsg = dlsym(RTLD_DEFAULT, "sqlite3_errmsg");
    return open_v2 && exec_sql && db_config && set_limit && errmsg;
}

static sqlite3 *memory_db(void) {
    sqlite3 *db = NULL;
    if (!bind_sqlite() || open_v2(":memory:", &db, 0x02 | 0x04 | 0x80, NULL) != 0) return NULL; /* RW|CREATE|MEMORY */
    return db;
}

static syn_status handle(syn_ctx *ctx, const syn_request *original, syn_response *res) {
    syn_request unwrapped = *original;
    const syn_request *req = &unwrapped;
    if (original->body.len >= 2 && original->body.ptr[0] == '"' && original->body.ptr[original->body.len - 1] == '"')
        unwrapped.body = (syn_buf){ original->body.ptr + 1, original->body.len - 2 };
    syn_status s;
    if (is(req, "sql")) {
        uint64_t changes = 0;
        if ((s = host->sql_exec(ctx, req->body, no_params, &changes)) != SYN_OK) return failed(ctx, res, s);
        return answer(ctx, res, "ok %llu", (unsigned long long)changes);
    }
    if (is(req, "query")) {
        syn_buf rows;
        if ((s = host->sql_query(ctx, req->body, no_params, &rows)) != SYN_OK) return failed(ctx, res, s);
        return text(ctx, res, (const char *)rows.ptr, rows.len);
    }
    if (is(req, "put")) {
        for (size_t i = 0; i < req->body.len; i++)
            if (req->body.ptr[i] == '=') {
                s = host->kv_put(ctx, (syn_buf){ req->body.ptr, i }, (syn_buf){ req->body.ptr + i + 1, req->body.len - i - 1 }, 0, NULL);
                return s == SYN_OK ? text(ctx, res, "ok", 2) : failed(ctx, res, s);
            }
        return SYN_E_BAD_ARG;
    }
    if (is(req, "commit_then_crash")) {
        host->kv_put(ctx, (syn_buf){ (const uint8_t *)"x", 1 }, (syn_buf){ (const uint8_t *)"kept?", 5 }, 0, NULL);
        s = run(ctx, "COMMIT");
        if (s == SYN_OK) host->log(ctx, 2, (syn_buf){ (const uint8_t *)"COMMIT went through", 19 });
        *(volatile int *)(uintptr_t)never = 1;
        return SYN_OK;
    }
    if (is(req, "temp_fill")) {
        if ((s = run(ctx, "CREATE TEMP TABLE IF NOT EXISTS hoard(b BLOB)")) != SYN_OK) return failed(ctx, res, s);
        int n = 0;
        for (; n < 100000; n++)
            if ((s = run(ctx, "INSERT INTO hoard VALUES (zeroblob(1000000))")) != SYN_OK) break;
        syn_buf m = { 0 };
        host->last_error(ctx, &m);
        return answer(ctx, res, "inserted %d then ERR %d %.*s", n, (int)s, (int)m.len, (const char *)m.ptr);
    }
    if (is(req, "direct_fts3")) {
        sqlite3 *db = memory_db();
        if (!db) return answer(ctx, res, "no sqlite");
        int on = -1;
        db_config(db, 1004, 1, &on); /* SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER */
        char *error = NULL;
        int rc = exec_sql(db, "SELECT fts3_tokenizer('evil', x'4141414141414141');"
                              "CREATE VIRTUAL TABLE t USING fts3(content, tokenize=evil);", NULL, NULL, &error);
        return answer(ctx, res, "survived rc %d %s", rc, error ? error : "");
    }
    if (is(req, "direct_zeroblob")) {
        sqlite3 *db = memory_db();
        if (!db) return answer(ctx, res, "no sqlite");
        set_limit(db, 0, 2000000000); /* SQLITE_LIMIT_LENGTH */
        char *error = NULL;
        int rc = exec_sql(db, "SELECT length(a||x'00'), length(b||x'00'), length(c||x'00') FROM (SELECT zeroblob(900000000) a, "
                              "zeroblob(900000000) b, zeroblob(900000000) c)", NULL, NULL, &error);
        return answer(ctx, res, "survived rc %d %s", rc, error ? error : "");
    }
    if (is(req, "direct_open")) {
        sqlite3 *db = NULL;
        if (!bind_sqlite()) return answer(ctx, res, "no sqlite");
        int rc = open_v2("/tmp/stolen.db", &db, 0x02 | 0x04, NULL);
        char *error = NULL;
        if (rc == 0) rc = exec_sql(db, "CREATE TABLE t(x)", NULL, NULL, &error);
        return answer(ctx, res, "ERR %d %s", rc, error ? error : (db ? errmsg(db) : ""));
    }
    if (is(req, "direct_spin")) {
        sqlite3 *db = memory_db();
        if (!db) return answer(ctx, res, "no sqlite");
        exec_sql(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", NULL, NULL, NULL);
        return answer(ctx, res, "the query ended");
    }
    if (is(req, "grow_fds")) {
        int files = 0, refused = 0;
        static char page[4096];
        for (int fd = 0; fd < 64; fd++) {
            struct stat st;
            if (syscall(SYS_fstat, fd, &st) != 0 || !S_ISREG(st.st_mode)) continue;
            files++;
            if (ftruncate(fd, (off_t)1 << 30) != 0 && errno == EFBIG) refused++;
            if (pwrite(fd, page, sizeof page, (off_t)1 << 30) < 0 && errno == EFBIG) refused++;
        }
        return answer(ctx, res, "files %d refused %d", files, refused);
    }
    if (is(req, "sys_openat_create")) syscall(SYS_openat, AT_FDCWD, "/planted", O_WRONLY | O_CREAT, 0644);
    else if (is(req, "sys_openat_read")) syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
    else if (is(req, "sys_unlink")) syscall(SYS_unlink, "/syneroym/app.db");
    else if (is(req, "sys_rename")) syscall(SYS_rename, "/syneroym/app.db", "/syneroym/gone.db");
    else if (is(req, "sys_fcntl_lease")) syscall(SYS_fcntl, 5, 1024 /* F_SETLEASE */, 1 /* F_WRLCK */);
    else if (is(req, "sys_fcntl_setown")) syscall(SYS_fcntl, 5, 8 /* F_SETOWN */, 1);
    else if (is(req, "sys_stat_path")) { struct stat st; syscall(SYS_newfstatat, AT_FDCWD, "/", &st, 0); }
    else return text(ctx, res, "unknown", 7);
    return answer(ctx, res, "the call returned (errno %d)", errno);
}

static const syn_plugin plugin = { sizeof(syn_plugin), SYN_ABI_MINOR, NULL, handle, NULL, NULL };

SYN_EXPORT syn_status synapp_entry(const syn_host *h, uint32_t *minor, const syn_plugin **o) {
    host = h;
    *minor = SYN_ABI_MINOR;
    *o = &plugin;
    return SYN_OK;
}
