public import SynSQLite
import SynText

// Hand-written rather than Foundation's JSONDecoder: this runs inside the sandboxed worker, which stays free of
// Foundation (its memory, start-up time and syscalls); the grammar is one flat array of scalars.

/// SQL parameters given as JSON (`params_json`): an array of numbers, strings, booleans, null, or
/// `{"base64": "..."}` for a blob. Decoded exactly: `true` is the integer 1, `2` is an integer, `2.0` and `1e3` are
/// reals, strings keep every escaped character.
public enum SQLParameters {
    static let message = "params_json must be a JSON array of numbers, strings, booleans, null or {\"base64\": \"...\"} (blobs)"

    /// The parameters in `bytes` (empty bytes mean none).
    public static func parse(_ bytes: [UInt8]) throws(StoreFailure) -> [SQLValue] {
        if bytes.isEmpty { return [] }
        var reader = Reader(bytes: bytes)
        guard let values = reader.array(), reader.atEnd else { throw StoreFailure(StoreStatus.badArg, message) }
        return values
    }

    private struct Reader {
        let bytes: [UInt8]
        var at = 0

        var atEnd: Bool {
            mutating get {
                space()
                return at == bytes.count
            }
        }

        mutating func space() {
            while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            space()
            guard at < bytes.count, bytes[at] == byte else { return false }
            at += 1
            return true
        }

        mutating func array() -> [SQLValue]? {
            guard take(0x5B) else { return nil }
            var values: [SQLValue] = []
            if take(0x5D) { return values }
            repeat {
                guard let value = value() else { return nil }
                values.append(value)
            } while take(0x2C)
            return take(0x5D) ? values : nil
        }

        mutating func value() -> SQLValue? {
            space()
            guard at < bytes.count else { return nil }
            switch bytes[at] {
            case 0x22: return string().map { .text($0) }
            case 0x7B: return blob()
            case 0x74: return literal("true") ? .integer(1) : nil
            case 0x66: return literal("false") ? .integer(0) : nil
            case 0x6E: return literal("null") ? .null : nil
            default: return number()
            }
        }

        mutating func literal(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard bytes.count - at >= w.count, Array(bytes[at..<(at + w.count)]) == w else { return false }
            at += w.count
            return true
        }

        /// `{"base64": "..."}`, strict standard base64.
        mutating func blob() -> SQLValue? {
            guard take(0x7B) else { return nil }
            space()
            guard string() == "base64", take(0x3A) else { return nil }
            space()
            guard let text = string(), let data = Base64.decode(text), take(0x7D) else { return nil }
            return .blob(data)
        }

        /// A JSON number: an integer when it has no fraction or exponent and fits 64 bits, else a real.
        mutating func number() -> SQLValue? {
            let start = at
            var integral = true
            if at < bytes.count, bytes[at] == 0x2D { at += 1 }
            guard digits() else { return nil }
            if at < bytes.count, bytes[at] == 0x2E {
                integral = false
                at += 1
                guard digits(leadingZeros: true) else { return nil }
            }
            if at < bytes.count, bytes[at] | 0x20 == 0x65 {
                integral = false
                at += 1
                if at < bytes.count, bytes[at] == 0x2B || bytes[at] == 0x2D { at += 1 }
                guard digits(leadingZeros: true) else { return nil }
            }
            let text = String(decoding: bytes[start..<at], as: UTF8.self)
            if integral, let n = Int64(text) { return .integer(n) }
            guard let d = Double(text), d.isFinite else { return nil }
            return .real(d)
        }

        /// One or more digits; an integer part has no leading zero before more digits (a fraction or exponent may).
        mutating func digits(leadingZeros: Bool = false) -> Bool {
            let start = at
            while at < bytes.count, bytes[at] >= 0x30, bytes[at] <= 0x39 { at += 1 }
            guard at > start else { return false }
            return leadingZeros || !(bytes[start] == 0x30 && at - start > 1)
        }

        /// A JSON string with its escapes resolved; nil for bad escapes, control characters or invalid UTF-8.
        mutating func string() -> String? {
            guard at < bytes.count, bytes[at] == 0x22 else { return nil }
            at += 1
            var out: [UInt8] = []
            while at < bytes.count {
                let c = bytes[at]
                at += 1
                switch c {
                case 0x22: return String(validating: out, as: UTF8.self)
                case 0x5C:
                    guard at < bytes.count else { return nil }
                    let e = bytes[at]
                    at += 1
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
                        guard let u = Unicode.Scalar(scalar) else { return nil }
                        out.append(contentsOf: Array(String(Character(u)).utf8))
                    default: return nil
                    }
                case 0..<0x20: return nil
                default: out.append(c)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard bytes.count - at >= 4 else { return nil }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[at]
                at += 1
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: return nil
                }
                v = v << 4 | d
            }
            return v
        }
    }
}
