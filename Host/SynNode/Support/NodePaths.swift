import Foundation
import SynSandbox

/// Where the node finds its worker, built products and shipped profiles.
enum NodePaths {
    /// The directory of the running `syneroym` (build products live beside it).
    static var products: String { RuntimeDirectories.executableDirectory ?? "." }

    /// `synapp-worker`: `$SYNEROYM_WORKER`, else beside `syneroym`.
    static var worker: String {
        ProcessInfo.processInfo.environment["SYNEROYM_WORKER"] ?? products + "/synapp-worker"
    }

    /// Profile directories to search, most specific first.
    static func profileDirectories(manifest: String?, explicit: String?) -> [String] {
        var dirs: [String] = []
        if let explicit { dirs.append(explicit) }
        if let manifest {
            let dir = (manifest as NSString).deletingLastPathComponent
            dirs.append(((dir.isEmpty ? "." : dir) as NSString).appendingPathComponent("../sandbox-profiles"))
        }
        dirs.append("sandbox-profiles")
        // The checkout that built this binary (products are .build/<triple>/<configuration>), then an install
        // beside it (bin/../share/syneroym).
        dirs.append(products + "/../../../sandbox-profiles")
        dirs.append(products + "/../share/syneroym/sandbox-profiles")
        return dirs
    }
}
