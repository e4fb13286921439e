import FoundationEssentials

/// Reads the host's `sql_query` answer, a JSON array of rows, each an array of values (null, numbers, strings, and
/// blobs as `{"base64": "..."}`), in one pass over the bytes. `JSONDecoder` took a third of the worker's time on a
/// query of a few hundred rows.
enum JSONRows {
    /// The rows, or nil when `bytes` is not that shape.
    static func parse(_ bytes: [UInt8]) -> [[SQLValue]]? {
        bytes.withUnsafeBufferPointer { buffer in
            var p = Parser(b: buffer)
            guard let rows = p.rows() else { return nil }
            p.space()
            return p.i == buffer.count ? rows : nil
        }
    }

    private struct Parser {
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
        mutating func list<T>(_ element: (inout Parser) -> T?) -> [T]? {
            guard take(0x5B) else { return nil }
            var out: [T] = []
            if take(0x5D) { return out }
            repeat {
                guard let e = element(&self) else { return nil }
                out.append(e)
            } while take(0x2C)
            return take(0x5D) ? out : nil
        }

        mutating func rows() -> [[SQLValue]]? { list { $0.list { $0.value() } } }

        mutating func value() -> SQLValue? {
            space()
            guard i < b.count else { return nil }
            switch b[i] {
            case 0x6E: // null
                guard literal("null") else { return nil }
                return .null
            case 0x22: return string().map { .text($0) }
            case 0x7B: return blob()
            default: return number()
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard i + n <= b.count else { return false }
            for k in 0..<n where b[i + k] != word.utf8Start[k] { return false }
            i += n
            return true
        }

        mutating func number() -> SQLValue? {
            let start = i
            var integral = true
            while i < b.count {
                let c = b[i]
                if (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2B { i += 1 }
                else if c == 0x2E || c == 0x65 || c == 0x45 { integral = false; i += 1 }
                else { break }
            }
            guard i > start else { return nil }
            let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
            if integral, let n = Int64(text) { return .integer(n) }
            return Double(text).map { .real($0) }
        }

        /// A JSON string; escapes decoded, including surrogate pairs.
        mutating func string() -> String? {
            guard i < b.count, b[i] == 0x22 else { return nil }
            i += 1
            let start = i
            // The common case: no escapes, decoded straight from the buffer.
            while i < b.count, b[i] != 0x22, b[i] != 0x5C { i += 1 }
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
            guard i + 4 <= b.count else { return nil }
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

        /// `{"base64": "..."}`.
        mutating func blob() -> SQLValue? {
            guard take(0x7B) else { return nil }
            space()
            guard string() == "base64", take(0x3A) else { return nil }
            space()
            guard let text = string(), let data = Data(base64Encoded: text), take(0x7D) else { return nil }
            return .blob(Array(data))
        }
    }
}
