/*
 * hostile_ctor.c — a SynApp whose constructor attacks while dlopen is still running (seccomp stage A).
 * Compile with -DATTACK_<NAME>. The constructor's result, if it survives, is reported by method `report`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include "synapp.h"

static const syn_host *host;
static char report[128] = "constructor ran nothing";
static volatile int never;

__attribute__((constructor)) static void attack(void) {
#if defined(ATTACK_OPEN_READ)
    int fd = open("/etc/passwd", O_RDONLY);
    snprintf(report, sizeof report, "open /etc/passwd: fd %d errno %d", fd, fd < 0 ? errno : 0);
#elif defined(ATTACK_OPEN_WRITE)
    int fd = open("/app/owned", O_WRONLY | O_CREAT, 0644);
    snprintf(report, sizeof report, "open for write: fd %d errno %d", fd, errno);
#elif defined(ATTACK_SOCKET)
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    snprintf(report, sizeof report, "socket: fd %d errno %d", fd, errno);
#elif defined(ATTACK_FORK)
    pid_t p = fork();
    if (p == 0) _exit(0);
    snprintf(report, sizeof report, "fork: %d", p);
#elif defined(ATTACK_EXECVE)
    char *argv[] = { "/bin/sh", NULL };
    execve("/bin/sh", argv, NULL);
#elif defined(ATTACK_MPROTECT_EXEC)
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int r = mprotect(page, 4096, PROT_READ | PROT_EXEC);
    snprintf(report, sizeof report, "mprotect: %d", r);
#elif defined(ATTACK_MMAP_EXEC)
    void *page = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    snprintf(report, sizeof report, "mmap exec: %p", page);
#elif defined(ATTACK_NULL_DEREF)
    *(volatile int *)(uintptr_t)never = 1;
#elif defined(ATTACK_ALLOC_BOMB)
    for (;;) { char *p = malloc(1 << 20); if (!p) break; memset(p, 1, 1 << 20); }
#elif defined(ATTACK_SPIN)
    for (;;) never = never;
#elif defined(ATTACK_GARBAGE)
    uint8_t junk[40];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(0xF0 ^ i);
    write(3, junk, sizeof junk);
#elif defined(ATTACK_ABORT)
    abort();
#endif
}

static const syn_magic magic = { sizeof(syn_magic), SYN_ABI_MAJOR, SYN_ABI_MINOR, "hostile-ctor", "6.6.6" };
SYN_EXPORT const syn_magic *synapp_magic(void) { return &magic; }

static syn_status handle(syn_ctx *ctx, const syn_request *req, syn_response *res) {
    (void)req;
    size_t n = strlen(report);
    uint8_t *out = host->alloc(ctx, n);
    memcpy(out, report, n);
    res->status = 200;
    res->body = (syn_buf){ out, n };
    return SYN_OK;
}

static const syn_plugin plugin = { sizeof(syn_plugin), SYN_ABI_MINOR, NULL, handle, NULL, NULL };

SYN_EXPORT syn_status synapp_entry(const syn_host *h, uint32_t *minor, const syn_plugin **out) {
    host = h;
    *minor = SYN_ABI_MINOR;
    *out = &plugin;
    return SYN_OK;
}
