import Foundation
import SynBroker
import SynSandbox
import SynTestSupport
import Testing

/// Calls sent to a worker back to back (`WorkerProcess.pipeline`, used by the supervisor under load): served in
/// order, each with its own host calls and storage verdict, and a death blames only the call being served.
@Suite struct PipelineTests {
    static let hostile: String = (try? TestSupport.buildC("Tests/HostileApps/hostile.c", name: "hostile-pipe")) ?? ""

    /// A running supervisor of the hostile app with one instance and fast restarts.
    static func supervisor(timeoutMs: Int = 5000, maxFrameKB: Int = 64, queueDepth: Int, maxDeaths: Int) throws -> AppSupervisor {
        let spec = try TestSupport.spec(appID: "hostile", library: hostile, timeoutMs: timeoutMs, maxFrameKB: maxFrameKB)
        let s = AppSupervisor(spec: spec, policy: SupervisorPolicy(instances: 1, queueDepth: queueDepth, initialBackoffMs: 1,
                                                                   maxBackoffMs: 4, maxDeaths: maxDeaths, windowMs: 600_000))
        s.start()
        return s
    }

    /// Each call's outcome, in order, as text: the body, `died: OUTCOME DETAIL` or `not started`.
    static func run(_ w: WorkerProcess, _ calls: [(String, String)]) -> [String] {
        var outcomes = [String](repeating: "missing", count: calls.count)
        w.pipeline(calls.map { .handle(method: $0.0, caller: [], body: Array($0.1.utf8), tag: "") }) { i, outcome in
            switch outcome {
            case .reply(let r): outcomes[i] = String(decoding: r.body, as: UTF8.self)
            case .died(let e):
                if case .died(let d) = e { outcomes[i] = "died: \(d.outcome.rawValue) \(d.detail)" } else { outcomes[i] = "refused" }
            case .notStarted: outcomes[i] = "not started"
            }
        }
        return outcomes
    }

    @Test func pipelinedCallsRunInOrderWithTheirOwnHostCalls() throws {
        let node = try BrokerNode()
        let w = try node.start()
        defer { w.shutdown() }
        // Every call but the last makes host calls while the calls behind it already wait in the socket: the
        // worker keeps those aside and serves them next, and each call sees the writes of those before it.
        let outcomes = Self.run(w, [("put", "a=1"), ("get", "a"), ("put", "a=2"), ("blind", "b=x;get:b;ver:a"),
                                    ("get", "a"), ("get", "b")])
        #expect(outcomes == ["version 1", "1@1", "version 2", "x;2@2;", "2@2", "x@1"])
        // The worker is in step afterwards: a lone call works as before.
        #expect(try BrokerNode.call(w, "get", "a") == "2@2")
    }

    @Test func aFailedCallInABatchRollsBackOnlyItsOwnWrites() throws {
        let node = try BrokerNode()
        let w = try node.start()
        defer { w.shutdown() }
        #expect(try BrokerNode.call(w, "put", "warm=1") == "version 1")
        let outcomes = Self.run(w, [("blind", "x=1"), ("blind", "y=1;fail"), ("blind", "z=1"), ("blind", "ver:x;ver:z")])
        #expect(outcomes[0] == "")
        #expect(outcomes[3] == "1@1;1@1;")
        #expect(try BrokerNode.call(w, "get", "y").hasPrefix("ERR -1"))
    }

    @Test func aDeathMidBatchBlamesOnlyTheCallBeingServed() throws {
        let w = try WorkerProcess.start(try TestSupport.spec(appID: "hostile", library: Self.hostile))
        let outcomes = Self.run(w, [("ping", ""), ("null_deref", ""), ("ping", ""), ("ping", "")])
        #expect(outcomes == ["pong", "died: crash SIGSEGV", "not started", "not started"])
        // A dead worker takes nothing more, and a call it never received is not blamed for its death.
        #expect(Self.run(w, [("ping", ""), ("ping", "")]) == ["not started", "not started"])
    }

    @Test func aHostThatPipelinesPastTheWorkersLimitLosesTheWorker() throws {
        // The supervisor sends at most 16 calls at once; a host that sends 80 behind a call making a host call makes
        // the worker keep 79 aside while it waits for the answer. Past 64 it exits rather than buffer without end.
        // (`pubkey` makes a host call; storage runs in the worker and makes none.)
        let node = try BrokerNode()
        let w = try node.start()
        #expect(try BrokerNode.call(w, "put", "a=1") == "version 1")
        let outcomes = Self.run(w, [("pubkey", "")] + Array(repeating: ("get", "a"), count: 79))
        #expect(outcomes[0].hasPrefix("died: exit") && outcomes[0].contains("72"), "\(outcomes[0])")
        #expect(outcomes.dropFirst().allSatisfy { $0 == "not started" }, "\(Set(outcomes.dropFirst()))")
        // With 64 aside it still serves them all, in order.
        let again = try node.start()
        defer { again.shutdown() }
        let served = Self.run(again, [("pubkey", "")] + Array(repeating: ("get", "a"), count: 64))
        #expect(served.first?.count == 64)
        #expect(Array(served.dropFirst()) == Array(repeating: "1@1", count: 64))
    }

    @Test func callsQueuedBehindACrashAreServedByTheNextWorker() async throws {
        let s = try Self.supervisor(timeoutMs: 60_000, queueDepth: 64, maxDeaths: 5)
        defer { s.stop() }
        // While `slow` holds the only instance, the crash and the pings queue up and usually go out as one batch.
        // However they are grouped, only the crashing call may fail: the pings behind it were never started.
        async let slow: CallReply = s.call(method: "slow")
        let results = await withTaskGroup(of: (String, Result<CallReply, CallError>).self) { group in
            for method in ["null_deref"] + Array(repeating: "ping", count: 8) {
                group.addTask {
                    do throws(CallError) { return (method, .success(try await s.call(method: method))) } catch { return (method, .failure(error)) }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        _ = try await slow
        for (method, result) in results {
            switch (method, result) {
            case ("ping", .success(let r)): #expect(r.body == Array("pong".utf8))
            case ("null_deref", .failure(let e)): #expect(e.death == WorkerDeath(.crash, "SIGSEGV"))
            default: Issue.record("\(method) ended as \(result)")
            }
        }
        #expect(s.state == .running)
    }

    @Test func aCallLargerThanTheFrameLimitIsRefusedWithoutHarmingTheWorker() async throws {
        let s = try Self.supervisor(maxFrameKB: 1, queueDepth: 8, maxDeaths: 2)
        defer { s.stop() }
        #expect(try await s.call(method: "ping").body == Array("pong".utf8))
        // Sent, it would make the worker drop its link; retried, it would do so again until the app failed.
        for _ in 0..<3 {
            do {
                _ = try await s.call(method: "ping", body: [UInt8](repeating: 0x61, count: 2048))
                Issue.record("an oversized call was sent")
            } catch {
                #expect(error.code == .tooLarge && error.message.contains("limits.max_frame_kb"), "\(error)")
            }
        }
        #expect(try await s.call(method: "ping").body == Array("pong".utf8))
        #expect(s.footprint.deaths.isEmpty && s.state == .running)
    }
}
