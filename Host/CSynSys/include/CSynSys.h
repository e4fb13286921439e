/* CSynSys: thin shims over Linux kernel interfaces that Swift cannot import directly (variadic prctl, syscall-only
 * calls, function-like macros) and the async-signal-safe SIGSYS reporter. Each returns -1 and leaves errno set on
 * failure unless noted. */
#ifndef CSYN_SYS_H
#define CSYN_SYS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Namespace flags for csyn_unshare. */
#define CSYN_NS_USER 0x10000000
#define CSYN_NS_MOUNT 0x00020000
#define CSYN_NS_PID 0x20000000
#define CSYN_NS_NET 0x40000000
#define CSYN_NS_IPC 0x08000000
#define CSYN_NS_UTS 0x04000000

/* The corresponding C function is `unshare`. */
int csyn_unshare(int flags);
/* The corresponding C function is `fork`. Only for single-threaded callers. */
pid_t csyn_fork(void);
/* Forks a child that tries unshare(flags) and exits; returns 0 if it could, its errno if not, -1 if the probe
 * itself failed. The child calls only unshare and _exit, so this is safe in a threaded process. */
int csyn_probe_unshare(int flags);
/* Returns freed heap memory to the kernel. The corresponding C function is `malloc_trim`. */
int csyn_malloc_trim(void);
/* Starts writing back [offset, offset+count) of fd's dirty pages without waiting (sync_file_range, WRITE). */
int csyn_start_writeback(int fd, long long offset, long long count);
/* Lowers the calling thread's CPU priority to `nice` (threads it starts inherit it); 0 or -1 with errno. */
int csyn_nice_thread(int nice);
/* prctl(PR_SET_PDEATHSIG, sig). */
int csyn_set_parent_death_signal(int sig);
/* prctl(PR_SET_NO_NEW_PRIVS, 1). */
int csyn_set_no_new_privs(void);
/* prctl(PR_SET_DUMPABLE, v). */
int csyn_set_dumpable(int v);
/* Locks securebits so that uid 0 never regains capabilities: NOROOT, NO_SETUID_FIXUP, KEEP_CAPS off, all locked. */
int csyn_lock_securebits(void);
/* Clears the ambient capability set. */
int csyn_clear_ambient_caps(void);
/* Drops every capability from the bounding set up to the kernel's last one. */
int csyn_drop_bounding_set(void);
/* The corresponding C function is `mount`. */
int csyn_mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data);
/* MS_* flags used by the sandbox. */
#define CSYN_MS_RDONLY 1UL
#define CSYN_MS_NOSUID 2UL
#define CSYN_MS_NODEV 4UL
#define CSYN_MS_NOEXEC 8UL
#define CSYN_MS_REMOUNT 32UL
#define CSYN_MS_BIND 4096UL
#define CSYN_MS_REC 16384UL
#define CSYN_MS_PRIVATE (1UL << 18)
/* Returns the MS_* flags of the mount holding `path` (from statvfs), or -1. */
long csyn_mount_flags_of(const char *path);
/* The corresponding syscall is `pivot_root`. */
int csyn_pivot_root(const char *new_root, const char *put_old);
/* umount2(target, MNT_DETACH). */
int csyn_umount_detach(const char *target);
/* Sets soft and hard limit of one resource. which: 0 AS, 1 NOFILE, 2 NPROC, 3 CPU (soft; hard = soft+1), 4 FSIZE,
 * 5 CORE, 6 STACK. */
int csyn_set_rlimit(int which, uint64_t value);
/* Copies all of in_fd (from offset 0) into a new file at `path` with `mode`, via sendfile. Returns bytes or -1. */
long long csyn_copy_fd_to_new_file(int in_fd, const char *path, unsigned mode);
/* Size of the file behind fd, or -1. */
long long csyn_fd_size(int fd);
/* Writes `len` bytes of `data` to `path` (open O_WRONLY, one write). */
int csyn_write_file(const char *path, const char *data, size_t len);
/* Installs a SIGSYS handler that sends a `fatal` frame (op 1: {i32 syscall, u32 arch}) on `fd` and exits 159. */
int csyn_install_sigsys_reporter(int fd);
/* Sends one frame on fd: the 20-byte header (length, kind, flags=0, request_id, op) then payload, in one write. */
int csyn_send_frame(int fd, uint16_t kind, uint64_t request_id, uint32_t op, const void *payload, size_t len);
/* getrandom(2), retrying on EINTR and short reads. Returns 0 or -1. */
int csyn_getrandom(void *out, size_t n);
/* eventfd(2), close-on-exec and non-blocking; semaphore mode when `semaphore` is non-zero. */
int csyn_eventfd(int semaphore);
/// Names the calling thread (at most 15 bytes are kept), for ps, top and perf.
int csyn_set_thread_name(const char *name);
/* pidfd_open(2). */
int csyn_pidfd_open(pid_t pid);
/* Pins the calling thread (pid 0) or process to one CPU. */
int csyn_pin_cpu(pid_t pid, int cpu);
/* Decoding helpers for wait statuses. */
int csyn_wifexited(int status);
int csyn_wexitstatus(int status);
int csyn_wifsignaled(int status);
int csyn_wtermsig(int status);
/* Spawns `path` with argv/envp, the child's fd 3 = child_fd (dup2'd), stdin/stdout = /dev/null, stderr = err_fd
 * (or /dev/null if -1), all other fds closed on exec. Uses posix_spawn. Returns 0 and sets *pid, or an errno. */
int csyn_spawn_worker(const char *path, char *const argv[], char *const envp[], int child_fd, int extra_fd,
                      int err_fd, pid_t *pid);
/* clone(CLONE_PARENT | SIGCHLD) with no new stack: returns twice like fork, but the child's parent is the
 * caller's parent. Only for single-threaded callers. */
pid_t csyn_clone_parent(void);
/* Sends two descriptors (b may be -1) and a 4-byte tag over a unix socket with SCM_RIGHTS. */
int csyn_send_fds(int sock, int a, int b, int32_t tag);
/* Receives what csyn_send_fds sent: returns 0 and sets *a, *b (-1 if absent), *tag; 1 on end of file; -1 on error. */
int csyn_recv_fds(int sock, int *a, int *b, int32_t *tag);
/* Ignores SIGXFSZ, so a write past RLIMIT_FSIZE fails with EFBIG instead of killing the process. */
int csyn_ignore_sigxfsz(void);
/* Sends `n` descriptors (1...8) and a 4-byte tag in one message over a unix socket with SCM_RIGHTS. 0 or -1. */
int csyn_send_fd_array(int sock, const int *fds, int n, int32_t tag);
/* Receives one csyn_send_fd_array message: at most `max` (≤ 8) descriptors into fds, their count into *n (extras are
 * closed), the tag into *tag. Returns 0, 1 on end of file, or -1 on error (no descriptors are left open then). */
int csyn_recv_fd_array(int sock, int *fds, int max, int *n, int32_t *tag);
#endif
