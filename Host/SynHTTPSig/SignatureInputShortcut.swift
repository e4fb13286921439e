/// A single pass over the usual `Signature-Input` value, one member in canonical form such as
/// `sig1=("@method" "@authority" "@target-uri");created=1750000000;keyid="…";alg="ed25519";nonce="…"`, straight to
/// `SignatureParameters`, without building the RFC 8941 value tree.
///
/// It accepts only values that the full path (`StructuredFieldParser` then `SignatureParameters.init(member:)`)
/// accepts with the same result, and gives up (nil) at the first byte outside that narrow form: whitespace other
/// than one SP between components, escapes, anything but one member, component parameters, an uppercase, empty,
/// unsupported-derived or repeated component, a parameter that is unknown, repeated, boolean or mistyped, an
/// integer that is negative, has a leading zero, more than 15 digits or a decimal point, a string parameter that is
/// empty or too long, an `alg` other than `ed25519`, a missing `created` or `keyid`, or a count above the limits.
/// Whatever it gives up on goes through the full path, which then decides (and words any refusal) exactly as
/// before. What it accepts is canonical by construction (single SPs, no escapes needed, canonical integers, no
/// boolean parameters), so the full path's canonical-form check would pass too.
enum SignatureInputShortcut {
    static func parse(_ text: [UInt8], limits: SignatureLimits) -> (label: String, parameters: SignatureParameters)? {
        guard limits.maxLabels >= 1 else { return nil }
        return text.withUnsafeBufferPointer { input in parse(input, source: text, limits: limits) }
    }

    private static func parse(_ input: UnsafeBufferPointer<UInt8>, source: [UInt8],
                              limits: SignatureLimits) -> (label: String, parameters: SignatureParameters)? {
        let count = input.count
        // label "=" "("
        guard count > 0, isLowerAlpha(input[0]) || input[0] == STAR else { return nil }
        var index = 1
        while index < count && isKeyChar(input[index]) { index += 1 }
        let labelEnd = index
        guard index + 1 < count, input[index] == EQUALS, input[index + 1] == OPEN else { return nil }
        let rawStart = index + 1
        index += 2

        // Components: `"name"` separated by exactly one SP, then ")".
        var components: [String] = []
        if index < count && input[index] == CLOSE {
            index += 1
        } else {
            while true {
                guard components.count < limits.maxComponents,
                      let (name, end) = plainString(input, from: index) else { return nil }
                guard !name.isEmpty, !name.contains(where: { $0 >= 0x41 && $0 <= 0x5a }) else { return nil }
                let component = String(decoding: name, as: UTF8.self)
                if name.first == AT && !SignatureBase.isSupportedDerived(component) { return nil }
                guard !components.contains(component) else { return nil }
                components.append(component)
                index = end
                guard index < count else { return nil }
                if input[index] == CLOSE {
                    index += 1
                    break
                }
                guard input[index] == SP, index + 1 < count, input[index + 1] == QUOTE else { return nil }
                index += 1
            }
        }

        // Parameters: `;name=value`, each known name at most once, to the end of the field.
        var created: Int64?
        var expires: Int64?
        var keyID: String?
        var algorithm: String?
        var nonce: String?
        var tag: String?
        var parameterCount = 0
        while index < count {
            guard input[index] == SEMICOLON, parameterCount < limits.maxParameters else { return nil }
            index += 1
            let nameStart = index
            while index < count && isKeyChar(input[index]) { index += 1 }
            let name = UnsafeBufferPointer(rebasing: input[nameStart..<index])
            guard index < count, input[index] == EQUALS else { return nil }
            index += 1
            parameterCount += 1
            switch parameterName(name) {
            case .created, .expires:
                guard let (value, end) = canonicalInteger(input, from: index) else { return nil }
                index = end
                if parameterName(name) == .created {
                    guard created == nil else { return nil }
                    created = value
                } else {
                    guard expires == nil else { return nil }
                    expires = value
                }
            case .keyid, .alg, .nonce, .tag:
                guard let (bytes, end) = plainString(input, from: index) else { return nil }
                index = end
                let value = String(decoding: bytes, as: UTF8.self)
                switch parameterName(name) {
                case .alg:
                    guard algorithm == nil, value == "ed25519" else { return nil }
                    algorithm = value
                case .keyid:
                    guard keyID == nil, bounded(bytes, limits) else { return nil }
                    keyID = value
                case .nonce:
                    guard nonce == nil, bounded(bytes, limits) else { return nil }
                    nonce = value
                default:
                    guard tag == nil, bounded(bytes, limits) else { return nil }
                    tag = value
                }
            case nil:
                return nil
            }
        }
        guard let created, let keyID else { return nil }
        let label = String(decoding: UnsafeBufferPointer(rebasing: input[0..<labelEnd]), as: UTF8.self)
        let parameters = SignatureParameters(components: components, created: created, expires: expires,
                                             keyID: keyID, algorithm: algorithm, nonce: nonce, tag: tag,
                                             serializedBytes: source[rawStart...])
        return (label, parameters)
    }

    private enum Parameter { case created, expires, keyid, alg, nonce, tag }

    private static func parameterName(_ name: UnsafeBufferPointer<UInt8>) -> Parameter? {
        if equal(name, "created") { return .created }
        if equal(name, "keyid") { return .keyid }
        if equal(name, "alg") { return .alg }
        if equal(name, "nonce") { return .nonce }
        if equal(name, "expires") { return .expires }
        if equal(name, "tag") { return .tag }
        return nil
    }

    private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let start = literal.utf8Start
        for index in 0..<bytes.count where bytes[index] != start[index] { return false }
        return true
    }

    /// `"…"` at `from` holding only printable ASCII other than `"` and `\` (so it needs no escapes): its content
    /// and the index after the closing quote.
    private static func plainString(_ input: UnsafeBufferPointer<UInt8>,
                                    from start: Int) -> (UnsafeBufferPointer<UInt8>, Int)? {
        guard start < input.count, input[start] == QUOTE else { return nil }
        var index = start + 1
        while index < input.count {
            let byte = input[index]
            if byte == QUOTE { return (UnsafeBufferPointer(rebasing: input[(start + 1)..<index]), index + 1) }
            guard byte >= 0x20 && byte <= 0x7e && byte != BACKSLASH else { return nil }
            index += 1
        }
        return nil
    }

    /// A non-negative integer at `from` written canonically (1–15 digits, no leading zero unless it is `0`, not
    /// followed by `.`): its value and the index after it.
    private static func canonicalInteger(_ input: UnsafeBufferPointer<UInt8>, from start: Int) -> (Int64, Int)? {
        var index = start
        var value: Int64 = 0
        while index < input.count && input[index] >= ZERO && input[index] <= NINE {
            value = value * 10 + Int64(input[index] - ZERO)
            index += 1
            if index - start > 15 { return nil }
        }
        let digits = index - start
        guard digits >= 1, digits == 1 || input[start] != ZERO else { return nil }
        if index < input.count && input[index] == DOT { return nil }
        return (value, index)
    }

    private static func bounded(_ bytes: UnsafeBufferPointer<UInt8>, _ limits: SignatureLimits) -> Bool {
        !bytes.isEmpty && bytes.count <= limits.maxParameterStringBytes
    }

    private static func isLowerAlpha(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7a }

    private static func isKeyChar(_ byte: UInt8) -> Bool {
        isLowerAlpha(byte) || (byte >= ZERO && byte <= NINE) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            || byte == DOT || byte == STAR
    }

    private static let SP = UInt8(ascii: " ")
    private static let EQUALS = UInt8(ascii: "=")
    private static let SEMICOLON = UInt8(ascii: ";")
    private static let OPEN = UInt8(ascii: "(")
    private static let CLOSE = UInt8(ascii: ")")
    private static let QUOTE = UInt8(ascii: "\"")
    private static let BACKSLASH = UInt8(ascii: "\\")
    private static let STAR = UInt8(ascii: "*")
    private static let DOT = UInt8(ascii: ".")
    private static let AT = UInt8(ascii: "@")
    private static let ZERO = UInt8(ascii: "0")
    private static let NINE = UInt8(ascii: "9")
}
