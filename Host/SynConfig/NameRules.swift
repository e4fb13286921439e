/// Syntax rules for names, patterns, URLs and paths in profiles and manifests.
/// Each `…Problem` function returns nil when the text is valid, else what is wrong with it.
public enum NameRules {
    private static func isLower(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// Whether `text` is `first` followed by up to `maxRest` bytes from `rest`.
    private static func matches(_ text: String, first: (UInt8) -> Bool, rest: (UInt8) -> Bool, maxRest: Int) -> Bool {
        let bytes = Array(text.utf8)
        guard let head = bytes.first, first(head), bytes.count <= maxRest + 1 else { return false }
        return bytes.dropFirst().allSatisfy(rest)
    }

    /// `^[a-z0-9][a-z0-9_-]{0,62}$`
    public static func isProfileName(_ text: String) -> Bool {
        matches(text, first: { isLower($0) || isDigit($0) },
                rest: { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }, maxRest: 62)
    }

    /// `^[a-z][a-z0-9_-]{0,62}$`
    public static func isAppID(_ text: String) -> Bool {
        matches(text, first: isLower,
                rest: { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }, maxRest: 62)
    }

    /// `^[a-z][a-z0-9_.-]{0,127}$`
    /// A node id: an ed25519 public key in unpadded base64url, 43 characters of `A–Z a–z 0–9 - _`.
    public static func isNodeID(_ text: String) -> Bool {
        text.utf8.count == 43 && text.utf8.allSatisfy { isLower($0) || isDigit($0) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    public static func isMethodName(_ text: String) -> Bool {
        matches(text, first: isLower, rest: {
            isLower($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
        }, maxRest: 127)
    }

    /// 64 lowercase hex digits.
    public static func isSHA256Hex(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { isDigit($0) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
    }

    /// Whether `text` holds a control character (including newlines and DEL).
    static func hasControlCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
    }

    /// Topic pattern: dot-separated segments of `[a-z0-9_-]+`; the last may be `*`.
    static func topicPatternProblem(_ text: String) -> String? {
        guard !text.isEmpty else { return "a pattern must not be empty" }
        guard text.utf8.count <= 255 else { return "a pattern may be at most 255 bytes long" }
        let segments = text.split(separator: ".", omittingEmptySubsequences: false)
        for (index, segment) in segments.enumerated() {
            if segment.isEmpty { return "empty segment (two dots, or a leading or trailing dot)" }
            if segment == "*" {
                if index != segments.count - 1 { return "'*' may only be the last segment" }
                continue
            }
            let valid = segment.utf8.allSatisfy {
                isLower($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
            if !valid { return "segment '\(segment)' must use only a-z, 0-9, '_' and '-' (or be a final '*')" }
        }
        return nil
    }

    /// A `net.fetch` URL: https only, with a host, no userinfo, no fragment, no spaces or control characters.
    static func fetchURLProblem(_ text: String) -> String? {
        let scheme = "https://"
        guard text.utf8.count <= 2048 else { return "a URL may be at most 2048 bytes long" }
        guard text.lowercased().hasPrefix(scheme) else {
            return text.lowercased().hasPrefix("http://") ? "plain http is not allowed; use https://"
                : "must be an https:// URL"
        }
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
            return "must not contain spaces, control or non-ASCII characters (percent-encode them)"
        }
        let rest = text.dropFirst(scheme.count)
        if rest.contains("#") { return "must not contain a fragment ('#')" }
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        if authority.contains("@") { return "must not contain userinfo (user:password@)" }
        var host = Substring(authority)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return "unterminated IPv6 address" }
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return "unexpected text after the IPv6 address" }
                if let problem = portProblem(after.dropFirst()) { return problem }
            }
            host = host[host.index(after: host.startIndex)..<close]
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                return "bad IPv6 address"
            }
            return nil
        }
        if let colon = host.firstIndex(of: ":") {
            if let problem = portProblem(host[host.index(after: colon)...]) { return problem }
            host = host[..<colon]
        }
        guard !host.isEmpty else { return "must name a host" }
        let validHost = host.utf8.allSatisfy {
            isLower($0) || isDigit($0) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
        guard validHost, !host.hasPrefix("."), !host.contains("..") else { return "host '\(host)' is not a valid host name" }
        return nil
    }

    private static func portProblem(_ text: Substring) -> String? {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy(isDigit), let port = Int(text), (1...65535).contains(port)
        else { return "port must be a number between 1 and 65535" }
        return nil
    }

    /// `library`: a file name or relative path, without `..`, not absolute.
    static func libraryPathProblem(_ text: String) -> String? {
        guard !text.isEmpty else { return "must not be empty" }
        guard text.utf8.count <= 1024 else { return "may be at most 1024 bytes long" }
        guard !hasControlCharacter(text) else { return "must not contain control characters" }
        guard !text.hasPrefix("/") else { return "must be relative (a file name next to the manifest), not absolute" }
        guard !text.hasSuffix("/") else { return "must name a file, not a directory" }
        let segments = text.split(separator: "/", omittingEmptySubsequences: false)
        if segments.contains("..") { return "must not contain '..'" }
        if segments.contains("") { return "must not contain empty path segments ('//')" }
        return nil
    }
}
