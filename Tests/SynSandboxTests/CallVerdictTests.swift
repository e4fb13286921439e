import Foundation
import SynSandbox
import SynWire
import SynTestSupport
import Testing

/// The host learns how every call ended, which decides whether its storage writes commit.
@Suite struct CallVerdictTests {
    /// Records host calls and verdicts; answers every host call SYN_OK with a version.
    final class Recorder: HostCallHandler, @unchecked Sendable {
        private let lock = NSLock()
        private(set) var calls: [(HostCallContext, HostOp)] = []
        private(set) var verdicts: [(HostCallContext, Bool)] = []
        func hostCall(_ context: HostCallContext, op: HostOp, payload: [UInt8]) -> (status: Int32, payload: [UInt8]) {
            lock.withLock { calls.append((context, op)) }
            var w = WireWriter()
            w.u64(1)
            return (0, w.bytes)
        }
        func endCall(_ context: HostCallContext, commit: Bool) -> HostCallFailure? {
            lock.withLock { verdicts.append((context, commit)) }
            return nil
        }
        var snapshot: ([(HostCallContext, HostOp)], [(HostCallContext, Bool)]) { lock.withLock { (calls, verdicts) } }
    }

    @Test(arguments: [("put_then_ok", true), ("put_then_500", false), ("put_then_error", false), ("put_then_crash", false)])
    func onlyASuccessfulCallCommits(_ method: String, _ commits: Bool) throws {
        let recorder = Recorder()
        let lib = HostileAppTests.library
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "hostile", library: lib), hostCalls: recorder)
        let caller = [UInt8](repeating: 7, count: 32)
        _ = try? worker.handle(method: method, caller: caller, body: Array("v".utf8))
        let (calls, verdicts) = recorder.snapshot
        // init, then the call (the crash kills the worker, so no shutdown verdict follows it).
        let last = try #require(verdicts.last)
        #expect(last.1 == commits, "\(method)")
        #expect(last.0.caller == caller)
        #expect(calls.count == 1 && calls[0].1 == .kvPut)
        #expect(calls[0].0.requestID == last.0.requestID)
        worker.shutdown()
    }
}
