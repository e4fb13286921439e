import Foundation
import Synchronization

/// The `syneroym` binary as its users run it.
public enum CLI {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// Runs `syneroym args`; in network namespace `netns` when one is named (through `ip netns exec`).
    public static func syneroym(_ args: [String], environment: [String: String] = [:], directory: String? = nil,
                                netns: String? = nil) throws -> Result {
        let binary = TestSupport.products + "/syneroym"
        let (executable, all) = netns.map { (NetworkNamespace.ip, ["netns", "exec", $0, binary] + args) } ?? (binary, args)
        let child = try ChildProcess(executable, all,
                                     environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
                                     directory: directory ?? TestSupport.root)
        // Both pipes are drained at once: a child that fills one while the other is read would wait forever.
        let errors = Mutex("")
        let drained = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            errors.withLock { $0 = child.readErrors() }
            drained.signal()
        }
        let o = child.readOutput()
        drained.wait()
        return Result(status: child.wait(), stdout: o, stderr: errors.withLock { $0 })
    }
}
