import PluginABI

/// The host's function table and the current call's context, wrapped so that nothing outside the SDK touches a
/// pointer. One call runs at a time in a worker instance.
struct Host: @unchecked Sendable {
    let table: UnsafePointer<syn_host>
    let ctx: OpaquePointer
    /// The method call's own bookkeeping (nil for init, events and timers).
    var call: CallState? = nil

    /// `bytes` as a `syn_buf` for the duration of `body`.
    static func withBuf<R>(_ bytes: [UInt8], _ body: (syn_buf) -> R) -> R {
        bytes.withUnsafeBufferPointer { body(syn_buf(ptr: $0.baseAddress, len: $0.count)) }
    }

    static func bytes(_ buf: syn_buf) -> [UInt8] {
        guard let ptr = buf.ptr, buf.len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: ptr, count: buf.len))
    }

    /// Throws the host's failure for `status` (with `last_error`), or returns on SYN_OK.
    func check(_ status: syn_status, _ slot: String) throws(HostError) {
        guard status != SYN_OK else { return }
        var message = syn_buf(ptr: nil, len: 0)
        let text = table.pointee.last_error(ctx, &message) == SYN_OK ? String(decoding: Self.bytes(message), as: UTF8.self) : ""
        throw HostError(status: status, slot: slot, message: text.isEmpty ? "status \(status)" : text)
    }

    /// Copies `bytes` into the call's arena (the only memory a response may point to).
    func arena(_ bytes: [UInt8]) -> syn_buf? {
        guard !bytes.isEmpty else { return syn_buf(ptr: nil, len: 0) }
        guard let raw = table.pointee.alloc(ctx, bytes.count) else { return nil }
        let out = raw.bindMemory(to: UInt8.self, capacity: bytes.count)
        bytes.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { out.update(from: base, count: bytes.count) }
        }
        return syn_buf(ptr: UnsafePointer(out), len: bytes.count)
    }
}
