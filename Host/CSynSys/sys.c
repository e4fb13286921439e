#define _GNU_SOURCE
#include "CSynSys.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/eventfd.h>
#include <malloc.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int csyn_unshare(int flags) { return unshare(flags); }
pid_t csyn_fork(void) { return fork(); }

int csyn_probe_unshare(int flags) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) _exit(unshare(flags) == 0 ? 0 : (errno & 0xff));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
int csyn_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0, 0, 0); }
int csyn_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
int csyn_set_dumpable(int v) { return prctl(PR_SET_DUMPABLE, (unsigned long)v, 0, 0, 0); }

int csyn_lock_securebits(void) {
    unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                         SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED;
#ifdef SECBIT_NO_CAP_AMBIENT_RAISE
    bits |= SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
#endif
    return prctl(PR_SET_SECUREBITS, bits, 0, 0, 0);
}

int csyn_clear_ambient_caps(void) {
    int r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    return (r < 0 && errno == EINVAL) ? 0 : r; /* kernels without ambient caps */
}

int csyn_drop_bounding_set(void) {
    for (unsigned long cap = 0; cap <= 63; cap++) {
        if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break; /* EINVAL: past the kernel's last capability */
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) return -1;
    }
    return 0;
}

int csyn_mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data) {
    return mount(source, target, fstype, flags, data);
}

long csyn_mount_flags_of(const char *path) {
    struct statvfs s;
    if (statvfs(path, &s) != 0) return -1;
    long f = 0;
    if (s.f_flag & ST_RDONLY) f |= MS_RDONLY;
    if (s.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (s.f_flag & ST_NODEV) f |= MS_NODEV;
    if (s.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (s.f_flag & ST_NOATIME) f |= MS_NOATIME;
    if (s.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (s.f_flag & ST_RELATIME) f |= MS_RELATIME;
    return f;
}

int csyn_pivot_root(const char *new_root, const char *put_old) { return (int)syscall(SYS_pivot_root, new_root, put_old); }
int csyn_umount_detach(const char *target) { return umount2(target, MNT_DETACH); }

int csyn_set_rlimit(int which, uint64_t value) {
    int res;
    struct rlimit r = { (rlim_t)value, (rlim_t)value };
    switch (which) {
    case 0: res = RLIMIT_AS; break;
    case 1: res = RLIMIT_NOFILE; break;
    case 2: res = RLIMIT_NPROC; break;
    case 3: res = RLIMIT_CPU; r.rlim_max = (rlim_t)value + 1; break; /* SIGXCPU first, SIGKILL one second later */
    case 4: res = RLIMIT_FSIZE; break;
    case 5: res = RLIMIT_CORE; break;
    case 6: res = RLIMIT_STACK; break;
    default: errno = EINVAL; return -1;
    }
    return setrlimit(res, &r);
}

int csyn_write_file(const char *path, const char *data, size_t len) {
    int fd;
    do { fd = open(path, O_WRONLY | O_CLOEXEC); } while (fd < 0 && errno == EINTR);
    if (fd < 0) return -1;
    ssize_t n;
    do { n = write(fd, data, len); } while (n < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    errno = saved;
    return (n == (ssize_t)len) ? 0 : -1;
}

int csyn_send_frame(int fd, uint16_t kind, uint64_t request_id, uint32_t op, const void *payload, size_t len) {
    uint8_t buf[256];
    if (len > sizeof(buf) - 20) { errno = EMSGSIZE; return -1; }
    uint32_t total = (uint32_t)(20 + len);
    uint16_t flags = 0;
    /* Little-endian on every architecture Syneroym supports (x86_64, aarch64). */
    memcpy(buf, &total, 4);
    memcpy(buf + 4, &kind, 2);
    memcpy(buf + 6, &flags, 2);
    memcpy(buf + 8, &request_id, 8);
    memcpy(buf + 16, &op, 4);
    if (len) memcpy(buf + 20, payload, len);
    ssize_t n;
    do { n = write(fd, buf, total); } while (n < 0 && errno == EINTR);
    return n == (ssize_t)total ? 0 : -1;
}

static int sigsys_fd = -1;

static void sigsys_reporter(int sig, siginfo_t *info, void *uctx) {
    (void)sig; (void)uctx;
    int32_t payload[2] = { info->si_syscall, (int32_t)info->si_arch };
    csyn_send_frame(sigsys_fd, 7 /* fatal */, 0, 1 /* seccomp */, payload, sizeof(payload));
    syscall(SYS_exit_group, 159);
}

int csyn_install_sigsys_reporter(int fd) {
    sigsys_fd = fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = sigsys_reporter;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGSYS, &sa, NULL);
}

int csyn_getrandom(void *out, size_t n) {
    uint8_t *p = out;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        p += r; n -= (size_t)r;
    }
    return 0;
}

int csyn_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int csyn_pin_cpu(pid_t pid, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(pid, sizeof(set), &set);
}

int csyn_wifexited(int s) { return WIFEXITED(s); }
int csyn_wexitstatus(int s) { return WEXITSTATUS(s); }
int csyn_wifsignaled(int s) { return WIFSIGNALED(s); }
int csyn_wtermsig(int s) { return WTERMSIG(s); }

int csyn_spawn_worker(const char *path, char *const argv[], char *const envp[], int child_fd, int extra_fd,
                      int err_fd, pid_t *pid) {
    /* Move the inherited fds above the target numbers so dup2 order cannot clobber them. */
    int a = fcntl(child_fd, F_DUPFD_CLOEXEC, 10);
    if (a < 0) return errno;
    int b = -1;
    if (extra_fd >= 0 && (b = fcntl(extra_fd, F_DUPFD_CLOEXEC, 10)) < 0) { int e = errno; close(a); return e; }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (err_fd >= 0) posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    else posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, a, 3);
    if (b >= 0) posix_spawn_file_actions_adddup2(&fa, b, 4);
    posix_spawn_file_actions_addclosefrom_np(&fa, b >= 0 ? 5 : 4);
    /* Default signal dispositions and an empty mask in the child, whatever the host's threads block. */
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    int r = posix_spawn(pid, path, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(a);
    if (b >= 0) close(b);
    return r;
}

long long csyn_fd_size(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (long long)st.st_size : -1;
}

long long csyn_copy_fd_to_new_file(int in_fd, const char *path, unsigned mode) {
    int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) return -1;
    off_t offset = 0;
    long long total = 0;
    for (;;) {
        ssize_t n = sendfile(out, in_fd, &offset, 1 << 20);
        if (n < 0) { if (errno == EINTR) continue; int e = errno; close(out); errno = e; return -1; }
        if (n == 0) break;
        total += n;
    }
    if (close(out) != 0) return -1;
    return total;
}

int csyn_set_thread_name(const char *name) { return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0); }

int csyn_eventfd(int semaphore) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | (semaphore ? EFD_SEMAPHORE : 0)); }

pid_t csyn_clone_parent(void) { return (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0); }

int csyn_send_fds(int sock, int a, int b, int32_t tag) {
    int fds[2] = { a, b };
    return csyn_send_fd_array(sock, fds, b >= 0 ? 2 : 1, tag);
}

int csyn_recv_fds(int sock, int *a, int *b, int32_t *tag) {
    int fds[2] = { -1, -1 }, n = 0;
    int r = csyn_recv_fd_array(sock, fds, 2, &n, tag);
    *a = fds[0];
    *b = n > 1 ? fds[1] : -1;
    if (r == 0 && n < 1) { errno = EBADMSG; return -1; }
    return r;
}

int csyn_ignore_sigxfsz(void) { return signal(SIGXFSZ, SIG_IGN) == SIG_ERR ? -1 : 0; }

/* Control-message space for up to 8 descriptors, aligned for struct cmsghdr. */
typedef union { char bytes[CMSG_SPACE(sizeof(int) * 8)]; struct cmsghdr align; } fd_control;

int csyn_send_fd_array(int sock, const int *fds, int n, int32_t tag) {
    if (n < 1 || n > 8) { errno = EINVAL; return -1; }
    fd_control storage;
    char *control = storage.bytes;
    memset(control, 0, sizeof storage.bytes);
    struct iovec iov = { &tag, sizeof tag };
    struct msghdr msg = { 0 };
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
    ssize_t r;
    do { r = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (r < 0 && errno == EINTR);
    return r == (ssize_t)sizeof tag ? 0 : -1;
}

int csyn_recv_fd_array(int sock, int *fds, int max, int *n, int32_t *tag) {
    fd_control storage;
    char *control = storage.bytes;
    struct iovec iov = { tag, sizeof *tag };
    struct msghdr msg = { 0 };
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof storage.bytes;
    *n = 0;
    ssize_t r;
    do { r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    /* Every descriptor that arrived, from every control message, is either kept or closed. */
    int got = 0, all[8];
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + sizeof(int) * (size_t)i, sizeof fd);
            if (got < 8) all[got++] = fd; else close(fd);
        }
    }
    if (r == 0 && got == 0) return 1;
    int ok = r == (ssize_t)sizeof *tag && !(msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) && max >= 0 && max <= 8;
    for (int i = 0; i < got; i++) {
        if (ok && i < max) fds[(*n)++] = all[i];
        else close(all[i]);
    }
    if (!ok) {
        for (int i = 0; i < *n; i++) close(fds[i]);
        *n = 0;
        return -1;
    }
    return 0;
}

int csyn_malloc_trim(void) { return malloc_trim(0); }

int csyn_nice_thread(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}

int csyn_start_writeback(int fd, long long offset, long long count) {
    return sync_file_range(fd, (off64_t)offset, (off64_t)count, SYNC_FILE_RANGE_WRITE);
}
