/// Syscall rules that no profile can change, shared by profile validation (host) and the filter (worker).
public enum SyscallPolicy {
    /// Never allowed, whatever a profile lists: namespace and mount changes, tracing, kernel objects that widen
    /// the attack surface, new sockets, new programs and new processes.
    public static let alwaysDenied: [String] = [
        "unshare", "setns", "ptrace", "mount", "umount2", "pivot_root", "bpf", "keyctl", "add_key", "request_key",
        "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "socket",
        "socketpair", "execve", "execveat", "fork", "vfork", "kexec_load", "init_module", "finit_module",
        "process_vm_readv", "process_vm_writev", "open_tree", "move_mount", "fsopen", "fsmount", "chroot",
        "seccomp", "personality", "clone3", "tkill",
    ]
}
