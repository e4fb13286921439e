import Foundation
public import ServiceLifecycle
import SynConfig

/// The node's apps as a ServiceLifecycle service: started with the group; on graceful shutdown (after the
/// gateway, which the group stops first, has stopped taking requests) it drains, stops workers and closes the
/// databases.
public struct NodeService: Service {
    let runtime: NodeRuntime
    public init(runtime: NodeRuntime) { self.runtime = runtime }

    public func run() async throws {
        runtime.start()
        try? await gracefulShutdown()
        let runtime = self.runtime
        let drain = runtime.config.gateway.drainTimeoutS
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                runtime.shutdown(reason: "graceful shutdown (SIGTERM or SIGINT)", drainSeconds: drain)
                done.resume()
            }
        }
    }
}
