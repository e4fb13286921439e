import SynWire
import SynTestSupport
import Testing

/// The frame decoder treats every byte as hostile: malformed input throws, never crashes, never over-allocates.
@Suite struct FrameAssemblerTests {
    static func packet(kind: UInt16 = 2, flags: UInt16 = 0, id: UInt64 = 7, op: UInt32 = 0, payload: [UInt8] = [],
                       length: UInt32? = nil) -> [UInt8] {
        var out: [UInt8] = []
        func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        le(length ?? UInt32(20 + payload.count)); le(kind); le(flags); le(id); le(op)
        return out + payload
    }

    static func feed(_ a: inout FrameAssembler, _ bytes: [UInt8]) throws(WireError) -> Frame? {
        let r: Result<Frame?, WireError> = bytes.withUnsafeBytes { raw in
            do throws(WireError) { return .success(try a.feed(raw)) } catch { return .failure(error) }
        }
        return try r.get()
    }

    @Test func wholeFrameDecodes() throws {
        var a = FrameAssembler(maxMessage: 100)
        let f = try Self.feed(&a, Self.packet(kind: 3, id: 42, op: 9, payload: [1, 2, 3]))
        #expect(f == Frame(kind: .hostCall, requestID: 42, op: 9, payload: [1, 2, 3]))
    }

    @Test func fragmentsReassemble() throws {
        var a = FrameAssembler(maxMessage: 100)
        #expect(try Self.feed(&a, Self.packet(flags: Frame.flagMore, payload: [1, 2])) == nil)
        #expect(a.isMidMessage)
        #expect(try Self.feed(&a, Self.packet(flags: Frame.flagMore, payload: [3])) == nil)
        #expect(try Self.feed(&a, Self.packet(payload: [4])) == Frame(kind: .reply, requestID: 7, payload: [1, 2, 3, 4]))
    }

    @Test(arguments: [
        (packet(payload: [1]).dropLast(2).map { $0 }, WireError.Code.truncated),
        (packet(length: 99), .truncated),
        (packet(kind: 0), .unknownKind),
        (packet(kind: 9), .unknownKind),
        (packet(flags: 4), .badFragment),
        (packet(payload: [UInt8](repeating: 0, count: 11)), .oversized),
    ])
    func malformedPacketsThrow(_ bytes: [UInt8], _ code: WireError.Code) {
        var a = FrameAssembler(maxMessage: 10)
        #expect(throws: WireError.self) { try Self.feed(&a, bytes) }
        do { _ = try Self.feed(&a, bytes) } catch { #expect(error.code == code) }
    }

    @Test func aFragmentMayNotInterruptAnotherMessage() throws {
        var a = FrameAssembler(maxMessage: 100)
        _ = try Self.feed(&a, Self.packet(flags: Frame.flagMore, id: 1, payload: [1]))
        #expect(throws: WireError(.badFragment, "fragment of reply #2 interrupts reply #1")) {
            try Self.feed(&a, Self.packet(id: 2, payload: [2]))
        }
    }

    @Test func fragmentsCannotExceedTheMessageLimit() throws {
        var a = FrameAssembler(maxMessage: 4)
        _ = try Self.feed(&a, Self.packet(flags: Frame.flagMore, payload: [1, 2, 3]))
        #expect(throws: WireError.self) { try Self.feed(&a, Self.packet(payload: [4, 5])) }
    }

    /// Deterministic fuzzing: random and mutated packets either decode or throw; nothing traps.
    @Test func fuzzedPacketsNeverCrashTheDecoder() {
        var rng = SplitMix64(seed: 0x5EED)
        let valid = Self.packet(kind: 2, flags: 0, id: 3, op: 1, payload: [9, 8, 7, 6])
        var decoded = 0, rejected = 0
        for i in 0..<200_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                bytes = valid
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                }
                if rng.next() % 8 == 0 { bytes.removeLast(Int(rng.next() % 5)) }
            }
            var a = FrameAssembler(maxMessage: 16)
            do { if try Self.feed(&a, bytes) != nil { decoded += 1 } } catch { rejected += 1 }
        }
        #expect(decoded > 0 && rejected > 0)
    }
}
