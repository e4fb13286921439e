import Foundation
public import Logging

/// swift-log's text layout (`2026-11-24T10:09:35+0000 info syneroym: app=hello request_id=... [SynRuntime] msg`)
/// on stderr, one write per line. Unlike `StreamLogHandler`, which formats its metadata again every time a key is
/// set, this one formats only when a line is written: Hummingbird sets a key on every request's logger.
public struct TextLogHandler: LineLogHandler {
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
        let pairs = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "\(Self.timestamp()) \(event.level) \(label):\(pairs.isEmpty ? "" : " " + pairs) [\(event.source)] \(event.message)\n"
    }

    static func timestamp() -> String {
        var t = time(nil), parts = tm()
        localtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
