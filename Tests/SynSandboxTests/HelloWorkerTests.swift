import Foundation
import SynSandbox
import SynWire
import SynTestSupport
import Testing

/// The example C app, built with plain `cc`, loaded into a real sandboxed worker.
@Suite struct HelloWorkerTests {
    /// Both ways of starting a worker: cloned from the pre-started template, and a plain posix_spawn.
    @Test(arguments: [true, false])
    func helloAnswersInsideTheSandbox(useTemplate: Bool) throws {
        let lib = try TestSupport.buildC("Plugins/Examples/hello-c/hello.c", name: "hello")
        let worker = try WorkerProcess.start(try TestSupport.spec(appID: "hello", library: lib), useTemplate: useTemplate)
        #expect(worker.info.appID == "hello")
        #expect(worker.info.version == "1.0.0")
        let reply = try worker.handle(method: "hello", body: Array(#"{"name":"Ada"}"#.utf8))
        #expect(reply.status == 0)
        #expect(reply.httpStatus == 200)
        #expect(String(decoding: reply.body, as: UTF8.self) == #"{"greeting":"Hello, Ada!","calls":1}"#)
        worker.shutdown()
        #expect(worker.death?.outcome == .exit)
    }
}
