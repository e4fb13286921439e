import Foundation
import SynTestSupport
import Testing

/// The README's and the docs' shell examples, run exactly as printed against a live node, so a document that
/// drifts from the code fails `make test`.
///
/// Each runs with `bash -euo pipefail` in a scratch directory laid out like the repository (`.build/debug` is this
/// build's products, `manifests`, `sandbox-profiles`, `Plugins` and `PluginABI` link to the checkout, `.data` is
/// the node's data directory), one after the other with one `HOME`, as a reader following the documents would:
/// its `default` key owns the node. The node is started as `make run` starts it, on a free port: the examples
/// find it through `--data .data`. A line that is a `make` target (`make build`) is what the harness already
/// did, and is skipped.
@Suite(.serialized) struct DocExamplesTests {
    /// (file, heading, skip): the ```sh block after that heading, past `skip` others.
    static let examples: [(file: String, heading: String, skip: Int)] = [
        ("README.md", "## Quickstart", 1),
        ("README.md", "## A first booking with HomeServices", 0),
        ("README.md", "## Try an app in the sandbox", 0),
        ("README.md", "## Write an app", 0),
        ("docs/homeservices.md", "## Worked example", 0),
        ("docs/foodmesh.md", "## Worked example", 0),
        ("docs/messaging.md", "## Worked example", 0),
        ("docs/federation.md", "### Try it on one machine", 0),
        ("docs/operations.md", "### Try it", 0),
    ]

    /// The first fenced block of `language` after the line `heading`, the next one when `skip` is 1, and so on.
    static func block(_ file: String, after heading: String, language: String = "sh", skip: Int = 0) throws -> String {
        let text = try String(contentsOfFile: TestSupport.root + "/" + file, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix(heading) }) else {
            throw TestFailure("\(file) has no heading \"\(heading)\"")
        }
        var found = 0, inside = false, body: [String] = []
        for line in lines[start...] {
            if !inside, line == "```" + language {
                if found == skip { inside = true } else { found += 1 }
                continue
            }
            if inside {
                if line == "```" { return body.joined(separator: "\n") + "\n" }
                body.append(line)
            }
        }
        throw TestFailure("no ```\(language) block after \"\(heading)\" in \(file)")
    }

    /// A scratch directory laid out like the checkout, and a node running on its `.data`.
    static func workspace() throws -> (dir: String, node: ProcessNode) {
        let fm = FileManager.default
        let dir = TestSupport.scratch + "/docs-\(UUID().uuidString)"
        try fm.createDirectory(atPath: dir + "/.build", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: dir + "/.build/debug", withDestinationPath: TestSupport.products)
        for shared in ["manifests", "sandbox-profiles", "Plugins", "PluginABI"] {
            try fm.createSymbolicLink(atPath: dir + "/" + shared, withDestinationPath: TestSupport.root + "/" + shared)
        }
        let home = ["HOME": dir + "/home-node"]
        for step in [["keys", "new", "default"], ["init", "--data", dir + "/.data", "--owner", "default", "--manifests", "manifests"]] {
            let r = try CLI.syneroym(step, environment: home)
            guard r.status == 0 else { throw TestFailure("\(step.joined(separator: " ")): \(r.stderr)") }
        }
        let apps = try fm.contentsOfDirectory(atPath: TestSupport.root + "/manifests").filter { $0.hasSuffix(".toml") }
            .map { String($0.dropLast(5)) }
        let node = try ProcessNode.launch(["run", "--manifests", TestSupport.root + "/manifests", "--profiles",
                                           TestSupport.root + "/sandbox-profiles", "--data", dir + "/.data",
                                           "--listen", "127.0.0.1:0"],
                                          data: dir + "/.data", apps: apps, environment: home)
        return (dir, node)
    }

    /// Runs `script` in `dir` with the node owner's home; its exit status and output.
    static func run(_ script: String, in dir: String, name: String) throws -> (status: Int32, output: String) {
        let home = dir + "/home-node"
        let body = script.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("make ") }.joined(separator: "\n")
        let path = dir + "/\(name).sh"
        try ("shopt -s expand_aliases\nset -euo pipefail\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
        return try ProcessLauncher.run("/bin/bash", [path], environment: ["HOME": home], directory: dir)
    }

    @Test func everyListedExampleRunsAsPrinted() async throws {
        try await offThePool {
            let (dir, node) = try Self.workspace()
            defer { node.stop() }
            // homeservices.md checks a review's signature with "the Python above, saved as verify.py".
            try Self.block("docs/homeservices.md", after: "## Reviews", language: "python")
                .write(toFile: dir + "/verify.py", atomically: true, encoding: .utf8)
            for (index, example) in Self.examples.enumerated() {
                let script = try Self.block(example.file, after: example.heading, skip: example.skip)
                let result = try Self.run(script, in: dir, name: "example\(index)")
                #expect(result.status == 0, "\(example.file) \(example.heading) failed (exit \(result.status)):\n\(result.output.suffix(3000))")
            }
            #expect(node.isRunning)
        }
    }
}
