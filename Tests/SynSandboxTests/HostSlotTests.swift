import Foundation
import SynSandbox
import SynTestSupport
import Testing

/// Every slot of the host table is callable from a C app in the real sandbox.
@Suite struct HostSlotTests {
    @Test func everySlotIsCallable() throws {
        let lib = try TestSupport.buildC("Tests/HostileApps/slots.c", name: "slots")
        let logs = LogLines()
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "slots", library: lib),
                                             log: { line in logs.append("\(line.level) \(line.message)") })
        let text = String(decoding: try worker.handle(method: "all").body, as: UTF8.self)
        var result: [String: (status: Int, message: String)] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            result[String(parts[0])] = (Int(parts[1]) ?? 99, parts.count > 2 ? String(parts[2]) : "")
        }
        // Local slots work.
        for slot in ["alloc", "log", "clock_ns", "random"] { #expect(result[slot]?.status == 0, "\(slot): \(text)") }
        #expect(result["alloc_huge"]?.status == -8)
        #expect(result["last_error_none"]?.status == -1)
        #expect(result["random_too_large"]?.status == -8)
        #expect(result["random_too_large"]?.message.contains("65536") == true)
        #expect(result["kv_get_null_out"]?.status == -2)
        #expect(logs.all == ["2 slots log"])
        // Capability slots travel to the host and come back unsupported, with a message naming the slot.
        let forwarded = ["id_public_key", "id_sign", "id_verify", "kv_get", "kv_put", "kv_delete", "kv_scan", "sql_exec",
                         "sql_query", "net_send", "net_request", "msg_publish", "event_emit", "timer_set"]
        for slot in forwarded {
            #expect(result[slot]?.status == -6, "\(slot): \(text)")
            #expect(result[slot]?.message.hasPrefix("\(slot) is not supported by this node yet") == true, "\(slot)")
        }
        #expect(result.count == 22) // 19 slots plus 3 edge cases
        worker.shutdown()
    }
}
