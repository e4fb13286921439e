import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Two network namespaces joined by a veth pair, made with `ip` (root only) and deleted by `remove()`: `a` is
/// 10.N.M.1 on `vethA` and `b` is 10.N.M.2 on `vethB`. Cutting the link sets `vethA` down.
public final class NetworkNamespace: Sendable {
    public let a: String
    public let b: String
    public let addressA: String
    public let addressB: String
    let vethA: String

    /// Where `ip` is, or nil.
    public static let ip: String = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "ip"

    /// Why namespaces cannot be made here (not root, no `ip`), or nil when they can.
    public static var unavailable: String? {
        if geteuid() != 0 { return "network namespaces need root" }
        if !FileManager.default.isExecutableFile(atPath: ip) { return "no `ip` (Debian package iproute2)" }
        return nil
    }

    public init() throws {
        let tag = String(UInt32.random(in: 0...0xFFFF), radix: 16)
        a = "syn-a-\(tag)"
        b = "syn-b-\(tag)"
        vethA = "sva\(tag)"
        let vethB = "svb\(tag)"
        let subnet = "10.\(Int.random(in: 64...250)).\(Int.random(in: 1...250))"
        addressA = subnet + ".1"
        addressB = subnet + ".2"
        for command in [["netns", "add", a], ["netns", "add", b],
                        ["link", "add", vethA, "type", "veth", "peer", "name", vethB],
                        ["link", "set", vethA, "netns", a], ["link", "set", vethB, "netns", b],
                        ["-n", a, "addr", "add", addressA + "/24", "dev", vethA], ["-n", b, "addr", "add", addressB + "/24", "dev", vethB],
                        ["-n", a, "link", "set", "lo", "up"], ["-n", b, "link", "set", "lo", "up"],
                        ["-n", a, "link", "set", vethA, "up"], ["-n", b, "link", "set", vethB, "up"]] {
            try Self.run(command)
        }
    }

    /// Sets the link between the namespaces down (`up: false`) or up again.
    public func link(up: Bool) throws { try Self.run(["-n", a, "link", "set", vethA, up ? "up" : "down"]) }

    /// Deletes both namespaces (and with them the veth pair).
    public func remove() {
        _ = try? Self.run(["netns", "del", a])
        _ = try? Self.run(["netns", "del", b])
    }

    static func run(_ arguments: [String]) throws {
        let result = try ProcessLauncher.run(ip, arguments)
        guard result.status == 0 else { throw TestFailure("ip \(arguments.joined(separator: " ")): \(result.output)") }
    }

    /// A TCP socket in namespace `name`: made on this thread inside it, which then goes back to its own.
    public static func socket(in name: String) throws -> Int32 {
        let own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        let target = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        defer { close(own); close(target) }
        guard own >= 0, target >= 0 else { throw TestFailure("cannot open the namespaces: errno \(errno)") }
        // Glibc's module leaves out the GNU-only setns: looked up by name.
        typealias SetNS = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { throw TestFailure("no setns in libc") }
        let setns = unsafeBitCast(symbol, to: SetNS.self)
        let newNet: Int32 = 0x4000_0000 // CLONE_NEWNET
        guard setns(target, newNet) == 0 else { throw TestFailure("setns: errno \(errno)") }
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard setns(own, newNet) == 0 else { fatalError("cannot return to the test's network namespace: errno \(errno)") }
        return fd
    }
}
