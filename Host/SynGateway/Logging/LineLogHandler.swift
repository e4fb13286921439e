import Foundation
public import Logging

/// A log handler that writes one line per event: it keeps metadata as set, and merges it with the event's own only
/// when a line is written. `TextLogHandler` and `JSONLogHandler` differ only in the line.
public protocol LineLogHandler: LogHandler {
    var label: String { get }
    /// Where lines go: stderr unless a test passes its own sink.
    var write: @Sendable (String) -> Void { get }
    /// The line for `event`, with `metadata` already merged (the event's keys win); nil writes nothing.
    func line(for event: LogEvent, metadata: Logger.Metadata) -> String?
}

extension LineLogHandler {
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        if let line = line(for: event, metadata: merged) { write(line) }
    }

    /// Writes each line to stderr in one call.
    static var standardError: @Sendable (String) -> Void { { FileHandle.standardError.write(Data($0.utf8)) } }
}
