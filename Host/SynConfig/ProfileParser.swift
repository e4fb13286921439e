import SynSystem
import SynWire
/// Validates a parsed profile document into a `SandboxProfile`.
enum ProfileParser {
    /// Largest errno number a seccomp errno action can carry meaningfully.
    static let maxErrno: Int32 = 4095

    static func parse(_ root: TableReader) throws(ConfigError) -> SandboxProfile {
        try root.allowOnly(["profile", "syscalls", "filesystem", "limits"])

        let head = try root.table("profile", keys: [
            "name", "description", "default_action", "default_errno", "threads", "exec_memory",
        ])
        guard let head else {
            throw ConfigError(code: .missingKey, file: root.file, key: "profile",
                              message: "missing [profile] table; a profile needs at least [profile] name = \"...\"")
        }
        let name = try head.require(head.string("name"), "name", "the profile name, e.g. \"default\"")
        guard NameRules.isProfileName(name) else {
            throw head.error(.badValue, "name", "profile.name must match ^[a-z0-9][a-z0-9_-]{0,62}$ (lowercase letters, digits, '_' and '-', at most 63), got \"\(name)\"")
        }
        var profile = SandboxProfile(name: name)
        profile.description = try head.string("description") ?? ""
        guard profile.description.count <= 1000 else {
            throw head.error(.badValue, "description", "profile.description may be at most 1000 characters, got \(profile.description.count)")
        }
        if let action = try head.string("default_action") {
            guard let parsed = SandboxProfile.DefaultAction(rawValue: action) else {
                throw head.error(.badValue, "default_action", "profile.default_action must be \"kill\", \"errno\" or \"log\", got \"\(action)\"")
            }
            profile.defaultAction = parsed
        }
        if head.table["default_errno"] != nil {
            profile.defaultErrno = try errnoValue(head, "default_errno")
        }
        profile.threads = try head.bool("threads") ?? false
        profile.execMemory = try head.bool("exec_memory") ?? false

        if let syscalls = try root.table("syscalls", keys: ["allow", "errno"]) {
            try parseSyscalls(syscalls, into: &profile)
        }
        if let fs = try root.table("filesystem", keys: ["swift_runtime", "zoneinfo", "urandom", "proc"]) {
            profile.filesystem.swiftRuntime = try fs.bool("swift_runtime") ?? false
            profile.filesystem.zoneinfo = try fs.bool("zoneinfo") ?? false
            profile.filesystem.urandom = try fs.bool("urandom") ?? false
            profile.filesystem.proc = try fs.bool("proc") ?? false
        }
        if let table = try root.table("limits", keys: [
            "memory_mb", "pids", "cpu_percent", "call_timeout_ms", "max_frame_kb", "open_files", "cpu_seconds",
            "instances", "queue_depth",
        ]) {
            var limits = profile.limits
            limits.memoryMB = try table.integer("memory_mb", in: 8...65536) ?? limits.memoryMB
            limits.pids = try table.integer("pids", in: 1...4096) ?? limits.pids
            limits.cpuPercent = try table.integer("cpu_percent", in: 1...6400) ?? limits.cpuPercent
            limits.callTimeoutMs = try table.integer("call_timeout_ms", in: 1...600_000) ?? limits.callTimeoutMs
            limits.maxFrameKB = try table.integer("max_frame_kb", in: 1...65_536) ?? limits.maxFrameKB
            limits.openFiles = try table.integer("open_files", in: 4...65_536) ?? limits.openFiles
            limits.cpuSeconds = try table.integer("cpu_seconds", in: 1...604_800) ?? limits.cpuSeconds
            limits.instances = try table.integer("instances", in: 1...64) ?? limits.instances
            limits.queueDepth = try table.integer("queue_depth", in: 0...100_000) ?? limits.queueDepth
            profile.limits = limits
        }
        return profile
    }

    private static func parseSyscalls(_ syscalls: TableReader, into profile: inout SandboxProfile) throws(ConfigError) {
        let allow = try syscalls.strings("allow", maxCount: 1024) ?? []
        for (index, name) in allow.enumerated() where SyscallNames.number(of: name) == nil {
            throw syscalls.error(.unknownSyscall, "allow", element: index, unknownSyscallMessage(name, in: "syscalls.allow"))
        }
        try syscalls.requireUnique(allow, "allow")
        for (index, name) in allow.enumerated() where SyscallPolicy.alwaysDenied.contains(name) {
            throw syscalls.error(.badValue, "allow", element: index,
                                 "syscalls.allow lists '\(name)', which the host always denies (clone3 always fails with ENOSYS; clone is limited to threads)")
        }
        profile.allow = allow

        guard let overrides = try syscalls.table("errno", keys: nil) else { return }
        for name in overrides.keysInFileOrder() {
            guard SyscallNames.number(of: name) != nil else {
                throw overrides.error(.unknownSyscall, name, unknownSyscallMessage(name, in: "syscalls.errno"))
            }
            if allow.contains(name) {
                throw overrides.error(.badValue, name, "syscall '\(name)' is both in syscalls.allow and in syscalls.errno; list it in one of them")
            }
            profile.errnoOverrides[name] = try errnoValue(overrides, name)
        }
    }

    private static func unknownSyscallMessage(_ name: String, in key: String) -> String {
        "unknown syscall '\(name)' in \(key): libseccomp does not know it on this architecture"
    }

    /// An errno given as a name ("ENOENT") or a number in 1...4095.
    private static func errnoValue(_ table: TableReader, _ key: String) throws(ConfigError) -> Int32 {
        let expected = "an errno name (\(Errno.names)) or an integer between 1 and \(Self.maxErrno)"
        guard let value = table.table[key] else {
            return try table.require(nil, key, expected)
        }
        switch value {
        case .string(let name):
            guard let number = Errno.number(named: name) else {
                throw table.error(.badValue, key, "\(table.dotted(key)) must be \(expected), got \"\(name)\"")
            }
            return number
        case .integer(let number):
            guard number >= 1, number <= Int(Self.maxErrno) else {
                throw table.error(.badValue, key, "\(table.dotted(key)) must be \(expected), got \(number)")
            }
            return Int32(number)
        default:
            throw table.error(.badType, key, "\(table.dotted(key)) must be \(expected), got \(value.brief)")
        }
    }
}
