#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One end of the `SOCK_SEQPACKET` link: sends frames (fragmenting large ones) and receives whole frames.
///
/// Uses only `read`, `write` and, when a deadline is given, `poll`, so the worker can run it under a tight
/// seccomp allowlist. Not thread-safe: one thread owns a link.
public final class FrameLink {
    public let fd: Int32
    private var assembler: FrameAssembler
    private var sendBuffer: [UInt8] = []
    private let receiveBuffer: UnsafeMutableRawBufferPointer
    /// Used for reads made while a view of `receiveBuffer` is still handed out (a nested host call during a
    /// request whose method and body the app is still reading).
    private lazy var nestedBuffer: UnsafeMutableRawBufferPointer = .allocate(byteCount: receiveBuffer.count, alignment: 16)
    private var nestedAllocated = false
    private var viewsOut = 0
    private let noSignal: Bool

    /// - Parameters:
    ///   - fd: a connected `SOCK_SEQPACKET` socket; the link does not close it.
    ///   - maxMessage: the largest payload accepted from the peer.
    ///   - noSignal: send with `MSG_NOSIGNAL` (the host), instead of plain `write` (the sandboxed worker).
    public init(fd: Int32, maxMessage: Int, noSignal: Bool = false) {
        self.fd = fd
        self.noSignal = noSignal
        self.assembler = FrameAssembler(maxMessage: maxMessage)
        sendBuffer.reserveCapacity(Frame.headerSize + 256)
        receiveBuffer = .allocate(byteCount: Frame.headerSize + Frame.maxPacket + 1, alignment: 16)
    }

    deinit {
        receiveBuffer.deallocate()
        if nestedAllocated { nestedBuffer.deallocate() }
    }

    /// Sends one message, split into packets of at most `Frame.maxPacket` payload bytes.
    public func send(_ kind: FrameKind, requestID: UInt64 = 0, op: UInt32 = 0,
                     payload: UnsafeRawBufferPointer) throws(WireError) {
        var offset = 0
        repeat {
            let n = min(Frame.maxPacket, payload.count - offset)
            let more = offset + n < payload.count
            Frame.writeHeader(into: &sendBuffer, kind: kind, flags: more ? Frame.flagMore : 0,
                              requestID: requestID, op: op, payloadCount: n)
            if n > 0 { sendBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: payload[offset..<offset + n])) }
            try writePacket()
            offset += n
        } while offset < payload.count
    }

    /// Sends one message of `count` payload bytes written by `fill` straight into the send buffer (no
    /// intermediate array). Messages larger than one packet fall back to fragmenting.
    public func send(_ kind: FrameKind, requestID: UInt64 = 0, op: UInt32 = 0, count: Int,
                     fill: (UnsafeMutableRawBufferPointer) -> Void) throws(WireError) {
        guard count <= Frame.maxPacket else {
            let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                fill(UnsafeMutableRawBufferPointer(buffer))
                initialized = count
            }
            return try send(kind, requestID: requestID, op: op, payload: bytes)
        }
        Frame.writeHeader(into: &sendBuffer, kind: kind, flags: 0, requestID: requestID, op: op, payloadCount: count)
        let start = sendBuffer.count
        sendBuffer.append(contentsOf: repeatElement(0, count: count))
        sendBuffer.withUnsafeMutableBytes { fill(UnsafeMutableRawBufferPointer(rebasing: $0[start..<start + count])) }
        try writePacket()
    }

    /// Sends one message whose payload is a byte array.
    public func send(_ kind: FrameKind, requestID: UInt64 = 0, op: UInt32 = 0, payload: [UInt8] = [])
        throws(WireError)
    {
        let result: Result<Void, WireError> = payload.withUnsafeBytes { raw in
            do throws(WireError) {
                try send(kind, requestID: requestID, op: op, payload: raw)
                return .success(())
            } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Receives one whole frame, blocking without limit (`timeoutMs` nil), not at all (0, throws `.timeout` if
    /// nothing is queued) or up to `timeoutMs`. A positive timeout is a cached `SO_RCVTIMEO`, so repeating the same
    /// timeout costs no extra syscall.
    public func receive(timeoutMs: Int32? = nil) throws(WireError) -> Frame {
        try receiveView(timeoutMs: timeoutMs) { view throws(WireError) in
            Frame(kind: view.kind, requestID: view.requestID, op: view.op, payload: Array(view.payload))
        }
    }

    /// Like `receive`, but hands `body` a view of the message without copying it when it came in one packet.
    /// The view is valid only during `body`.
    public func receiveView<R>(timeoutMs: Int32? = nil, _ body: (FrameView) throws(WireError) -> R) throws(WireError) -> R {
        if let timeoutMs, timeoutMs > 0 { try setReceiveTimeout(timeoutMs) }
        if viewsOut > 0 { nestedAllocated = true }
        let buffer = viewsOut == 0 ? receiveBuffer : nestedBuffer
        while true {
            let n: Int
            if let timeoutMs { n = recv(fd, buffer.baseAddress, buffer.count, timeoutMs == 0 ? Int32(MSG_DONTWAIT) : 0) }
            else { n = read(fd, buffer.baseAddress, buffer.count) }
            if n < 0 {
                let e = errno
                if e == EAGAIN || e == EWOULDBLOCK {
                    throw WireError(.timeout, "no frame within \(timeoutMs ?? 0) ms")
                }
                // ECONNRESET is reported once, before frames still queued (the peer died with our frame unread):
                // keep reading, the next read returns those frames or end-of-file.
                if e == EINTR || e == ECONNRESET { continue }
                throw WireError(.io, "read failed: errno \(e)")
            }
            if n == 0 { throw WireError(.closed, "peer closed the link") }
            let packet = try assembler.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            if assembler.isStandalone(packet) {
                viewsOut += 1
                defer { viewsOut -= 1 }
                return try body(FrameView(kind: packet.kind, requestID: packet.requestID, op: packet.op,
                                          payload: packet.payload))
            }
            if let frame = try assembler.feed(packet) {
                let result: Result<R, WireError> = frame.payload.withUnsafeBytes { raw in
                    do throws(WireError) {
                        return .success(try body(FrameView(kind: frame.kind, requestID: frame.requestID, op: frame.op, payload: raw)))
                    } catch { return .failure(error) }
                }
                return try result.get()
            }
        }
    }

    private var currentTimeoutMs: Int32 = 0

    private func setReceiveTimeout(_ ms: Int32) throws(WireError) {
        guard ms != currentTimeoutMs else { return }
        var tv = timeval(tv_sec: Int(ms / 1000), tv_usec: Int(ms % 1000) * 1000)
        guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            throw WireError(.io, "setsockopt(SO_RCVTIMEO) failed: errno \(errno)")
        }
        currentTimeoutMs = ms
    }

    private func writePacket() throws(WireError) {
        let count = sendBuffer.count
        while true {
            let n = sendBuffer.withUnsafeBytes { raw in
                noSignal ? Glibc.send(fd, raw.baseAddress, count, Int32(MSG_NOSIGNAL)) : write(fd, raw.baseAddress, count)
            }
            if n == count { return }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EPIPE || errno == ECONNRESET) { throw WireError(.closed, "peer closed the link") }
            throw WireError(.io, "write failed: errno \(errno)")
        }
    }
}
