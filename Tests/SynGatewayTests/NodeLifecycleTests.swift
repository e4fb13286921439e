import Foundation
import SynBroker
import SynGateway
import SynRuntime
import SynSodium
import Testing

/// Graceful shutdown drains calls in flight; a restarted node resumes the same keys, data, timers and audit log.
@Suite struct NodeLifecycleTests {
    @Test func shutdownLetsACallInFlightFinish() async throws {
        try await LiveNode.with(limits: "call_timeout_ms = 30000") { node in
            // Busy for 8 s (the drain allows 10): time enough to see it in flight even when the whole suite loads the
            // machine; the wait for it is bounded only by the suite's patience.
            let slow = Task { try await node.request("POST", "/v1/apps/hostile/slow", body: "8000") }
            for _ in 0..<6000 where node.runtime.app("hostile")?.busyInstances != 1 { try await Task.sleep(for: .milliseconds(5)) }
            #expect(node.runtime.app("hostile")?.busyInstances == 1)
            await node.stop()
            let reply = try await slow.value
            #expect(reply.status == 200 && reply.text == "slow done", "\(reply.status) \(reply.text)")
            // Stopped: workers gone, databases closed, the stop audited, the chain intact.
            #expect(node.runtime.apps().allSatisfy { $0.state == "stopped" || $0.state == "disabled" })
            let key = try KeyFile.load(path: node.data + "/node.key")
            let report = try AuditVerifier.verify(path: node.data + "/node.db", nodePublicKey: key.publicKey)
            #expect(report.firstBroken == nil)
        }
    }

    @Test func aRestartedNodeResumesKeysDataAndTimers() async throws {
        try await LiveNode.with { first in
            let nodeKey = first.runtime.broker.nodePublicKey
            let put = try await first.request("POST", "/v1/apps/store/put", body: #""k=v""#)
            #expect(put.status == 200 && put.text == "version 1", "\(put.text)")
            let timer = try await first.request("POST", "/v1/apps/store/timer", body: #""1500|after restart""#)
            #expect(timer.text.hasPrefix("token "), "\(timer.text)")
            await first.stop()

            try await LiveNode.reopened(first) { again in
                #expect(again.runtime.broker.nodePublicKey == nodeKey)
                let get = try await again.request("POST", "/v1/apps/store/get", body: #""k""#)
                #expect(get.status == 200 && get.text == "v@1", "\(get.text)")
                // The timer set before the restart fires after it (the app records deliveries under timer:<token>).
                var page = ""
                for _ in 0..<1000 where !page.contains("after restart") {
                    page = try await again.request("POST", "/v1/apps/store/scan", body: #""timer:|""#).text
                    if !page.contains("after restart") { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(page.contains("after restart"), "\(page)")
                let report = try AuditVerifier.verify(path: again.data + "/node.db", nodePublicKey: nodeKey)
                #expect(report.firstBroken == nil)
                #expect(again.runtime.broker.audit.recent(200).filter { $0.action == "node.start" }.count == 2)
            }
        }
    }
}

/// A manifest's `sha256` pins the library: the node runs a verified private copy, whatever later happens to the file.
@Suite struct LibraryPinningTests {
    @Test func aReplacedLibraryIsNotLoadedOnRestart() async throws {
        try await LiveNode.with { first in
            await first.stop()
            let library = first.root + "/manifests/libhello.so"
            let sha = Hex.encode(Hash.sha256(Array(try Data(contentsOf: URL(fileURLWithPath: library)))))
            let manifest = first.root + "/manifests/hello.toml"
            let text = try String(contentsOfFile: manifest, encoding: .utf8)
            try text.replacingOccurrences(of: "library = \"libhello.so\"", with: "library = \"libhello.so\"\nsha256 = \"\(sha)\"")
                .write(toFile: manifest, atomically: true, encoding: .utf8)
            try await LiveNode.reopened(first) { node in
                #expect(FileManager.default.fileExists(atPath: node.data + "/apps/hello/lib/\(sha).so"))
                // Someone swaps the file the manifest names; a restart still runs the verified copy.
                try FileManager.default.removeItem(atPath: library)
                try FileManager.default.copyItem(atPath: node.root + "/manifests/libhostile.so", toPath: library)
                #expect(try await node.request("POST", "/v1/admin/apps/hello/restart", sign: node.owner).status == 200)
                for _ in 0..<500 where node.runtime.app("hello")?.state != "running" { try await Task.sleep(for: .milliseconds(10)) }
                let echo = try await node.request("POST", "/v1/apps/hello/echo", body: #"{"still":"hello"}"#)
                #expect(echo.status == 200 && echo.text == #"{"still":"hello"}"#, "\(echo.text)")
            }
        }
    }
}
