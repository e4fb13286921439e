import SynConfig
import Testing

/// The profiles shipped in sandbox-profiles/ must always load.
@Suite struct ShippedProfileTests {
    let directory = repositoryRoot() + "/sandbox-profiles"

    @Test(arguments: ["default", "foundation", "debug"])
    func shippedProfileLoads(name: String) throws {
        let path = directory + "/\(name).toml"
        let profile = try SandboxProfile.load(path: path)
        #expect(profile.name == name)
        #expect(profile.path == path)
        #expect(!profile.allow.isEmpty)
        #expect(!profile.description.isEmpty)
        for syscall in profile.allow { #expect(SyscallNames.number(of: syscall) != nil) }
    }

    @Test func defaultIsStrict() throws {
        let profile = try SandboxProfile.load(path: directory + "/default.toml")
        #expect(profile.defaultAction == .kill)
        #expect(!profile.threads)
        #expect(!profile.execMemory)
        #expect(profile.filesystem == SandboxProfile.Filesystem())
        #expect(profile.allow.contains("read") && profile.allow.contains("exit_group"))
        #expect(profile.limits.memoryMB == 64)
        #expect(profile.limits.pids == 16)
        #expect(profile.errnoOverrides.isEmpty)
    }

    @Test func foundationAllowsThreadsAndFiles() throws {
        let profile = try SandboxProfile.load(path: directory + "/foundation.toml")
        #expect(profile.threads)
        #expect(profile.filesystem == SandboxProfile.Filesystem(swiftRuntime: true, zoneinfo: true, urandom: true, proc: true))
        #expect(profile.allow.contains("futex") && profile.allow.contains("clone"))
        // Files are readable (the host enforces read-only opens); sockets fail gracefully instead of killing.
        #expect(profile.allow.contains("openat"))
        #expect(profile.errnoOverrides["readlink"] == 2)
        #expect(profile.errnoOverrides["socket"] == 13)
        #expect(profile.limits.memoryMB == 256)
        #expect(profile.limits.pids == 64)
    }

    @Test func debugLogsWithDefaultList() throws {
        let debug = try SandboxProfile.load(path: directory + "/debug.toml")
        let strict = try SandboxProfile.load(path: directory + "/default.toml")
        #expect(debug.defaultAction == .log)
        #expect(debug.allow == strict.allow)
    }
}
