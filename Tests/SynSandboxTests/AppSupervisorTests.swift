import Foundation
import SynSandbox
import SynWire
import SynTestSupport
import Testing

/// The supervisor with real workers: routing to idle instances, the bounded queue, restarts and `failed`.
@Suite struct AppSupervisorTests {
    static let hostile: String = (try? TestSupport.buildC("Tests/HostileApps/hostile.c", name: "hostile-sup")) ?? ""

    func supervisor(instances: Int = 1, queueDepth: Int = 8, maxDeaths: Int = 5, timeoutMs: Int = 5000,
                    events: EventLog = EventLog()) throws -> AppSupervisor {
        let spec = try TestSupport.spec(appID: "hostile", library: Self.hostile, timeoutMs: timeoutMs)
        let policy = SupervisorPolicy(instances: instances, queueDepth: queueDepth, initialBackoffMs: 1,
                                      maxBackoffMs: 4, maxDeaths: maxDeaths, windowMs: 600_000)
        let s = AppSupervisor(spec: spec, policy: policy, onEvent: { events.append($0) })
        s.start()
        return s
    }

    @Test func callsAreServedAndTheWorkerIsReused() async throws {
        let s = try supervisor()
        defer { s.stop() }
        for _ in 0..<5 { #expect(try await s.call(method: "ping").body == Array("pong".utf8)) }
        #expect(s.state == .running)
    }

    @Test func aDeadWorkerFailsOnlyItsCallAndIsRestarted() async throws {
        let events = EventLog()
        let s = try supervisor(events: events)
        defer { s.stop() }
        #expect(try await s.call(method: "ping").body == Array("pong".utf8))
        do {
            _ = try await s.call(method: "null_deref")
            Issue.record("the crashing call returned")
        } catch {
            #expect(error.code == .workerDied)
            #expect(error.death == WorkerDeath(.crash, "SIGSEGV"))
        }
        // The next call waits for the restarted worker.
        #expect(try await s.call(method: "ping").body == Array("pong".utf8))
        #expect(events.all.contains { if case .died(_, _, let d) = $0 { d.outcome == .crash } else { false } })
        #expect(events.all.filter { if case .started = $0 { true } else { false } }.count == 2)
    }

    @Test func repeatedDeathsMarkTheAppFailed() async throws {
        let s = try supervisor(maxDeaths: 3)
        defer { s.stop() }
        for _ in 0..<3 {
            await #expect(throws: CallError.self) { try await s.call(method: "abort") }
        }
        #expect(s.state == .failed)
        do {
            _ = try await s.call(method: "ping")
            Issue.record("a failed app answered")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("3 worker deaths"))
            #expect(error.message.contains("SIGABRT"))
        }
        // A node owner's restart clears the failure.
        s.start()
        #expect(try await s.call(method: "ping").body == Array("pong".utf8))
    }

    @Test func aBusyInstanceDoesNotBlockAnIdleOne() async throws {
        let s = try supervisor(instances: 2, timeoutMs: 60_000)
        defer { s.stop() }
        // Both instances up before the slow call, so the next call has somewhere to go.
        async let a: CallReply = s.call(method: "ping")
        async let b: CallReply = s.call(method: "ping")
        _ = try await (a, b)
        let spinning = Task { try await s.call(method: "spin") }
        for _ in 0..<3 { #expect(try await s.call(method: "ping").body == Array("pong".utf8)) }
        s.stop()
        _ = await spinning.result
    }

    @Test func aFullQueueAnswersBusy() async throws {
        let s = try supervisor(instances: 1, queueDepth: 0, timeoutMs: 60_000)
        let first = Task { try await s.call(method: "spin") }
        // With no queue, a second call while the only instance is taken (or about to be) is refused at once.
        var refused: CallError?
        while refused == nil {
            do { _ = try await s.call(method: "ping") } catch { refused = error }
        }
        #expect(refused?.code == .busy)
        #expect(refused?.message.contains("limits.queue_depth") == true)
        s.stop()
        _ = await first.result
    }
}

/// Supervisor events collected by a test.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [SupervisorEvent] = []
    func append(_ e: SupervisorEvent) { lock.withLock { events.append(e) } }
    var all: [SupervisorEvent] { lock.withLock { events } }
}
