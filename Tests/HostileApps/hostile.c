/*
 * hostile.c — a SynApp that tries, one method each, to escape or break its sandbox.
 * Built by the tests with plain `cc -shared -fPIC`. Every attack must be stopped and classified; the host must
 * survive and other apps must keep answering.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "synapp.h"

static const syn_host *host;
static const syn_magic magic = { sizeof(syn_magic), SYN_ABI_MAJOR, SYN_ABI_MINOR, "hostile", "6.6.6" };
SYN_EXPORT const syn_magic *synapp_magic(void) { return &magic; }

static int is(const syn_request *r, const char *m) {
    return r->method.len == strlen(m) && memcmp(r->method.ptr, m, r->method.len) == 0;
}

static syn_status reply(syn_ctx *ctx, syn_response *res, const char *fmt, long a, long b) {
    char text[256];
    int n = snprintf(text, sizeof text, fmt, a, b);
    uint8_t *out = host->alloc(ctx, (size_t)n);
    if (!out) return SYN_E_TOO_LARGE;
    memcpy(out, text, (size_t)n);
    res->status = 200;
    res->body = (syn_buf){ out, (size_t)n };
    return SYN_OK;
}

static volatile int never;
static void *sleeper(void *arg) {
    (void)arg;
    for (;;) syscall(SYS_futex, &never, 0 /* FUTEX_WAIT */, 0, NULL, NULL, 0);
    return NULL;
}

static syn_status handle(syn_ctx *ctx, const syn_request *req, syn_response *res) {
    if (is(req, "ping")) return reply(ctx, res, "pong", 0, 0);
    if (is(req, "open_file")) {
        int fd = open("/etc/passwd", O_RDONLY);
        return reply(ctx, res, "opened fd %ld errno %ld", fd, errno);
    }
    if (is(req, "open_write")) { /* allowed opens are read-only: creating a file must be stopped */
        int fd = open("/tmp-escape", O_WRONLY | O_CREAT, 0600);
        return reply(ctx, res, "opened for writing fd %ld errno %ld", fd, errno);
    }
    if (is(req, "open_zone")) { /* what the swift profile binds in, read-only */
        int fd = open("/usr/share/zoneinfo/UTC", O_RDONLY);
        return reply(ctx, res, "zone fd %ld errno %ld", fd, errno);
    }
    if (is(req, "socket_inet")) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        return reply(ctx, res, "socket fd %ld errno %ld", fd, errno);
    }
    if (is(req, "fork")) {
        pid_t p = fork();
        if (p == 0) _exit(0);
        return reply(ctx, res, "forked %ld errno %ld", p, errno);
    }
    if (is(req, "execve")) {
        char *argv[] = { "/bin/sh", "-c", "id", NULL };
        execve("/bin/sh", argv, NULL);
        return reply(ctx, res, "execve failed errno %ld", errno, 0);
    }
    if (is(req, "ptrace")) {
        long r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        return reply(ctx, res, "ptrace %ld errno %ld", r, errno);
    }
    if (is(req, "unshare_user")) {
        int r = unshare(CLONE_NEWUSER);
        return reply(ctx, res, "unshare %ld errno %ld", r, errno);
    }
    if (is(req, "mount")) {
        int r = mount("none", "/app", "tmpfs", 0, NULL);
        return reply(ctx, res, "mount %ld errno %ld", r, errno);
    }
    if (is(req, "clone3")) {
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = CLONE_NEWUSER;
        args.exit_signal = SIGCHLD;
        long r = syscall(SYS_clone3, &args, sizeof args);
        if (r == 0) _exit(0);
        return reply(ctx, res, "clone3 %ld errno %ld", r, errno);
    }
    if (is(req, "mprotect_exec")) {
        void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED) return reply(ctx, res, "mmap failed errno %ld", errno, 0);
        int r = mprotect(page, 4096, PROT_READ | PROT_EXEC);
        return reply(ctx, res, "mprotect %ld errno %ld", r, errno);
    }
    if (is(req, "mmap_exec")) {
        void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return reply(ctx, res, "mmap %ld errno %ld", page == MAP_FAILED ? -1 : 0, errno);
    }
    if (is(req, "alloc_bomb")) {
        size_t total = 0;
        for (;;) {
            char *p = malloc(1 << 20);
            if (!p) return reply(ctx, res, "malloc failed after %ld MiB", (long)(total >> 20), 0);
            memset(p, 0xA5, 1 << 20);
            total += 1 << 20;
        }
    }
    if (is(req, "slow")) { /* busy for 300 ms of the monotonic clock (or the body's decimal ms), then a normal answer */
        char digits[16] = {0};
        memcpy(digits, req->body.ptr, req->body.len < 15 ? req->body.len : 15);
        unsigned long ms = strtoul(digits, NULL, 10);
        uint64_t until = host->clock_ns(ctx, 1) + (ms > 0 && ms <= 60000 ? ms : 300) * 1000000ull;
        while (host->clock_ns(ctx, 1) < until) never = never;
        return reply(ctx, res, "slow done", 9, 200);
    }
    if (is(req, "spin")) {
        for (;;) never = never;
    }
    if (is(req, "null_deref")) {
        *(volatile int *)(uintptr_t)never = 1;
        return reply(ctx, res, "survived", 0, 0);
    }
    if (is(req, "abort")) abort();
    if (is(req, "kill_init")) {
        int r = kill(1, SIGKILL);
        return reply(ctx, res, "kill %ld errno %ld", r, errno);
    }
    if (is(req, "big_response")) {
        /* body: the size in KiB, as decimal text */
        char digits[16] = {0};
        memcpy(digits, req->body.ptr, req->body.len < 15 ? req->body.len : 15);
        size_t n = (size_t)strtoul(digits, NULL, 10) * 1024;
        uint8_t *out = host->alloc(ctx, n);
        if (!out) return SYN_E_TOO_LARGE;
        memset(out, 'x', n);
        res->status = 200;
        res->body = (syn_buf){ out, n };
        return SYN_OK;
    }
    if (is(req, "garbage")) {
        uint8_t junk[64];
        for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37 + 11);
        write(3, junk, sizeof junk);
        return reply(ctx, res, "sent garbage", 0, 0);
    }
    if (is(req, "fake_reply")) {
        /* A frame header claiming to be a reply for another request id (the largest: the host's ids count up from
         * 1 across every worker of its process, so a small one could be this very call's). */
        uint8_t frame[24] = { 24, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 200, 0, 0, 0 };
        write(3, frame, sizeof frame);
        return reply(ctx, res, "sent fake reply", 0, 0);
    }
    if (is(req, "put_then_ok") || is(req, "put_then_500") || is(req, "put_then_error") || is(req, "put_then_crash")) {
        /* A write, then the request ends four ways: only the first may commit. */
        uint64_t version = 0;
        syn_status s = host->kv_put(ctx, (syn_buf){ (const uint8_t *)"k", 1 }, req->body, 0, &version);
        if (is(req, "put_then_crash")) *(volatile int *)(uintptr_t)never = 1;
        if (is(req, "put_then_error")) return SYN_E_CONFLICT;
        if (is(req, "put_then_500")) { syn_status r = reply(ctx, res, "failed %ld", s, 0); res->status = 500; return r; }
        return reply(ctx, res, "put %ld version %ld", s, (long)version);
    }
    if (is(req, "alloc_huge")) { /* alloc of (size_t)-1 and of SIZE_MAX/2: each must be NULL */
        void *all = host->alloc(ctx, (size_t)-1), *half = host->alloc(ctx, SIZE_MAX / 2);
        return reply(ctx, res, "minus-one %ld half %ld", all == NULL, half == NULL);
    }
    if (is(req, "log_flood")) {
        for (int i = 0; i < 5000; i++) host->log(ctx, SYN_LOG_INFO, (syn_buf){ (const uint8_t *)"flood", 5 });
        return reply(ctx, res, "flooded", 0, 0);
    }
    if (is(req, "fatal_flood")) {
        /* Forged seccomp reports, then more: the host keeps a few, classifies once, and kills. */
        uint8_t frame[28] = { 28, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 41, 0, 0, 0, 0x3e, 0, 0, 0xc0 };
        for (int i = 0; i < 10000; i++) write(3, frame, sizeof frame);
        for (;;) never = never;
    }
    if (is(req, "thread_bomb")) {
        long made = 0;
        int err = 0;
        for (;;) {
            pthread_t t;
            pthread_attr_t attr;
            pthread_attr_init(&attr);
            pthread_attr_setstacksize(&attr, 64 * 1024);
            err = pthread_create(&t, &attr, sleeper, NULL);
            pthread_attr_destroy(&attr);
            if (err != 0) break;
            made++;
        }
        return reply(ctx, res, "threads %ld err %ld", made, err);
    }
    return reply(ctx, res, "unknown", 0, 0);
}

static const syn_plugin plugin = { sizeof(syn_plugin), SYN_ABI_MINOR, NULL, handle, NULL, NULL };

SYN_EXPORT syn_status synapp_entry(const syn_host *h, uint32_t *minor, const syn_plugin **out) {
    host = h;
    *minor = SYN_ABI_MINOR;
    *out = &plugin;
    return SYN_OK;
}
