import Foundation
import SynBroker
import SynText

/// Minimal JSON writing for CLI output (stable key order, exact escaping).
enum JSONText {
    static func string(_ s: String) -> String { JSONString.quote(s) }

    /// `bytes` as a JSON value if they are valid JSON, else as a JSON string (lossy UTF-8).
    static func value(_ bytes: [UInt8]) -> String {
        if !bytes.isEmpty, JSONScan.isJSON(bytes) {
            return String(decoding: bytes, as: UTF8.self)
        }
        return string(String(decoding: bytes, as: UTF8.self))
    }

    static func number(_ d: Double, places: Int = 2) -> String { String(format: "%.\(places)f", d) }

    /// An object from ordered pairs of key and already-encoded value.
    static func object(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }
}
