/// Whether bytes are exactly one JSON value (RFC 8259), checked by a scanner that builds nothing: strings,
/// numbers, literals, arrays and objects, with nesting bounded by `maxDepth`.
public enum JSONScan {
    public static let maxDepth = 512

    public static func isJSON(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            var scanner = Scanner(b: buffer, i: 0)
            scanner.space()
            guard scanner.value(depth: 0) else { return false }
            scanner.space()
            return scanner.i == buffer.count
        }
    }

    private struct Scanner {
        let b: UnsafeBufferPointer<UInt8>
        var i: Int

        var peek: UInt8? { i < b.count ? b[i] : nil }

        mutating func space() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard b.count - i >= n else { return false }
            for k in 0..<n where b[i + k] != word.utf8Start[k] { return false }
            i += n
            return true
        }

        mutating func value(depth: Int) -> Bool {
            guard depth < JSONScan.maxDepth, let c = peek else { return false }
            switch c {
            case 0x7B: return object(depth: depth)
            case 0x5B: return array(depth: depth)
            case 0x22: return string()
            case 0x74: return literal("true")
            case 0x66: return literal("false")
            case 0x6E: return literal("null")
            default: return number()
            }
        }

        mutating func object(depth: Int) -> Bool {
            i += 1
            space()
            if peek == 0x7D { i += 1; return true }
            while true {
                guard peek == 0x22, string() else { return false }
                space()
                guard peek == 0x3A else { return false }
                i += 1
                space()
                guard value(depth: depth + 1) else { return false }
                space()
                if peek == 0x2C { i += 1; space(); continue }
                if peek == 0x7D { i += 1; return true }
                return false
            }
        }

        mutating func array(depth: Int) -> Bool {
            i += 1
            space()
            if peek == 0x5D { i += 1; return true }
            while true {
                guard value(depth: depth + 1) else { return false }
                space()
                if peek == 0x2C { i += 1; space(); continue }
                if peek == 0x5D { i += 1; return true }
                return false
            }
        }

        /// A string, with escapes checked and raw bytes required to be valid UTF-8 without control characters.
        mutating func string() -> Bool {
            i += 1
            while i < b.count {
                let c = b[i]
                switch c {
                case 0x22: i += 1; return true
                case 0x5C:
                    guard i + 1 < b.count else { return false }
                    let e = b[i + 1]
                    if e == 0x75 {
                        guard i + 5 < b.count else { return false }
                        for k in 2...5 where !isHex(b[i + k]) { return false }
                        i += 6
                    } else if e == 0x22 || e == 0x5C || e == 0x2F || e == 0x62 || e == 0x66 || e == 0x6E || e == 0x72 || e == 0x74 {
                        i += 2
                    } else {
                        return false
                    }
                case 0..<0x20: return false
                case 0x20..<0x80: i += 1
                default:
                    guard utf8Sequence() else { return false }
                }
            }
            return false
        }

        /// One multi-byte UTF-8 sequence (no overlongs, no surrogates, at most U+10FFFF).
        mutating func utf8Sequence() -> Bool {
            let c = b[i]
            let (count, low, high): (Int, UInt8, UInt8)
            switch c {
            case 0xC2...0xDF: (count, low, high) = (1, 0x80, 0xBF)
            case 0xE0: (count, low, high) = (2, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (count, low, high) = (2, 0x80, 0xBF)
            case 0xED: (count, low, high) = (2, 0x80, 0x9F)
            case 0xF0: (count, low, high) = (3, 0x90, 0xBF)
            case 0xF1...0xF3: (count, low, high) = (3, 0x80, 0xBF)
            case 0xF4: (count, low, high) = (3, 0x80, 0x8F)
            default: return false
            }
            guard b.count - i > count, (low...high).contains(b[i + 1]) else { return false }
            for k in stride(from: 2, through: count, by: 1) where !(0x80...0xBF).contains(b[i + k]) { return false }
            i += count + 1
            return true
        }

        mutating func number() -> Bool {
            if peek == 0x2D { i += 1 }
            guard let first = peek, isDigit(first) else { return false }
            if first == 0x30 { i += 1 } else { while let d = peek, isDigit(d) { i += 1 } }
            if peek == 0x2E {
                i += 1
                guard let d = peek, isDigit(d) else { return false }
                while let d = peek, isDigit(d) { i += 1 }
            }
            if peek == 0x65 || peek == 0x45 {
                i += 1
                if peek == 0x2B || peek == 0x2D { i += 1 }
                guard let d = peek, isDigit(d) else { return false }
                while let d = peek, isDigit(d) { i += 1 }
            }
            return true
        }

        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func isHex(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) }
    }
}
