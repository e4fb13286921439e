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

    deinit { receiveBuffer.deallocate() }

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

    /// Receives one whole frame. With `timeoutMs`, throws `.timeout` when nothing arrives in time.
    public func receive(timeoutMs: Int32? = nil) throws(WireError) -> Frame {
        while true {
            if let timeoutMs { try waitReadable(timeoutMs) }
            let n = read(fd, receiveBuffer.baseAddress, receiveBuffer.count)
            if n < 0 {
                let e = errno
                // ECONNRESET is reported once, before frames still queued (the peer died with our frame unread):
                // keep reading, the next read returns those frames or end-of-file.
                if e == EINTR || e == ECONNRESET { continue }
                throw WireError(.io, "read failed: errno \(e)")
            }
            if n == 0 { throw WireError(.closed, "peer closed the link") }
            if let frame = try assembler.feed(UnsafeRawBufferPointer(rebasing: receiveBuffer[0..<n])) {
                return frame
            }
        }
    }

    private func waitReadable(_ timeoutMs: Int32) throws(WireError) {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let r = poll(&p, 1, timeoutMs)
            if r > 0 { return }
            if r == 0 { throw WireError(.timeout, "no frame within \(timeoutMs) ms") }
            if errno != EINTR { throw WireError(.io, "poll failed: errno \(errno)") }
        }
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
