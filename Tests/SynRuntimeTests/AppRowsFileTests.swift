import Foundation
import SynBroker
@testable import SynRuntime
import Testing

/// `node-rows.json` in an app's export: what node.db held for the app round-trips, and a hostile file (another
/// node signed it, but that node may be hostile) is refused with a message rather than taken in.
@Suite struct AppRowsFileTests {
    @Test func rowsRoundTrip() throws {
        var rows = EventStore.AppRows()
        rows.outbox = ([1, 2, 3], 42)
        rows.timers = [.init(token: 7, dueNs: 1_000, payload: Array("{\"a\":1}".utf8))]
        #expect(try AppRowsFile.decode(AppRowsFile.encode(rows)) == rows)
        #expect(try AppRowsFile.decode(AppRowsFile.encode(EventStore.AppRows())) == EventStore.AppRows())
    }

    @Test(arguments: [
        (#"[]"#, "not a JSON object"),
        (#"{"timers":[{"token":0,"due_ns":1,"payload":""}]}"#, "a timer"),
        (#"{"timers":[{"token":1,"due_ns":1,"payload":"\#(Data(count: 70_000).base64EncodedString())"}]}"#, "a timer"),
        (String(repeating: " ", count: AppRowsFile.maxBytes + 1), "over 16 MiB"),
        (#"{"outbox":{"epoch":"AAAA","seq":-1}}"#, "outbox cursor"),
        (#"{"timers":"many"}"#, "timers"),
    ])
    func aHostileFileIsRefused(_ json: String, _ expected: String) {
        do {
            _ = try AppRowsFile.decode(Data(json.utf8))
            Issue.record("accepted: \(json.prefix(80))")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }
}
