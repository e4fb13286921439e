import Foundation
import SynBroker
import SynConfig

/// `node-rows.json` in an app's export: what `node.db` held for the app (`EventStore.AppRows`), as JSON with
/// base64 payloads. Read from a bundle another node signed, so every field is checked and bounded as the broker
/// bounds what an app hands it.
enum AppRowsFile {
    static let name = "node-rows.json"
    /// Timers (the broker's per-app limit) and messages (a 16 MiB outbox of the smallest messages) a file may hold.
    static let maxTimers = 10_000
    static let maxMessages = 200_000
    static let maxPayload = 64 * 1024

    static func encode(_ rows: EventStore.AppRows) -> Data {
        var object: [String: Any] = [
            "timers": rows.timers.map { ["token": $0.token, "due_ns": $0.dueNs, "payload": Data($0.payload).base64EncodedString()] as [String: Any] },
            "messages": rows.messages.map {
                ["peer": $0.peer, "time_ns": $0.timeNs, "caller": $0.caller, "payload": Data($0.payload).base64EncodedString()] as [String: Any]
            },
        ]
        if let outbox = rows.outbox { object["outbox"] = ["epoch": Data(outbox.epoch).base64EncodedString(), "seq": outbox.seq] }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    }

    static func decode(_ data: Data) throws(NodeError) -> EventStore.AppRows {
        func bad(_ what: String) -> NodeError { NodeError(.package, "\(name) in the bundle is malformed: \(what)") }
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
        guard let messages = (object["messages"] ?? []) as? [[String: Any]], messages.count <= maxMessages else {
            throw bad("more than \(maxMessages) messages, or not a list")
        }
        for m in messages {
            guard let peer = m["peer"] as? String, NameRules.isNodeID(peer), let time = (m["time_ns"] as? NSNumber)?.int64Value,
                  let caller = m["caller"] as? String, caller.utf8.count <= 256,
                  let payload = (m["payload"] as? String).flatMap({ Data(base64Encoded: $0) }), payload.count <= maxPayload else {
                throw bad("a message")
            }
            rows.messages.append(.init(peer: peer, timeNs: time, caller: caller, payload: Array(payload)))
        }
        return rows
    }
}
