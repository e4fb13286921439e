@testable import SynLink
import SynTestSupport
import Testing

/// The node-link frames: every kind round-trips, and whatever a peer sends either decodes or is a `LinkError`.
@Suite struct LinkFrameTests {
    static let samples: [LinkFrame] = [
        .hello(versions: [1, 2], maxFrame: 131_072, window: 256),
        .message(app: "foodmesh", seq: 1, payload: Array("{\"order\":1}".utf8)),
        .message(app: "messaging", seq: UInt64.max, payload: []),
        .message(app: "foodmesh", seq: 7, payload: [UInt8](repeating: 0xab, count: LinkFrame.maxPayload)),
        .ack(app: "foodmesh", seq: 42),
        .subscribe(app: "messaging", topic: "typing/room-7"),
        .unsubscribe(app: "messaging", topic: "typing/room-7"),
        .publish(app: "messaging", topic: "presence", payload: Array("online".utf8)),
        .ping(0x0102_0304_0506_0708), .pong(9),
        .auditHead("12.1764680000000000000.aGFzaA.c2ln"),
        .close(reason: "the node is shutting down"),
        .headQuery(77), .heldHead(nonce: 77, head: "12.1764680000000000000.aGFzaA.c2ln"), .heldHead(nonce: 1, head: ""),
        .transferOffer(id: 9, app: "homeservices", size: 1 << 33, digest: [UInt8](repeating: 1, count: 32), key: [UInt8](repeating: 2, count: 32)),
        .transferAt(id: 9, have: 65_536),
        .transferChunk(id: 9, offset: 65_536, bytes: [UInt8](repeating: 3, count: LinkFrame.maxPayload)),
        .transferEnd(id: 9, ok: true, message: "installed"), .transferEnd(id: 9, ok: false, message: ""),
        .appMoved(app: "homeservices", to: "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"),
    ]

    @Test func everyKindRoundTrips() throws {
        for frame in Self.samples {
            var decoder = LinkFrameDecoder()
            decoder.push(frame.encoded())
            #expect(try decoder.next() == frame)
            #expect(try decoder.next() == nil)
            #expect(decoder.buffered == 0)
        }
    }

    @Test func framesArriveInAnyPieces() throws {
        let stream = Self.samples.flatMap { $0.encoded() }
        var decoder = LinkFrameDecoder()
        var seen: [LinkFrame] = []
        var index = 0, size = 1
        while index < stream.count {
            decoder.push(stream[index..<min(index + size, stream.count)])
            index += size
            size = size % 97 + 1
            while let frame = try decoder.next() { seen.append(frame) }
        }
        #expect(seen == Self.samples)
    }

    @Test func aFramePastTheLimitIsRefusedFromItsHeader() {
        var decoder = LinkFrameDecoder(maxFrame: 1024)
        decoder.push([0x01, 0x10, 0x00, 0x00, 2])   // announces 4097 bytes
        #expect(throws: LinkError(.oversized, "a frame of 4097 bytes is past this link's 1024")) { try decoder.next() }
        var big = LinkFrameDecoder()
        big.push([0xff, 0xff, 0xff, 0xff])
        #expect((try? big.next()) == nil && big.buffered == 4)
        big.push([2])
        #expect(throws: LinkError.self) { try big.next() }
    }

    @Test func malformedPayloadsAreRefused() {
        func refused(_ kind: UInt8, _ payload: [UInt8]) -> LinkError.Code? {
            do {
                _ = try LinkFrame.decode(kind: kind, payload: payload)
                return nil
            } catch { return error.code }
        }
        let good = Array(LinkFrame.ack(app: "foodmesh", seq: 1).encoded().dropFirst(5))
        #expect(refused(3, good) == nil)
        #expect(refused(3, good + [0]) == .malformed)             // a byte past the fields
        #expect(refused(3, Array(good.dropLast())) == .malformed)  // truncated
        #expect(refused(99, good) == .unknownKind)
        #expect(refused(0, []) == .unknownKind)
        let badApp = Array(LinkFrame.ack(app: "Food Mesh", seq: 1).encoded().dropFirst(5))
        #expect(refused(3, badApp) == .malformed)
        let control = Array(LinkFrame.close(reason: "bye\u{7}").encoded().dropFirst(5))
        #expect(refused(10, control) == .malformed)
        var invalidUTF8 = Array(LinkFrame.close(reason: "ab").encoded().dropFirst(5))
        invalidUTF8[4] = 0xff
        #expect(refused(10, invalidUTF8) == .malformed)
        let tooBig = Array(LinkFrame.message(app: "foodmesh", seq: 1, payload: [UInt8](repeating: 1, count: LinkFrame.maxPayload + 1)).encoded().dropFirst(5))
        #expect(refused(2, tooBig) == .malformed)
        let noVersions = Array(LinkFrame.hello(versions: [], maxFrame: 1, window: 1).encoded().dropFirst(5))
        #expect(refused(1, noVersions) == .malformed)
        // Transfers: a digest or key of another length, an empty or oversized chunk, an outcome other than 0 or 1,
        // a node id that is not one.
        let shortKey = Array(LinkFrame.transferOffer(id: 1, app: "notes", size: 1, digest: [UInt8](repeating: 1, count: 32), key: [1]).encoded().dropFirst(5))
        #expect(refused(13, shortKey) == .malformed)
        #expect(refused(15, Array(LinkFrame.transferChunk(id: 1, offset: 0, bytes: []).encoded().dropFirst(5))) == .malformed)
        let bigChunk = Array(LinkFrame.transferChunk(id: 1, offset: 0, bytes: [UInt8](repeating: 1, count: LinkFrame.maxPayload + 1)).encoded().dropFirst(5))
        #expect(refused(15, bigChunk) == .malformed)
        var outcome = Array(LinkFrame.transferEnd(id: 1, ok: true, message: "").encoded().dropFirst(5))
        outcome[8] = 2
        #expect(refused(16, outcome) == .malformed)
        #expect(refused(17, Array(LinkFrame.appMoved(app: "notes", to: "elsewhere").encoded().dropFirst(5))) == .malformed)
        var zeroLength = LinkFrameDecoder()
        zeroLength.push([0, 0, 0, 0, 1])
        #expect(throws: LinkError.self) { try zeroLength.next() }
    }

    /// Random and mutated bytes: the decoder answers a frame, nothing yet, or a `LinkError`, and never holds more
    /// than one frame's worth.
    @Test func hostileBytesNeverCrashOrGrowTheBuffer() {
        var generator = SplitMix64(seed: 0x11AC)
        let seeds = Self.samples.map { $0.encoded() }
        for iteration in 0..<20_000 {
            var bytes: [UInt8]
            if iteration % 3 == 0 {
                bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                bytes = seeds[iteration % seeds.count]
                for _ in 0..<Int.random(in: 1...4, using: &generator) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
                if iteration % 5 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator))) }
            }
            var decoder = LinkFrameDecoder(maxFrame: 4096)
            decoder.push(bytes)
            var waiting = false
            while true {
                do {
                    guard let frame = try decoder.next() else { waiting = true; break }
                    _ = frame.encoded()
                } catch { break }   // the link closes
            }
            // Waiting for the rest of a frame, the decoder holds less than one whole frame.
            if waiting { #expect(decoder.buffered < LinkFrame.headerSize + 4096) }
        }
    }
}

@Suite struct LinkVersionTests {
    @Test func theHighestSharedVersionRuns() throws {
        #expect(try LinkVersion.agree(with: [1]) == 1)
        #expect(try LinkVersion.agree(with: [3, 1, 2]) == 2)
        #expect(try LinkVersion.agree(with: [2, 3]) == 2)
        #expect(throws: LinkError.self) { try LinkVersion.agree(with: [3, 4]) }
    }
}
