import Foundation
import SynSandbox
import Synchronization

/// The last `capacity` log lines of each app, kept in memory for `syneroym apps logs` (stderr or the journal has
/// them all).
final class AppLogRing: Sendable {
    struct Line: Sendable {
        let time: Date
        let level: Int32
        let message: String
        let requestID: String
    }

    let capacity: Int
    private struct Rings {
        var lines: [String: [Line]] = [:]
        var heads: [String: Int] = [:]
    }

    private let rings = Mutex(Rings())

    init(capacity: Int = 1000) { self.capacity = capacity }

    func append(_ line: AppLogLine) {
        let entry = Line(time: Date(), level: line.level, message: line.message, requestID: line.requestID)
        rings.withLock { r in
            if r.lines[line.app, default: []].count < capacity {
                r.lines[line.app, default: []].append(entry)
            } else {
                let head = r.heads[line.app, default: 0]
                r.lines[line.app]?[head] = entry
                r.heads[line.app] = (head + 1) % capacity
            }
        }
    }

    /// The most recent `count` lines of `app`, oldest first.
    func recent(_ app: String, count: Int) -> [Line] {
        rings.withLock { r in
            let ring = r.lines[app] ?? []
            let head = r.heads[app, default: 0]
            let ordered = ring.count < capacity ? ring : Array(ring[head...] + ring[..<head])
            return Array(ordered.suffix(max(0, count)))
        }
    }
}
