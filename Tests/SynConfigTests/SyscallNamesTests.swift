import SynConfig
import Testing

/// Syscall name <-> number through libseccomp.
@Suite struct SyscallNamesTests {
    @Test func roundTrip() throws {
        for name in ["read", "write", "exit_group", "futex", "openat", "getrandom"] {
            let number = try #require(SyscallNames.number(of: name))
            #expect(SyscallNames.name(of: number) == name)
        }
    }

    #if arch(x86_64)
    @Test func x86Numbers() {
        #expect(SyscallNames.number(of: "read") == 0)
        #expect(SyscallNames.number(of: "exit_group") == 231)
        #expect(SyscallNames.name(of: 231) == "exit_group")
        // AUDIT_ARCH_X86_64, as the worker's SIGSYS reporter sends it.
        #expect(SyscallNames.name(of: 0, arch: 0xC000_003E) == "read")
    }
    #endif

    @Test func unknownNames() {
        #expect(SyscallNames.number(of: "") == nil)
        #expect(SyscallNames.number(of: "no_such_syscall") == nil)
        #expect(SyscallNames.number(of: "READ") == nil)
        #expect(SyscallNames.name(of: -1) == nil)
        #expect(SyscallNames.name(of: 99_999) == nil)
    }
}
