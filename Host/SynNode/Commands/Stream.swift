import ArgumentParser
import Foundation
import SynHTTPSig
import Synchronization

/// `syneroym stream APP`: your live stream of an app's notices (`GET /v1/apps/{app}/stream`, signed with your key),
/// one JSON document per line on stdout.
struct Stream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print your live notices from an app (new messages, receipts, typing), one JSON document per line.",
        discussion: """
            Runs until the node ends the stream (the reason goes to stderr), --count notices have come, or you stop \
            it. Exit status: 0 when the stream ended or --count was reached, 1 for an HTTP error (the JSON error goes \
            to stderr), 2 for bad input or an unreachable node.
            """)
    @OptionGroup var client: ClientOptions
    @Option(help: "Exit after this many notices.") var count: Int?
    @Argument(help: "The app id, e.g. messaging.") var app: String

    /// Server-sent events as they arrive: lines are split across pieces of the body, so what is not a whole line
    /// yet waits.
    final class Parser: Sendable {
        private struct State {
            var pending: [UInt8] = []
            var data: [String] = []
            var event = ""
            var printed = 0
        }
        private let state = Mutex(State())
        let limit: Int?
        init(limit: Int?) { self.limit = limit }

        /// Most bytes of one event the CLI holds (a node's notice is at most 64 KiB, sent as lines).
        static let maxEvent = 1 << 20

        /// Takes a piece of the body; false once `limit` notices were printed, or past `maxEvent` (said on stderr).
        func take(_ bytes: [UInt8]) -> Bool {
            state.withLock { st in
                st.pending += bytes
                guard st.pending.count + st.data.reduce(0, { $0 + $1.utf8.count }) <= Self.maxEvent else {
                    FileHandle.standardError.write(Data("error: the node sent an event larger than 1 MiB; stopping\n".utf8))
                    return false
                }
                while let newline = st.pending.firstIndex(of: 10) {
                    var line = String(decoding: st.pending[..<newline], as: UTF8.self)
                    st.pending.removeFirst(newline + 1)
                    if line.hasSuffix("\r") { line.removeLast() }
                    if line.isEmpty {
                        // A blank line ends an event.
                        defer { st.data = []; st.event = "" }
                        guard !st.data.isEmpty else { continue }
                        if st.event == "end" {
                            FileHandle.standardError.write(Data("the node ended the stream: \(st.data.joined(separator: "\n"))\n".utf8))
                            continue
                        }
                        // Written at once (not buffered as print is when stdout is a pipe): a reader sees each as it comes.
                        FileHandle.standardOutput.write(Data((st.data.joined(separator: "\n") + "\n").utf8))
                        st.printed += 1
                        if let limit, st.printed >= limit { return false }
                    } else if line.hasPrefix("data:") {
                        st.data.append(String(line.dropFirst(5).drop { $0 == " " }))
                    } else if line.hasPrefix("event:") {
                        st.event = String(line.dropFirst(6).drop { $0 == " " })
                    }
                }
                return true
            }
        }
    }

    func run() async throws {
        do {
            if let count, count < 1 { throw CLIError("error: --count is at least 1") }
            let key = try Keyring().load(client.key)
            let url = try client.baseURL() + "/v1/apps/\(Call.escape(app))/stream"
            let signed: SignedHeaders
            do { signed = try RequestSigner(key: key).sign(method: "GET", url: url, body: [], created: Int64(Date().timeIntervalSince1970)) } catch {
                throw CLIError("error: cannot sign the request: \(error.message)")
            }
            let parser = Parser(limit: count)
            let app = self.app
            let answer = try await HTTPClient.stream(url, headers: signed.fields.map { ($0.name, $0.value) }, onHead: { status in
                // On stderr, so stdout stays one JSON document per line: scripts wait for it before acting.
                if status == 200 { FileHandle.standardError.write(Data("streaming \(app)\n".utf8)) }
            }) { parser.take($0) }
            guard (200..<300).contains(answer.status) else {
                FileHandle.standardError.write(Data("HTTP \(answer.status): \(String(decoding: answer.body, as: UTF8.self))\n".utf8))
                throw ExitCode(1)
            }
        } catch let error as CLIError {
            FileHandle.standardError.write(Data((error.message + "\n").utf8))
            throw ExitCode(error.code)
        }
    }
}
