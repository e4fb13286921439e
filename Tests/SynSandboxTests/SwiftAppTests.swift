import Foundation
import SynSandbox
import SynWire
import SynTestSupport
import Testing

/// Apps written in Swift (built by SwiftPM as `.dynamic` products) run in the same sandbox as C apps.
@Suite struct SwiftAppTests {
    static func library(_ product: String) -> String { TestSupport.products + "/lib\(product).so" }

    @Test func swiftAppUsesEveryLocalSlot() throws {
        let lines = LogLines()
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "swift-echo", library: Self.library("SwiftEchoApp")),
                                             log: { line in lines.append("\(line.app) \(line.level) \(line.message)") })
        #expect(try worker.handle(method: "echo", body: Array("héllo".utf8)).body == Array("héllo".utf8))
        let random1 = try worker.handle(method: "random").body
        let random2 = try worker.handle(method: "random").body
        #expect(random1.count == 32 && random1 != random2)
        let t1 = UInt64(String(decoding: try worker.handle(method: "clock").body, as: UTF8.self)) ?? 0
        let t2 = UInt64(String(decoding: try worker.handle(method: "clock").body, as: UTF8.self)) ?? 0
        #expect(t1 > 0 && t2 >= t1)
        #expect(try worker.handle(method: "log", body: Array("from swift".utf8)).body == Array("logged".utf8))
        #expect(lines.all.contains("swift-echo 2 from swift"))
        // A capability slot travels to the host as a nested frame and says why it is unavailable.
        let kv = String(decoding: try worker.handle(method: "kv").body, as: UTF8.self)
        #expect(kv.hasPrefix("-6 kv_get is not supported by this node yet"))
        #expect(try worker.handle(method: "nope").httpStatus == 404)
        worker.shutdown()
    }

    @Test func swiftFatalErrorIsACrashWithSIGILL() throws {
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "swift-fatal", library: Self.library("SwiftFatalApp")))
        #expect(throws: WorkerError.self) { try worker.handle(method: "anything") }
        #expect(worker.death == WorkerDeath(.crash, "SIGILL"))
        #expect(TestSupport.neighbourAnswers())
    }
}

/// Log lines collected from a worker's log frames.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

/// A Swift app using full Foundation runs under the shipped `foundation` profile.
@Suite struct FoundationProfileTests {
    @Test func foundationAppWorksUnderTheFoundationProfile() throws {
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "swift-foundation",
                                                                  library: SwiftAppTests.library("SwiftFoundationApp"),
                                                                  profile: "foundation", memoryMB: 256))
        let reply = try worker.handle(method: "report")
        let text = String(decoding: reply.body, as: UTF8.self)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any], "\(text)")
        #expect(object["uuid_is_zero"] as? Bool == false, "UUID() needs a working /dev/urandom")
        #expect((object["year"] as? Int ?? 0) >= 2024)
        #expect(object["zone"] as? String == "Europe/Paris")
        #expect(object["threads_ran"] as? Int == 4)
        #expect(object["decoded"] as? [String: Int] == ["a": 1, "b": 2])
        // /proc lists the sandbox's own processes (init 1, the app 2) and nothing of the host.
        let proc = String(decoding: try worker.handle(method: "proc").body, as: UTF8.self)
        let parts = proc.split(separator: " ")
        let pids = parts.first.map { $0.split(separator: ",").filter { Int($0) != nil } } ?? []
        #expect(pids == ["1", "2"], "\(proc)")
        #expect(parts.last == "sys=false", "\(proc)")
        // Still no new processes under the foundation profile.
        #expect(throws: WorkerError.self) { try worker.handle(method: "spawn_process") }
        #expect(worker.death?.outcome == .seccompViolation)
    }
}
