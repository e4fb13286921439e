import Foundation
import SynSandbox
import SynWire
import SynTestSupport
import Testing

/// Death tests: a hostile app tries each forbidden thing inside a real sandboxed worker and must be stopped and
/// classified, while the host (this process) survives and a neighbouring app keeps answering.
@Suite struct HostileAppTests {
    static let library: String = (try? TestSupport.buildC("Tests/HostileApps/hostile.c", name: "hostile")) ?? ""

    struct Attack: CustomTestStringConvertible, Sendable {
        let method: String
        let outcome: Outcome
        let detail: String
        var testDescription: String { "\(method) → \(outcome.rawValue)" }
    }

    static let attacks: [Attack] = [
        Attack(method: "open_file", outcome: .seccompViolation, detail: "openat"),
        Attack(method: "socket_inet", outcome: .seccompViolation, detail: "socket"),
        Attack(method: "fork", outcome: .seccompViolation, detail: "clone"),
        Attack(method: "execve", outcome: .seccompViolation, detail: "execve"),
        Attack(method: "ptrace", outcome: .seccompViolation, detail: "ptrace"),
        Attack(method: "unshare_user", outcome: .seccompViolation, detail: "unshare"),
        Attack(method: "mount", outcome: .seccompViolation, detail: "mount"),
        Attack(method: "mprotect_exec", outcome: .seccompViolation, detail: "mprotect"),
        Attack(method: "mmap_exec", outcome: .seccompViolation, detail: "mmap"),
        Attack(method: "kill_init", outcome: .seccompViolation, detail: "kill"),
        Attack(method: "thread_bomb", outcome: .seccompViolation, detail: "rt_sigaction|clone"),
        Attack(method: "null_deref", outcome: .crash, detail: "SIGSEGV"),
        Attack(method: "abort", outcome: .crash, detail: "SIGABRT"),
        Attack(method: "alloc_bomb", outcome: .memoryQuota, detail: "limits.memory_mb"),
        Attack(method: "spin", outcome: .timeout, detail: "limits.call_timeout_ms"),
        Attack(method: "garbage", outcome: .protocolViolation, detail: "header says"),
        Attack(method: "fake_reply", outcome: .protocolViolation, detail: "unexpected"),
    ]

    @Test(arguments: attacks)
    func attackIsStoppedAndClassified(_ attack: Attack) throws {
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "hostile", library: Self.library,
                                                              memoryMB: 32, timeoutMs: 500))
        #expect(try worker.handle(method: "ping").body == Array("pong".utf8))
        #expect(throws: WorkerError.self) { try worker.handle(method: attack.method) }
        let death = try #require(worker.death)
        #expect(death.outcome == attack.outcome, "\(attack.method): \(death)")
        #expect(attack.detail.split(separator: "|").contains { death.detail.contains($0) }, "\(attack.method): \(death)")
        #expect(TestSupport.neighbourAnswers())
    }

    @Test func responseOverMaxFrameIsAProtocolViolation() throws {
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "hostile", library: Self.library, maxFrameKB: 64))
        // Just under the limit passes: 63 KiB body plus the 4-byte status.
        let ok = try worker.handle(method: "big_response", body: Array("63".utf8))
        #expect(ok.body.count == 63 * 1024)
        #expect(throws: WorkerError.self) { try worker.handle(method: "big_response", body: Array("64".utf8)) }
        #expect(worker.death?.outcome == .protocolViolation)
        #expect(worker.death?.detail.contains("limits.max_frame_kb") == true)
        #expect(TestSupport.neighbourAnswers())
    }

    @Test func aLogFloodIsCappedPerCall() throws {
        let lines = LogLines()
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "hostile", library: Self.library),
                                             log: { line in lines.append(line.message) })
        #expect(try worker.handle(method: "log_flood").body == Array("flooded".utf8))
        #expect(lines.all.count == 201)
        #expect(lines.all.last == "host: dropped 4800 log lines past 200 in one call")
        #expect(worker.death == nil)
        worker.shutdown()
    }

    /// Seen: `alloc((size_t)-1)` returned a valid 16-byte pointer.
    @Test func anImpossibleAllocationIsNull() throws {
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "hostile", library: Self.library))
        #expect(String(decoding: try worker.handle(method: "alloc_huge").body, as: UTF8.self) == "minus-one 1 half 1")
        #expect(worker.death == nil)
        worker.shutdown()
    }

    @Test func aFloodOfForgedFatalReportsIsClassifiedOnceAndKilled() throws {
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "hostile", library: Self.library, timeoutMs: 500))
        #expect(throws: WorkerError.self) { try worker.handle(method: "fatal_flood") }
        // It forged a seccomp report (socket) but kept running: that is a lie, not a seccomp death.
        #expect(worker.death == WorkerDeath(.protocolViolation, "reported its death but kept running"))
        #expect(TestSupport.neighbourAnswers())
    }

    @Test func clone3FailsWithENOSYSSoGlibcFallsBackToCheckedClone() throws {
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "hostile", library: Self.library))
        let reply = try worker.handle(method: "clone3")
        #expect(String(decoding: reply.body, as: UTF8.self) == "clone3 -1 errno 38")
        #expect(worker.death == nil)
        worker.shutdown()
    }

    @Test func threadBombStopsAtThePidsLimit() throws {
        let pids = 8
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "hostile", library: Self.library,
                                                                  profile: "foundation", pids: pids))
        let reply = try worker.handle(method: "thread_bomb")
        let text = String(decoding: reply.body, as: UTF8.self)
        // The app is one task of its own; the cgroup allows `pids` tasks for the app.
        #expect(text == "threads \(pids - 1) err 11", "\(text)")
        #expect(try worker.handle(method: "ping").body == Array("pong".utf8))
        #expect(TestSupport.neighbourAnswers())
        worker.shutdown()
    }
}

/// The `debug` profile logs unlisted syscalls instead of killing, but never lets forbidden ones through.
@Suite struct DebugProfileTests {
    @Test func debugProfileLogsUnlistedCallsButStillDeniesForbiddenOnes() throws {
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "hostile", library: HostileAppTests.library,
                                                                  profile: "debug"))
        // openat is unlisted: allowed and logged, and the empty root has no /etc/passwd.
        #expect(String(decoding: try worker.handle(method: "open_file").body, as: UTF8.self) == "opened fd -1 errno 2")
        // Always-denied calls fail with EPERM instead of killing.
        #expect(String(decoding: try worker.handle(method: "socket_inet").body, as: UTF8.self) == "socket fd -1 errno 1")
        #expect(String(decoding: try worker.handle(method: "unshare_user").body, as: UTF8.self) == "unshare -1 errno 1")
        // threads = false holds even when logging.
        #expect(String(decoding: try worker.handle(method: "thread_bomb").body, as: UTF8.self).hasPrefix("threads 0 err"))
        #expect(worker.death == nil)
        worker.shutdown()
    }
}

/// The `swift` profile allows opens, read-only: the time-zone files it binds in can be read, nothing can be written
/// or created, and the host's files are not there to open.
@Suite struct SwiftProfileContainmentTests {
    static func worker() throws -> WorkerProcess {
        try WorkerProcess.start(try TestSupport.spec(appID: "hostile", library: HostileAppTests.library, profile: "swift"))
    }

    @Test func readOnlyOpensOfWhatIsBoundIn() throws {
        let w = try Self.worker()
        defer { w.shutdown() }
        let zone = String(decoding: try w.handle(method: "open_zone").body, as: UTF8.self)
        #expect(zone.hasPrefix("zone fd ") && !zone.hasPrefix("zone fd -1"), "\(zone)")
        // The host's /etc is not in the sandbox's root.
        #expect(String(decoding: try w.handle(method: "open_file").body, as: UTF8.self) == "opened fd -1 errno 2")
    }

    @Test func openingForWritingKillsTheWorker() throws {
        let w = try Self.worker()
        #expect(throws: WorkerError.self) { try w.handle(method: "open_write") }
        #expect(w.death?.outcome == .seccompViolation, "\(String(describing: w.death))")
        #expect(w.death?.detail.contains("openat") == true, "\(String(describing: w.death))")
    }
}
