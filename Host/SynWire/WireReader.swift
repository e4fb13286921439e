/// Reads a payload written by `WireWriter`. Every read is bounds-checked and throws `WireError.badPayload`.
public struct WireReader {
    private let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { bytes.count - offset }

    public mutating func u8() throws(WireError) -> UInt8 {
        guard remaining >= 1 else { throw WireError(.badPayload, "payload ends before a u8 at offset \(offset)") }
        defer { offset += 1 }
        return bytes[offset]
    }
    public mutating func u32() throws(WireError) -> UInt32 { try int(UInt32.self) }
    public mutating func i32() throws(WireError) -> Int32 { try int(Int32.self) }
    public mutating func u64() throws(WireError) -> UInt64 { try int(UInt64.self) }
    public mutating func bool() throws(WireError) -> Bool { try u8() != 0 }

    /// A length-prefixed byte string, at most `limit` bytes.
    public mutating func data(limit: Int = Int(UInt32.max)) throws(WireError) -> [UInt8] {
        let n = Int(try u32())
        guard n <= limit else { throw WireError(.badPayload, "field of \(n) bytes exceeds limit \(limit)") }
        guard remaining >= n else {
            throw WireError(.badPayload, "field of \(n) bytes overruns payload at offset \(offset)")
        }
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }
    public mutating func string(limit: Int = 1 << 20) throws(WireError) -> String {
        String(decoding: try data(limit: limit), as: UTF8.self)
    }
    public mutating func strings(limit: Int = 4096) throws(WireError) -> [String] {
        let n = Int(try u32())
        guard n <= limit else { throw WireError(.badPayload, "list of \(n) entries exceeds limit \(limit)") }
        var out: [String] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try string()) }
        return out
    }
    /// Everything left, with no length prefix.
    public mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return Array(bytes[offset...])
    }

    private mutating func int<T: FixedWidthInteger>(_: T.Type) throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            throw WireError(.badPayload, "payload ends before a \(size)-byte integer at offset \(offset)")
        }
        var v: T = 0
        for i in 0..<size { v |= T(truncatingIfNeeded: bytes[offset + i]) << (8 * i) }
        offset += size
        return v
    }
}
