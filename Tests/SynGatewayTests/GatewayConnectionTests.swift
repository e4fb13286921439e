import Foundation
import SynGateway
import Testing

/// App calls are served on the connection's event loop, beside the router: one connection mixing both keeps
/// HTTP/1.1's rules (responses in request order, `Connection: close`, 413 then close, graceful shutdown).
@Suite struct GatewayConnectionTests {
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let node = try await LiveNode.start()
        defer { Task { await node.stop() } }
        let connection = try RawConnection(port: node.port)
        // App calls, router requests and refusals from both, sent in one write; every request names itself.
        var expected: [(id: String, status: Int, body: String?)] = []
        var wire = ""
        for i in 0..<120 {
            let id = "req-\(i)"
            switch i % 6 {
            case 0, 3:
                wire += RawConnection.request("POST", "/v1/apps/hello/echo", body: #"{"n":\#(i)}"#, headers: [("X-Request-Id", id)])
                expected.append((id, 200, #"{"n":\#(i)}"#))
            case 1: wire += RawConnection.request("GET", "/v1/health", headers: [("X-Request-Id", id)]); expected.append((id, 200, nil))
            case 2: wire += RawConnection.request("POST", "/v1/apps/nope/echo", body: "{}", headers: [("X-Request-Id", id)]); expected.append((id, 404, nil))
            case 4: wire += RawConnection.request("GET", "/v1/nowhere", headers: [("X-Request-Id", id)]); expected.append((id, 404, nil))
            default: wire += RawConnection.request("GET", "/v1/apps", headers: [("X-Request-Id", id)]); expected.append((id, 200, nil))
            }
        }
        try connection.send(wire)
        for want in expected {
            let got = try await connection.response()
            #expect(got.headers["x-request-id"] == want.id && got.status == want.status, "\(want.id): \(got.status) \(got.headers)")
            if let body = want.body { #expect(got.body == body, "\(want.id): \(got.body)") }
        }
        // Still open and usable.
        try connection.send(RawConnection.request("POST", "/v1/apps/hello/echo", body: "[1]"))
        #expect(try await connection.response().body == "[1]")
    }

    @Test func aMalformedRequestBehindAnAppCallIsAnsweredAfterIt() async throws {
        let node = try await LiveNode.start()
        defer { Task { await node.stop() } }
        let connection = try RawConnection(port: node.port)
        // The parse error is found at once, while the call is still with the worker: its 400 must wait its turn.
        try connection.send(RawConnection.request("POST", "/v1/apps/hostile/slow", body: "200") + "NOT HTTP AT ALL\r\n\r\n")
        let call = try await connection.response()
        #expect(call.status == 200 && call.body == "slow done", "\(call)")
        let refused = try await connection.response()
        #expect(refused.status == 400, "\(refused)")
        #expect(try await connection.isClosedByServer())
    }

    @Test func aClientThatStopsSendingStillGetsItsAnswers() async throws {
        let node = try await LiveNode.start()
        defer { Task { await node.stop() } }
        let connection = try RawConnection(port: node.port)
        // Two calls and a half-close: the end of the input reaches the node while the first is with the worker.
        try connection.send(RawConnection.request("POST", "/v1/apps/hostile/slow", body: "200")
                            + RawConnection.request("POST", "/v1/apps/hello/echo", body: "[5]"))
        connection.finishSending()
        let first = try await connection.response(), second = try await connection.response()
        #expect(first.status == 200 && first.body == "slow done", "\(first)")
        #expect(second.status == 200 && second.body == "[5]", "\(second)")
        #expect(try await connection.isClosedByServer())
    }

    @Test func connectionCloseIsHonouredByAnAppCall() async throws {
        let node = try await LiveNode.start()
        defer { Task { await node.stop() } }
        let connection = try RawConnection(port: node.port)
        try connection.send(RawConnection.request("POST", "/v1/apps/hello/echo", body: "[2]", headers: [("Connection", "close")]))
        let reply = try await connection.response()
        #expect(reply.status == 200 && reply.body == "[2]" && reply.headers["connection"] == "close")
        #expect(try await connection.isClosedByServer())
    }

    @Test func anOversizedChunkedUploadIs413AndTheConnectionCloses() async throws {
        let node = try await LiveNode.start(gateway: "max_body_kb = 1")
        defer { Task { await node.stop() } }
        let connection = try RawConnection(port: node.port)
        // No Content-Length to refuse up front: the limit is found while reading, and the rest is not read.
        let chunk = "[" + String(repeating: "1,", count: 700) + "1]"
        try connection.send("POST /v1/apps/hello/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n")
        let reply = try await connection.response()
        #expect(reply.status == 413 && reply.body.contains("body_too_large") && reply.headers["connection"] == "close", "\(reply)")
        #expect(try await connection.isClosedByServer())
    }

    @Test func aGracefulShutdownAnswersTheCallInFlightThenCloses() async throws {
        let node = try await LiveNode.start()
        let connection = try RawConnection(port: node.port)
        // Busy for 3 s: time enough to see it in flight even when the whole suite loads the machine.
        try connection.send(RawConnection.request("POST", "/v1/apps/hostile/slow", body: "3000"))
        for _ in 0..<1000 where node.runtime.app("hostile")?.busyInstances != 1 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(node.runtime.app("hostile")?.busyInstances == 1)
        let stopping = Task { await node.stop() }
        let reply = try await connection.response()
        #expect(reply.status == 200 && reply.body == "slow done" && reply.headers["connection"] == "close", "\(reply)")
        #expect(try await connection.isClosedByServer())
        await stopping.value
    }

    @Test func theIdleTimeoutSparesAConnectionOwedAnAnswer() async throws {
        let node = try await LiveNode.start(gateway: "idle_timeout_s = 1")
        defer { Task { await node.stop() } }
        // A call three times longer than the idle timeout is still answered on its connection...
        let waiting = try RawConnection(port: node.port)
        try waiting.send(RawConnection.request("POST", "/v1/apps/hostile/slow", body: "3000"))
        let reply = try await waiting.response()
        #expect(reply.status == 200 && reply.body == "slow done", "\(reply)")
        // ...which closes once it has been quiet for the timeout; so do a silent one and one that stalls mid-request.
        #expect(try await waiting.isClosedByServer())
        let silent = try RawConnection(port: node.port)
        #expect(try await silent.isClosedByServer())
        let stalled = try RawConnection(port: node.port)
        try stalled.send("POST /v1/apps/hello/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n[1")
        #expect(try await stalled.isClosedByServer())
    }
}
