/// Builds a payload: fixed-width little-endian integers and length-prefixed byte strings.
public struct WireWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    public init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u32(_ v: UInt32) { Frame.appendLE(&bytes, v) }
    public mutating func i32(_ v: Int32) { Frame.appendLE(&bytes, v) }
    public mutating func u64(_ v: UInt64) { Frame.appendLE(&bytes, v) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    /// A `u32` length then the bytes.
    public mutating func data<C: Collection>(_ v: C) where C.Element == UInt8 {
        u32(UInt32(truncatingIfNeeded: v.count))
        bytes.append(contentsOf: v)
    }
    public mutating func string(_ v: String) { data(Array(v.utf8)) }
    public mutating func strings(_ v: [String]) {
        u32(UInt32(truncatingIfNeeded: v.count))
        for s in v { string(s) }
    }
    /// Appends raw bytes with no length prefix (for a trailing body).
    public mutating func raw<C: Collection>(_ v: C) where C.Element == UInt8 { bytes.append(contentsOf: v) }
}
