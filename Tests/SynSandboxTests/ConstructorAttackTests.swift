import Foundation
import SynSandbox
import SynWire
import SynTestSupport
import Testing

/// The same attacks from a constructor, which runs inside `dlopen` under seccomp stage A.
@Suite struct ConstructorAttackTests {
    struct Attack: CustomTestStringConvertible, Sendable {
        let define: String
        let outcome: Outcome
        let detail: String
        var testDescription: String { "\(define) → \(outcome.rawValue)" }
    }

    static let attacks: [Attack] = [
        Attack(define: "OPEN_WRITE", outcome: .seccompViolation, detail: "openat"),
        Attack(define: "SOCKET", outcome: .seccompViolation, detail: "socket"),
        Attack(define: "FORK", outcome: .seccompViolation, detail: "clone"),
        Attack(define: "EXECVE", outcome: .seccompViolation, detail: "execve"),
        Attack(define: "MPROTECT_EXEC", outcome: .seccompViolation, detail: "mprotect"),
        Attack(define: "MMAP_EXEC", outcome: .seccompViolation, detail: "mmap"),
        Attack(define: "NULL_DEREF", outcome: .crash, detail: "SIGSEGV"),
        Attack(define: "ABORT", outcome: .crash, detail: "SIGABRT"),
        Attack(define: "ALLOC_BOMB", outcome: .memoryQuota, detail: "limits.memory_mb"),
        Attack(define: "SPIN", outcome: .timeout, detail: "limits.call_timeout_ms"),
        Attack(define: "GARBAGE", outcome: .protocolViolation, detail: "header says"),
    ]

    @Test(arguments: attacks)
    func constructorAttackIsStopped(_ attack: Attack) throws {
        let lib = try TestSupport.buildC("Tests/HostileApps/hostile_ctor.c", name: "ctor-\(attack.define)",
                                         extraFlags: ["-DATTACK_\(attack.define)"])
        let error = TestSupport.startDeath(try TestSupport.spec(appID: "hostile-ctor", library: lib, memoryMB: 32,
                                                            timeoutMs: 500))
        guard case .died(let death) = error else {
            Issue.record("\(attack.define): expected a death, got \(String(describing: error))")
            return
        }
        #expect(death.outcome == attack.outcome, "\(attack.define): \(death)")
        #expect(death.detail.contains(attack.detail), "\(attack.define): \(death)")
        #expect(TestSupport.neighbourAnswers())
    }

    @Test func constructorSeesAnEmptyRoot() throws {
        let lib = try TestSupport.buildC("Tests/HostileApps/hostile_ctor.c", name: "ctor-open-read",
                                         extraFlags: ["-DATTACK_OPEN_READ"])
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "hostile-ctor", library: lib))
        let reply = try worker.handle(method: "report")
        #expect(String(decoding: reply.body, as: UTF8.self) == "open /etc/passwd: fd -1 errno 2")
        worker.shutdown()
    }
}
