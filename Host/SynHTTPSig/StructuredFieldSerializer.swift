import SynSodium
import Glibc

/// Canonical RFC 8941 serialisation (§4.1) of the values this module writes.
///
/// One implementation, generic over where the bytes go: `ByteSink` collects them (for the `String` results), and
/// `CanonicalMatcher` compares them against received bytes as they are produced, so the canonical-form check of a
/// received `Signature-Input` member needs no allocation.
enum StructuredFieldSerializer {
    /// `("a" "b");k=v` for an inner list.
    static func innerList(_ items: [SFItem], parameters: [SFParameter]) -> String {
        var sink = ByteSink()
        writeInnerList(items, parameters: parameters, to: &sink)
        return sink.string
    }

    /// A bare item followed by its parameters.
    static func item(_ item: SFItem) -> String {
        var sink = ByteSink()
        writeItem(item, to: &sink)
        return sink.string
    }

    /// Whether `raw` is exactly the canonical serialisation of the inner list `items` with `parameters`.
    static func isCanonicalInnerList(_ raw: ArraySlice<UInt8>, items: [SFItem], parameters: [SFParameter]) -> Bool {
        raw.withUnsafeBufferPointer { expected in
            var matcher = CanonicalMatcher(expected: expected)
            writeInnerList(items, parameters: parameters, to: &matcher)
            return matcher.matchesCompletely
        }
    }

    // MARK: - Writing

    static func writeInnerList<Sink: SFSink>(_ items: [SFItem], parameters: [SFParameter], to sink: inout Sink) {
        sink.write(UInt8(ascii: "("))
        for position in items.indices {
            if position > 0 { sink.write(UInt8(ascii: " ")) }
            writeItem(items[position], to: &sink)
        }
        sink.write(UInt8(ascii: ")"))
        writeParameters(parameters, to: &sink)
    }

    static func writeItem<Sink: SFSink>(_ item: SFItem, to sink: inout Sink) {
        writeBareItem(item.value, to: &sink)
        writeParameters(item.parameters, to: &sink)
    }

    static func writeParameters<Sink: SFSink>(_ parameters: [SFParameter], to sink: inout Sink) {
        for parameter in parameters {
            sink.write(UInt8(ascii: ";"))
            var key = parameter.key
            key.withUTF8 { sink.write(buffer: $0) }
            if case .boolean(true) = parameter.value { continue }   // `;key` alone
            sink.write(UInt8(ascii: "="))
            writeBareItem(parameter.value, to: &sink)
        }
    }

    static func writeBareItem<Sink: SFSink>(_ value: SFBareItem, to sink: inout Sink) {
        switch value {
        case .integer(let number): writeInteger(number, to: &sink)
        case .string(let text): writeQuoted(text, to: &sink)
        case .token(let token): sink.write(token.utf8)
        case .bytes(let bytes):
            var encoded: [UInt8] = []
            Base64.encode(bytes, into: &encoded)
            sink.write(UInt8(ascii: ":"))
            sink.write(encoded)
            sink.write(UInt8(ascii: ":"))
        case .boolean(let flag):
            sink.write(UInt8(ascii: "?"))
            sink.write(flag ? UInt8(ascii: "1") : UInt8(ascii: "0"))
        }
    }

    /// Decimal digits of `number`, `-` first when negative (as `String(number)`).
    static func writeInteger<Sink: SFSink>(_ number: Int64, to sink: inout Sink) {
        if number < 0 { sink.write(UInt8(ascii: "-")) }
        let magnitude = number.magnitude
        var divisor: UInt64 = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            sink.write(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude / divisor % 10))
            divisor /= 10
        }
    }

    /// `"text"` with `\` and `"` escaped. Works on UTF-8 bytes: both are ASCII, and no byte of a multi-byte UTF-8
    /// sequence is ASCII, so this escapes exactly the scalars `\` and `"`.
    static func writeQuoted<Sink: SFSink>(_ text: String, to sink: inout Sink) {
        sink.write(UInt8(ascii: "\""))
        var copy = text
        copy.withUTF8 { bytes in
            if !bytes.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") }) {
                sink.write(buffer: bytes)
                return
            }
            for byte in bytes {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { sink.write(UInt8(ascii: "\\")) }
                sink.write(byte)
            }
        }
        sink.write(UInt8(ascii: "\""))
    }
}

/// Where serialised bytes go.
protocol SFSink {
    mutating func write(_ byte: UInt8)
    mutating func write<Bytes: Sequence<UInt8>>(_ bytes: Bytes)
    mutating func write(buffer: UnsafeBufferPointer<UInt8>)
}

/// Collects serialised bytes.
struct ByteSink: SFSink {
    var bytes: [UInt8] = []

    mutating func write(_ byte: UInt8) { bytes.append(byte) }
    mutating func write<Bytes: Sequence<UInt8>>(_ bytes: Bytes) { self.bytes.append(contentsOf: bytes) }
    mutating func write(buffer: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: buffer) }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}

/// Compares serialised bytes, as they are written, with `expected`.
struct CanonicalMatcher: SFSink {
    let expected: UnsafeBufferPointer<UInt8>
    private(set) var position = 0
    private(set) var matches = true

    init(expected: UnsafeBufferPointer<UInt8>) { self.expected = expected }

    /// Whether everything written so far equals all of `expected`.
    var matchesCompletely: Bool { matches && position == expected.count }

    mutating func write(_ byte: UInt8) {
        guard matches else { return }
        if position < expected.count && expected[position] == byte {
            position += 1
        } else {
            matches = false
        }
    }

    mutating func write<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        for byte in bytes {
            write(byte)
            if !matches { return }
        }
    }

    mutating func write(buffer: UnsafeBufferPointer<UInt8>) {
        guard matches else { return }
        guard buffer.count <= expected.count - position else {
            matches = false
            return
        }
        if let source = buffer.baseAddress, let target = expected.baseAddress,
           memcmp(source, target + position, buffer.count) != 0 {
            matches = false
            return
        }
        position += buffer.count
    }
}
