import SynConfig
import SynTestSupport
import Testing

/// Parsing and refusing sandbox profiles.
@Suite struct SandboxProfileTests {
    /// Parses `text` and returns the error it must raise.
    func refuse(_ text: String) -> ConfigError? {
        configError { () throws(ConfigError) in try SandboxProfile.parse(text, file: "p.toml") }
    }

    @Test func minimalProfileGetsDefaults() throws {
        let profile = try SandboxProfile.parse("[profile]\nname = \"tiny\"\n", file: "p.toml")
        #expect(profile == SandboxProfile(name: "tiny"))
        #expect(profile.defaultAction == .kill)
        #expect(profile.defaultErrno == 38)
        #expect(profile.limits == SandboxProfile.Limits())
        #expect(profile.limits.queueDepth == 64)
        #expect(profile.path == nil)
    }

    @Test func fullProfile() throws {
        let text = """
            [profile]
            name = "compat_1"
            description = "test"
            default_action = "errno"
            default_errno = "EPERM"
            threads = true
            exec_memory = true

            [syscalls]
            allow = ["read", "write"]
            errno = { openat = "ENOENT", readlink = 13 }

            [filesystem]
            zoneinfo = true

            [limits]
            memory_mb = 8
            pids = 4096
            cpu_percent = 50
            call_timeout_ms = 600000
            max_frame_kb = 1
            open_files = 4
            cpu_seconds = 1
            instances = 64
            queue_depth = 0
            """
        let profile = try SandboxProfile.parse(text, file: "p.toml")
        #expect(profile.defaultAction == .errno)
        #expect(profile.defaultErrno == 1)
        #expect(profile.threads && profile.execMemory)
        #expect(profile.allow == ["read", "write"])
        #expect(profile.errnoOverrides == ["openat": 2, "readlink": 13])
        #expect(profile.filesystem == SandboxProfile.Filesystem(zoneinfo: true))
        #expect(profile.limits == SandboxProfile.Limits(
            memoryMB: 8, pids: 4096, cpuPercent: 50, callTimeoutMs: 600_000, maxFrameKB: 1, openFiles: 4,
            cpuSeconds: 1, instances: 64, queueDepth: 0))
    }

    @Test func errnoAsTableAndNumbers() throws {
        let text = """
            [profile]
            name = "x"
            default_errno = 95

            [syscalls.errno]
            openat = "EOPNOTSUPP"
            readlinkat = "ENOTSUP"
            """
        let profile = try SandboxProfile.parse(text, file: "p.toml")
        #expect(profile.defaultErrno == 95)
        #expect(profile.errnoOverrides == ["openat": 95, "readlinkat": 95])
    }

    @Test func unknownSyscallInMultiLineArray() {
        let text = """
            [profile]
            name = "x"

            [syscalls]
            allow = [
                "read",
                "wirte",
                "exit_group",
            ]
            """
        let error = refuse(text)
        #expect(error?.code == .unknownSyscall)
        #expect(error?.line == 7)
        #expect(error?.key == "syscalls.allow")
        #expect(error?.file == "p.toml")
        #expect(error?.message.contains("'wirte'") == true)
    }

    @Test func unknownSyscallOnOneLine() {
        let error = refuse("[profile]\nname = \"x\"\n[syscalls]\nallow = [\"read\", \"frobnicate\"]\n")
        #expect(error?.code == .unknownSyscall)
        #expect(error?.line == 4)
        #expect(error?.key == "syscalls.allow")
    }

    @Test func syscallOfAnotherArchitectureIsUnknown() {
        // socketcall exists on i386 but not on x86_64 or aarch64.
        let error = refuse("[profile]\nname = \"x\"\n[syscalls]\nallow = [\"socketcall\"]\n")
        #expect(error?.code == .unknownSyscall)
    }

    @Test func unknownSyscallInErrno() {
        let error = refuse("[profile]\nname = \"x\"\n[syscalls]\nerrno = { openat = \"ENOENT\", nope = \"EPERM\" }\n")
        #expect(error?.code == .unknownSyscall)
        #expect(error?.line == 4)
        #expect(error?.key == "syscalls.errno.nope")
    }

    @Test func negativeLimit() {
        let error = refuse("[profile]\nname = \"x\"\n\n[limits]\npids = 8\nmemory_mb = -5\n")
        #expect(error?.code == .badValue)
        #expect(error?.line == 6)
        #expect(error?.key == "limits.memory_mb")
        #expect(error?.message == "limits.memory_mb must be between 8 and 65536, got -5")
        #expect(error?.description == "p.toml:6: key 'limits.memory_mb': limits.memory_mb must be between 8 and 65536, got -5")
    }

    @Test(arguments: [
        ("memory_mb", "999999999"), ("pids", "0"), ("cpu_percent", "6401"), ("call_timeout_ms", "600001"),
        ("max_frame_kb", "65537"), ("open_files", "3"), ("cpu_seconds", "0"), ("instances", "65"),
        ("queue_depth", "-1"), ("queue_depth", "100001"),
    ])
    func absurdLimits(key: String, value: String) {
        let error = refuse("[profile]\nname = \"x\"\n[limits]\n\(key) = \(value)\n")
        #expect(error?.code == .badValue)
        #expect(error?.line == 4)
        #expect(error?.key == "limits.\(key)")
        #expect(error?.message.hasSuffix("got \(value)") == true)
    }

    @Test func integerTooLargeForTOMLIsSyntaxError() {
        let error = refuse("[profile]\nname = \"x\"\n[limits]\nmemory_mb = 99999999999999999999999\n")
        #expect(error?.code == .syntax)
        #expect(error?.line == 4)
        #expect(error?.key == "limits.memory_mb")
    }

    @Test func unknownKeyInTable() {
        let error = refuse("[profile]\nname = \"x\"\n[limits]\npids = 4\nmemory = 64\n")
        #expect(error?.code == .unknownKey)
        #expect(error?.line == 5)
        #expect(error?.key == "limits.memory")
        #expect(error?.message.contains("valid keys: memory_mb, pids") == true)
        #expect(error?.message.contains("did you mean 'memory_mb'?") == true)
    }

    @Test func unknownKeyReportedInFileOrder() {
        let error = refuse("[profile]\nname = \"x\"\nzzz = 1\naaa = 2\n")
        #expect(error?.key == "profile.zzz")
        #expect(error?.line == 3)
    }

    @Test func unknownTable() {
        let error = refuse("[profile]\nname = \"x\"\n\n[network]\nallow = true\n")
        #expect(error?.code == .unknownKey)
        #expect(error?.line == 4)
        #expect(error?.key == "network")
        #expect(error?.message.contains("unknown table [network]") == true)
        #expect(error?.message.contains("[limits]") == true)
    }

    @Test func unknownDottedTable() {
        let error = refuse("[profile]\nname = \"x\"\n[limits.extra]\nfoo = 1\n")
        #expect(error?.code == .unknownKey)
        #expect(error?.key == "limits.extra")
        #expect(error?.line == 3)
        let unknown = refuse("[profile]\nname = \"x\"\n[filesystem.devices]\nmount = true\n")
        #expect(unknown?.code == .unknownKey)
        #expect(unknown?.line == 3)
        #expect(unknown?.key == "filesystem.devices")
    }

    @Test func wrongTypes() {
        let memory = refuse("[profile]\nname = \"x\"\n[limits]\nmemory_mb = \"64\"\n")
        #expect(memory?.code == .badType)
        #expect(memory?.line == 4)
        #expect(memory?.message.contains("must be an integer between 8 and 65536, got string \"64\"") == true)

        let threads = refuse("[profile]\nname = \"x\"\nthreads = \"yes\"\n")
        #expect(threads?.code == .badType)
        #expect(threads?.key == "profile.threads")
        #expect(threads?.line == 3)

        let allow = refuse("[profile]\nname = \"x\"\n[syscalls]\nallow = \"read\"\n")
        #expect(allow?.code == .badType)
        #expect(allow?.key == "syscalls.allow")

        let element = refuse("[profile]\nname = \"x\"\n[syscalls]\nallow = [\n  \"read\",\n  3,\n]\n")
        #expect(element?.code == .badType)
        #expect(element?.line == 6)

        let float = refuse("[profile]\nname = \"x\"\n[limits]\npids = 1.5\n")
        #expect(float?.code == .badType)

        let table = refuse("[profile]\nname = \"x\"\nlimits = 5\n")
        #expect(table?.code == .unknownKey)
        #expect(table?.key == "profile.limits")

        let topLevel = refuse("limits = 5\n[profile]\nname = \"x\"\n")
        #expect(topLevel?.code == .badType)
        #expect(topLevel?.key == "limits")
        #expect(topLevel?.line == 1)
    }

    @Test func syntaxError() {
        let error = refuse("[profile]\nname = \"x\"\n\n[limits]\nmemory_mb = = 5\n")
        #expect(error?.code == .syntax)
        #expect(error?.line == 5)
        #expect(error?.file == "p.toml")
    }

    @Test func unterminatedString() {
        let error = refuse("[profile]\nname = \"x\ndescription = \"y\"\n")
        #expect(error?.code == .syntax)
        #expect(error?.line == 2)
    }

    @Test func deepNestingIsRefusedWithoutCrashing() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = refuse("[profile]\nname = \"x\"\n[syscalls]\nallow = \(deep)\n")
        #expect(error?.code == .syntax)
        #expect(error?.line == 4)
        #expect(error?.key == "syscalls.allow")
    }

    @Test func nulByteIsRefused() {
        let error = refuse("[profile]\nname = \"x\"\n\u{0}[limits]\n")
        #expect(error?.code == .syntax)
        #expect(error?.line == 3)
    }

    @Test func missingName() {
        let error = refuse("# comment\n[profile]\ndescription = \"x\"\n")
        #expect(error?.code == .missingKey)
        #expect(error?.key == "profile.name")
        #expect(error?.line == 2)

        let noTable = refuse("[limits]\npids = 3\n")
        #expect(noTable?.code == .missingKey)
        #expect(noTable?.key == "profile")
    }

    @Test(arguments: ["", "Default", "-x", "a b", String(repeating: "a", count: 64)])
    func badProfileName(name: String) {
        let error = refuse("[profile]\nname = \"\(name)\"\n")
        #expect(error?.code == .badValue)
        #expect(error?.key == "profile.name")
        #expect(error?.line == 2)
    }

    @Test func badDefaultAction() {
        let error = refuse("[profile]\nname = \"x\"\ndefault_action = \"trap\"\n")
        #expect(error?.code == .badValue)
        #expect(error?.key == "profile.default_action")
        #expect(error?.line == 3)
    }

    @Test(arguments: ["\"ENOPE\"", "0", "4096", "-1"])
    func badDefaultErrno(value: String) {
        let error = refuse("[profile]\nname = \"x\"\ndefault_errno = \(value)\n")
        #expect(error?.code == .badValue)
        #expect(error?.key == "profile.default_errno")
        #expect(error?.message.contains("ENOENT") == true)
    }

    @Test func duplicateAllowed() {
        let error = refuse("[profile]\nname = \"x\"\n[syscalls]\nallow = [\n\"read\",\n\"write\",\n\"read\",\n]\n")
        #expect(error?.code == .badValue)
        #expect(error?.line == 7)
        #expect(error?.message.contains("more than once") == true)
    }

    @Test func allowedAndErrno() {
        let text = "[profile]\nname = \"x\"\n[syscalls]\nallow = [\"read\", \"openat\"]\n[syscalls.errno]\nopenat = \"ENOENT\"\n"
        let error = refuse(text)
        #expect(error?.code == .badValue)
        #expect(error?.key == "syscalls.errno.openat")
        #expect(error?.line == 6)
    }

    @Test func badErrnoValues() {
        let name = refuse("[profile]\nname = \"x\"\n[syscalls]\nerrno = { openat = \"ENOTHING\" }\n")
        #expect(name?.code == .badValue)
        #expect(name?.key == "syscalls.errno.openat")
        #expect(name?.line == 4)

        let number = refuse("[profile]\nname = \"x\"\n[syscalls.errno]\nopenat = 1\nreadlink = 5000\n")
        #expect(number?.code == .badValue)
        #expect(number?.key == "syscalls.errno.readlink")
        #expect(number?.line == 5)

        let type = refuse("[profile]\nname = \"x\"\n[syscalls.errno]\nopenat = true\n")
        #expect(type?.code == .badType)
    }

    @Test func loadReportsUnreadableFile() {
        let dir = TempDir()
        let error = configError { () throws(ConfigError) in try SandboxProfile.load(path: dir.path + "/missing.toml") }
        #expect(error?.code == .unreadable)
        #expect(error?.file == dir.path + "/missing.toml")
        #expect(error?.message.contains("ENOENT") == true)
    }

    @Test func loadFromFileUsesPathInErrors() {
        let dir = TempDir()
        let path = dir.write("bad.toml", "[profile]\nname = \"x\"\n[limits]\npids = 0\n")
        let error = configError { () throws(ConfigError) in try SandboxProfile.load(path: path) }
        #expect(error?.description == "\(path):4: key 'limits.pids': limits.pids must be between 1 and 4096, got 0")
    }

    @Test func invalidUTF8IsUnreadable() {
        let dir = TempDir()
        let path = dir.write("bin.toml", bytes: [0x5b, 0xff, 0xfe, 0x5d])
        let error = configError { () throws(ConfigError) in try SandboxProfile.load(path: path) }
        #expect(error?.code == .unreadable)
    }
}
