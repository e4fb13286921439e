// Hand-written rather than a JSON library: it runs in sandboxed workers and in SynAppKit apps, which stay free of
// Foundation's decoder (its cost was a third of a worker's time on a query of a few hundred rows), and the grammar
// is narrow: arrays of scalars, or of arrays of scalars.

/// One scalar of a JSON array as SQL parameters and query rows use them: `{"base64": "..."}` stands for bytes.
public enum JSONScalar: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number with no fraction or exponent that fits 64 bits.
    case integer(Int64)
    /// Any other finite number.
    case real(Double)
    case string(String)
    case bytes([UInt8])
}

/// Reads `[v, ...]` and `[[v, ...], ...]` of `JSONScalar`s in one pass, exactly as RFC 8259 spells numbers,
/// strings and literals; anything else is nil.
public enum JSONScalars {
    /// `[v, ...]`, or nil when `bytes` is not exactly that.
    public static func array(_ bytes: [UInt8]) -> [JSONScalar]? {
        read(bytes) { $0.list { $0.value() } }
    }

    /// `[[v, ...], ...]`, or nil when `bytes` is not exactly that.
    public static func rows(_ bytes: [UInt8]) -> [[JSONScalar]]? {
        read(bytes) { $0.list { $0.list { $0.value() } } }
    }

    private static func read<T>(_ bytes: [UInt8], _ body: (inout Reader) -> T?) -> T? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(b: buffer)
            guard let value = body(&reader) else { return nil }
            reader.space()
            return reader.i == buffer.count ? value : nil
        }
    }

    private struct Reader {
        let b: UnsafeBufferPointer<UInt8>
        var i = 0

        mutating func space() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }

        mutating func take(_ c: UInt8) -> Bool {
            space()
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }

        /// `[` then elements read by `element`, separated by commas, then `]`.
        mutating func list<T>(_ element: (inout Reader) -> T?) -> [T]? {
            guard take(0x5B) else { return nil }
            var out: [T] = []
            if take(0x5D) { return out }
            repeat {
                guard let e = element(&self) else { return nil }
                out.append(e)
            } while take(0x2C)
            return take(0x5D) ? out : nil
        }

        mutating func value() -> JSONScalar? {
            space()
            guard i < b.count else { return nil }
            switch b[i] {
            case 0x6E: return literal("null") ? .null : nil
            case 0x74: return literal("true") ? .bool(true) : nil
            case 0x66: return literal("false") ? .bool(false) : nil
            case 0x22: return string().map { .string($0) }
            case 0x7B: return bytes()
            default: return number()
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard b.count - i >= n else { return false }
            for k in 0..<n where b[i + k] != word.utf8Start[k] { return false }
            i += n
            return true
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
        mutating func number() -> JSONScalar? {
            let start = i
            var integral = true
            if i < b.count, b[i] == 0x2D { i += 1 }
            guard digits(leadingZero: false) else { return nil }
            if i < b.count, b[i] == 0x2E {
                integral = false
                i += 1
                guard digits(leadingZero: true) else { return nil }
            }
            if i < b.count, b[i] | 0x20 == 0x65 {
                integral = false
                i += 1
                if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
                guard digits(leadingZero: true) else { return nil }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
            if integral, let n = Int64(text) { return .integer(n) }
            guard let d = Double(text), d.isFinite else { return nil }
            return .real(d)
        }

        mutating func digits(leadingZero: Bool) -> Bool {
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard i > start else { return false }
            return leadingZero || !(b[start] == 0x30 && i - start > 1)
        }

        /// A JSON string, escapes decoded (surrogate pairs included); nil for control characters or invalid UTF-8.
        mutating func string() -> String? {
            guard i < b.count, b[i] == 0x22 else { return nil }
            i += 1
            let start = i
            // The common case: no escapes, decoded straight from the buffer.
            while i < b.count, b[i] != 0x22, b[i] != 0x5C, b[i] >= 0x20 { i += 1 }
            guard i < b.count else { return nil }
            if b[i] == 0x22 {
                defer { i += 1 }
                return String(validating: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
            }
            var out = Array(UnsafeBufferPointer(rebasing: b[start..<i]))
            while i < b.count {
                let c = b[i]
                i += 1
                if c == 0x22 { return String(validating: out, as: UTF8.self) }
                guard c >= 0x20 else { return nil }
                guard c == 0x5C else { out.append(c); continue }
                guard i < b.count else { return nil }
                let e = b[i]
                i += 1
                switch e {
                case 0x22, 0x5C, 0x2F: out.append(e)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    guard var scalar = hex4() else { return nil }
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard literal("\\u"), let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let s = Unicode.Scalar(scalar) else { return nil }
                    out.append(contentsOf: Array(String(Character(s)).utf8))
                default: return nil
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard b.count - i >= 4 else { return nil }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = b[i]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: return nil
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        /// `{"base64": "..."}`, strict standard base64.
        mutating func bytes() -> JSONScalar? {
            guard take(0x7B) else { return nil }
            space()
            guard string() == "base64", take(0x3A) else { return nil }
            space()
            guard let text = string(), let data = Base64.decode(text), take(0x7D) else { return nil }
            return .bytes(data)
        }
    }
}
