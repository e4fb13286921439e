import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One plain TCP connection to the gateway, for what URLSession hides: pipelining, `Connection: close`, and the
/// server closing the connection. Reads block, on a thread of their own (never the tasks' pool, which the node
/// under test needs), with a 30 s guard against a hung test, never as a measurement. Used by one task at a time.
final class RawConnection: @unchecked Sendable {
    struct Response: Sendable {
        let status: Int
        let headers: [String: String]
        let body: String
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to the gateway on 127.0.0.1:`port` from `source`, a loopback address (127.0.0.0/8), so tests can
    /// play several clients.
    init(port: Int, from source: String = "127.0.0.1", receiveBuffer: Int32? = nil) throws {
        // The descriptor is kept only once connected: `deinit` closes it, and a second close could hit a
        // descriptor the node under test has opened since.
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw RawError("socket: errno \(errno)") }
        var guardTime = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &guardTime, socklen_t(MemoryLayout<timeval>.size))
        // A small receive window (set before connecting) makes a client that stops reading stall the server soon.
        if var size = receiveBuffer { setsockopt(socketFD, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        if source != "127.0.0.1" {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                let error = errno
                close(socketFD)
                throw RawError("bind \(source): errno \(error)")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            let error = errno
            close(socketFD)
            throw RawError("connect: errno \(error)")
        }
        fd = socketFD
    }

    deinit { close(fd) }

    /// A request's bytes: `Host` (none when `host` is nil), the headers given, and `Content-Length` when there is
    /// a body.
    static func request(_ method: String, _ path: String, body: String = "", headers: [(String, String)] = [],
                        host: String? = "127.0.0.1") -> String {
        var text = "\(method) \(path) HTTP/1.1\r\n" + (host.map { "Host: \($0)\r\n" } ?? "")
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { text += "Content-Length: \(body.utf8.count)\r\n" }
        return text + "\r\n" + body
    }

    /// Sends everything in one write where the kernel allows.
    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw RawError("send: errno \(errno)") }
            sent += n
        }
    }

    /// Closes the sending side, as a client does that has nothing more to ask.
    func finishSending() { _ = shutdown(fd, Int32(SHUT_WR)) }

    /// The next response (bodies are read by their `Content-Length`).
    func response() async throws -> Response { try await Self.onThread { try self.readResponse() } }

    /// A streamed response's head (status and headers); its body is then read with `event()`.
    func streamHead() async throws -> Response {
        try await Self.onThread {
            var end: Int?
            while true {
                end = Self.find([13, 10, 13, 10], in: self.buffer)
                if end != nil { break }
                guard try self.fill() else { throw RawError("closed before a response") }
            }
            guard let end else { throw RawError("no header end") }
            let head = String(decoding: self.buffer[..<end], as: UTF8.self).components(separatedBy: "\r\n")
            self.buffer.removeFirst(end + 4)
            let statusLine = head[0].split(separator: " ")
            guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw RawError("bad status line \(head[0])") }
            var headers: [String: String] = [:]
            for line in head.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            return Response(status: status, headers: headers, body: "")
        }
    }

    /// The next Server-Sent Event of a chunked stream (chunk sizes dropped): its `field: value` lines, comments
    /// and blocks with neither `data` nor `event` (a `retry`) skipped; nil when the stream closed.
    func event() async throws -> [String: String]? { try await Self.onThread { try self.nextEvent() } }

    /// `event()` on the calling thread.
    func nextEvent() throws -> [String: String]? {
        while true {
            // Server-sent events end with a blank line; what was parsed is dropped from the front now and then.
            if let end = Self.find([10, 10], in: dechunked, from: dechunkedStart) {
                let block = String(decoding: dechunked[dechunkedStart..<end], as: UTF8.self)
                dechunkedStart = end + 2
                if dechunkedStart > 65536 {
                    dechunked.removeFirst(dechunkedStart)
                    dechunkedStart = 0
                }
                var fields: [String: String] = [:]
                for line in block.split(separator: "\n", omittingEmptySubsequences: false) where !line.hasPrefix(":") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let name = String(line[..<colon]), value = line[line.index(after: colon)...].drop { $0 == " " }
                    fields[name] = fields[name].map { $0 + "\n" + value } ?? String(value)
                }
                if fields["data"] != nil || fields["event"] != nil { return fields }
                continue
            }
            guard try fillChunk() else { return nil }
        }
    }

    private var dechunkedStart = 0
    private var dechunked: [UInt8] = []

    /// Moves one chunk of a chunked body into `dechunked`; false at its end or when the connection closed.
    private func fillChunk() throws -> Bool {
        while true {
            if let lineEnd = Self.find([13, 10], in: buffer) {
                let sizeText = String(decoding: buffer[..<lineEnd], as: UTF8.self)
                guard let size = Int(sizeText.split(separator: ";")[0], radix: 16) else { throw RawError("bad chunk size \(sizeText)") }
                if size == 0 { return false }
                while buffer.count < lineEnd + 2 + size + 2 {
                    guard try fill() else { return false }
                }
                dechunked += buffer[(lineEnd + 2)..<(lineEnd + 2 + size)]
                buffer.removeFirst(lineEnd + 2 + size + 2)
                return true
            }
            guard try fill() else { return false }
        }
    }

    /// Reads and drops what the server sends until it closes the connection: true when it did (within `limit`
    /// bytes and the 30 s guard).
    func drainsToClose(limit: Int = 64 << 20) async throws -> Bool {
        try await Self.onThread {
            var read = 0
            while read < limit {
                read += self.buffer.count
                self.buffer.removeAll()
                guard try self.fill() else { return true }
            }
            return false
        }
    }

    /// Whether the server has closed the connection (after any bytes still unread).
    func isClosedByServer() async throws -> Bool { try await Self.onThread { try self.readClose() } }

    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    private func readResponse() throws -> Response {
        var end: Int?
        while true {
            end = Self.find([13, 10, 13, 10], in: buffer)
            if end != nil { break }
            guard try fill() else { throw RawError("closed before a response") }
        }
        guard let end else { throw RawError("no header end") }
        let head = String(decoding: buffer[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        buffer.removeFirst(end + 4)
        let statusLine = head[0].split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw RawError("bad status line \(head[0])") }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < length {
            guard try fill() else { throw RawError("closed inside a body") }
        }
        let body = String(decoding: buffer[..<length], as: UTF8.self)
        buffer.removeFirst(length)
        return Response(status: status, headers: headers, body: body)
    }

    private func readClose() throws -> Bool {
        while buffer.isEmpty {
            if try !fill() { return true }
        }
        return false
    }

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n == 0 { return false }
        if n < 0 { throw RawError(errno == EAGAIN ? "no answer within the 30 s guard" : "recv: errno \(errno)") }
        buffer += chunk[..<n]
        return true
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard haystack.count - start >= needle.count else { return nil }
        for i in start...(haystack.count - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        return nil
    }
}

struct RawError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
