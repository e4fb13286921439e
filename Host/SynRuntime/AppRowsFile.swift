import Foundation
import SynBroker

/// `node-rows.json` in an app's export: what `node.db` held for the app (`EventStore.AppRows`: its outbox cursor and
/// timers), as JSON with base64 payloads. Read from a bundle another node signed, so every field is checked and
/// bounded as the broker bounds what an app hands it, and the file itself is at most `maxBytes`.
enum AppRowsFile {
    static let name = "node-rows.json"
    /// Timers a file may hold (the broker's per-app limit), and its size (a full default timers quota, in base64).
    static let maxTimers = 10_000
    static let maxPayload = 64 * 1024
    static let maxBytes = 16 << 20

    static func encode(_ rows: EventStore.AppRows) -> Data {
        var object: [String: Any] = [
            "timers": rows.timers.map { ["token": $0.token, "due_ns": $0.dueNs, "payload": Data($0.payload).base64EncodedString()] as [String: Any] },
        ]
        if let outbox = rows.outbox { object["outbox"] = ["epoch": Data(outbox.epoch).base64EncodedString(), "seq": outbox.seq] }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    static func decode(_ data: Data) throws(NodeError) -> EventStore.AppRows {
        func bad(_ what: String) -> NodeError { NodeError(.package, "\(name) in the bundle is malformed: \(what)") }
        guard data.count <= maxBytes else { throw bad("it is over \(maxBytes >> 20) MiB") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw bad("not a JSON object") }
        var rows = EventStore.AppRows()
        if let outbox = object["outbox"] {
            guard let o = outbox as? [String: Any], let epoch = (o["epoch"] as? String).flatMap({ Data(base64Encoded: $0) }),
                  epoch.count <= 64, let seq = (o["seq"] as? NSNumber)?.int64Value, seq >= 0 else { throw bad("its outbox cursor") }
            rows.outbox = (Array(epoch), seq)
        }
        guard let timers = (object["timers"] ?? []) as? [[String: Any]], timers.count <= maxTimers else {
            throw bad("more than \(maxTimers) timers, or not a list")
        }
        for t in timers {
            guard let token = (t["token"] as? NSNumber)?.int64Value, token > 0, let due = (t["due_ns"] as? NSNumber)?.int64Value,
                  let payload = (t["payload"] as? String).flatMap({ Data(base64Encoded: $0) }), payload.count <= maxPayload else {
                throw bad("a timer")
            }
            rows.timers.append(.init(token: token, dueNs: due, payload: Array(payload)))
        }
        return rows
    }
}
