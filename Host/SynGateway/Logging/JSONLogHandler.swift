import Foundation
public import Logging

/// One JSON object per line on stderr: `ts`, `level`, `label`, `msg`, and every metadata key (`request_id`, `app`...).
/// swift-log ships only a text handler; `--log-format json` selects this one.
public struct JSONLogHandler: LineLogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public let label: String
    public let write: @Sendable (String) -> Void

    /// Lines go to `write`, or to stderr.
    public init(label: String, write: (@Sendable (String) -> Void)? = nil) {
        self.label = label
        self.write = write ?? Self.standardError
    }

    public func line(for event: LogEvent, metadata: Logger.Metadata) -> String? {
        var object: [String: Any] = ["ts": Self.timestamp(), "level": event.level.rawValue, "label": label,
                                     "msg": event.message.description]
        for (key, value) in metadata where object[key] == nil { object[key] = Self.unwrap(value) }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func unwrap(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array(let a): a.map(unwrap)
        case .dictionary(let d): d.mapValues(unwrap)
        }
    }

    static func timestamp() -> String {
        let now = Date().timeIntervalSince1970
        let seconds = now.rounded(.down)
        var t = time_t(seconds), parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), min(Int((now - seconds) * 1000), 999))
    }
}
