import CSynSeccomp
import Glibc

/// Syscall name <-> number for the native architecture, via libseccomp.
public enum SyscallNames {
    /// The native syscall number of `name`, or nil if the native architecture has no such syscall.
    public static func number(of name: String) -> Int32? {
        guard !name.isEmpty, !name.utf8.contains(0) else { return nil }
        let number = seccomp_syscall_resolve_name(name)
        // Negative values are libseccomp's error code or pseudo numbers for syscalls of other architectures.
        return number >= 0 ? number : nil
    }

    /// The name of syscall `number` on `arch` (an `AUDIT_ARCH_*` / `SCMP_ARCH_*` token; nil for native), or nil.
    public static func name(of number: Int32, arch: UInt32? = nil) -> String? {
        guard number >= 0 else { return nil }
        guard let pointer = seccomp_syscall_resolve_num_arch(arch ?? csyn_scmp_arch_native(), number) else {
            return nil
        }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
