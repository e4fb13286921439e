import ArgumentParser
import Foundation
import SynSodium
import SynSystem
import SynTLS
#if canImport(Glibc)
import Glibc
#endif

/// The floor for `bench net`: a GnuTLS ping-pong between two plain processes over loopback TCP, TLS 1.3 with raw
/// public keys exactly as node links use it, `bytes` of payload each way; one round trip per sample. The server is
/// this binary again (`--serve`), so each side is its own process.
struct BenchTLSPing: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tlsping", abstract: "GnuTLS raw-key ping-pong between two processes (JSON).")
    @Option(help: "Payload bytes each way.") var bytes: Int = 64
    @Option(help: "Round trips timed.") var count: Int = 5000
    @Flag(help: "Serve: echo on a loopback port (printed with the key on stdout), for the timing side.") var serve = false

    func run() throws {
        try Sodium.initialize()
        serve ? try Self.serve(bytes: bytes) : try measure()
    }

    private func measure() throws {
        let server = Process()
        server.executableURL = URL(fileURLWithPath: CommandLine.arguments[0].hasPrefix("/") ? CommandLine.arguments[0] : NodePaths.products + "/syneroym")
        server.arguments = ["bench", "tlsping", "--serve", "--bytes", "\(bytes)"]
        let pipe = Pipe()
        server.standardOutput = pipe
        try server.run()
        defer { server.terminate() }
        // "PORT KEY_HEX\n" once the server listens.
        var line = ""
        while !line.hasSuffix("\n") {
            let chunk = pipe.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw CLIError("error: the ping-pong server did not start") }
            line += String(decoding: chunk, as: UTF8.self)
        }
        let parts = line.split(separator: " ")
        guard parts.count == 2, let port = Int(parts[0]), let key = Hex.decode(String(parts[1].dropLast(parts[1].hasSuffix("\n") ? 1 : 0)).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CLIError("error: the ping-pong server said \(line)")
        }
        let fd = try Self.connect(port: port)
        defer { close(fd) }
        let session = try TLSSession(role: .client, identity: try TLSIdentity(key: try SigningKey.generate()), peer: .exactly(key))
        try Self.handshake(session, fd)
        let payload = [UInt8](repeating: 0x61, count: bytes)
        var samples: [Double] = []
        for i in 0..<(count + 200) {
            let t0 = MonotonicClock.nowNs()
            try Self.write(session, fd, payload)
            _ = try Self.readExactly(session, fd, bytes)
            if i >= 200 { samples.append(Double(MonotonicClock.nowNs() - t0) / 1000) }
        }
        print(JSONText.object([
            ("tls_pingpong_rtt_us_p50", JSONText.number(Stats.quantile(samples, 0.5))),
            ("tls_pingpong_rtt_us_p99", JSONText.number(Stats.quantile(samples, 0.99))),
            ("bytes", "\(bytes)"), ("round_trips", "\(count)"),
        ]))
    }

    /// Accepts one connection and echoes `bytes` at a time until it closes.
    static func serve(bytes: Int) throws {
        let key = try SigningKey.generate()
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound else { throw CLIError("error: cannot listen: errno \(errno)") }
        FileHandle.standardOutput.write(Data("\(UInt16(bigEndian: address.sin_port)) \(Hex.encode(key.publicKey))\n".utf8))
        let fd = accept(listener, nil, nil)
        guard fd >= 0 else { throw CLIError("error: accept: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let session = try TLSSession(role: .server, identity: try TLSIdentity(key: key), peer: .accepting { _ in true })
        try handshake(session, fd)
        while true {
            guard let data = try? readExactly(session, fd, bytes) else { return }
            try write(session, fd, data)
        }
    }

    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard ok else { throw CLIError("error: connect: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    static func handshake(_ session: TLSSession, _ fd: Int32) throws {
        while true {
            let done = try session.handshake()
            try flush(session, fd)
            if done { return }
            try receive(session, fd)
        }
    }

    static func write(_ session: TLSSession, _ fd: Int32, _ bytes: [UInt8]) throws {
        try session.send(bytes)
        try flush(session, fd)
    }

    static func readExactly(_ session: TLSSession, _ fd: Int32, _ n: Int) throws -> [UInt8] {
        var got: [UInt8] = []
        while got.count < n {
            switch try session.read() {
            case .data(let d): got += d
            case .wouldBlock: try receive(session, fd)
            case .closed: throw CLIError("closed")
            }
        }
        return got
    }

    private static func flush(_ session: TLSSession, _ fd: Int32) throws {
        let out = session.takeOutput()
        var sent = 0
        while sent < out.count {
            let n = out.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw CLIError("send: errno \(errno)") }
            sent += n
        }
    }

    private static func receive(_ session: TLSSession, _ fd: Int32) throws {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw CLIError("closed") }
        session.receive(buffer.prefix(n))
    }
}
