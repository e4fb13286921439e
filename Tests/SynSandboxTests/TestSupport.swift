import SynSandbox
import SynTestSupport

extension TestSupport {
    /// A healthy neighbour that must keep answering while hostile apps die.
    static let neighbour: WorkerProcess? = {
        guard let lib = try? buildC("Plugins/Examples/hello-c/hello.c", name: "hello-neighbour") else { return nil }
        guard let s = try? spec(appID: "hello", library: lib) else { return nil }
        return try? WorkerProcess.start(s)
    }()

    /// Whether the neighbour still answers `echo`.
    static func neighbourAnswers() -> Bool {
        guard let n = neighbour, let r = try? n.handle(method: "echo", body: Array("still here".utf8)) else { return false }
        return r.body == Array("still here".utf8)
    }
}
