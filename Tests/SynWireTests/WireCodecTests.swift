import SynWire
import Testing

/// Payload codec and the worker setup message.
@Suite struct WireCodecTests {
    @Test func writerAndReaderRoundTrip() throws {
        var w = WireWriter()
        w.u8(1); w.u32(0xDEAD_BEEF); w.i32(-6); w.u64(UInt64.max); w.bool(true)
        w.string("héllo"); w.strings(["a", "", "c"]); w.data([0, 255]); w.raw([7, 7])
        var r = WireReader(w.bytes)
        #expect(try r.u8() == 1)
        #expect(try r.u32() == 0xDEAD_BEEF)
        #expect(try r.i32() == -6)
        #expect(try r.u64() == UInt64.max)
        #expect(try r.bool())
        #expect(try r.string() == "héllo")
        #expect(try r.strings() == ["a", "", "c"])
        #expect(try r.data() == [0, 255])
        #expect(r.rest() == [7, 7])
    }

    @Test func readsPastTheEndThrow() {
        var r = WireReader([5, 0, 0, 0, 1, 2])
        #expect(throws: WireError.self) { try r.data() }
        var s = WireReader([1, 2])
        #expect(throws: WireError.self) { try s.u32() }
    }

    @Test func lengthLimitsAreEnforced() {
        var w = WireWriter()
        w.data([UInt8](repeating: 1, count: 10))
        var r = WireReader(w.bytes)
        #expect(throws: WireError.self) { try r.data(limit: 9) }
    }

    @Test func setupRoundTrips() throws {
        var s = WorkerSetup()
        s.uid = 200_001; s.gid = 200_002
        s.cgroupProcs = ["/sys/fs/cgroup/memory/x/cgroup.procs"]
        s.libraryName = "libx.so"; s.bindDirectories = ["/usr/share/zoneinfo"]; s.preload = ["/opt/x/liby.so"]; s.devURandom = true; s.procfs = true
        s.addressSpace = 1 << 30; s.openFiles = 8; s.processes = 9; s.cpuSeconds = 10
        s.defaultAction = .errno; s.errnoValue = 1; s.allow = ["read", "write"]
        s.errnoRules = [.init(syscall: "openat", errno: 2)]; s.threads = true; s.execMemory = false
        s.maxMessage = 4096; s.arenaLimit = 8192; s.appID = "x"; s.pinCPU = 1
        #expect(try WorkerSetup.decode(s.encode()) == s)
        s.storage = .init(quotaBytes: 1 << 20, kv: true, sql: false, callTimeoutMs: 5000, shared: true)
        #expect(try WorkerSetup.decode(s.encode()) == s)
        let truncated = Array(s.encode().dropLast(3))
        #expect(throws: WireError.self) { try WorkerSetup.decode(truncated) }
    }
}

/// Outbox batches on the link: exact round trips, bounded counts, nothing trailing.
@Suite struct OutboxBatchTests {
    @Test func roundTripsAndRefusesWhatItCannotHold() throws {
        let batch = OutboxBatch(epoch: [1, 2, 3], rows: [
            OutboxRow(seq: 1, requestID: 7, kind: OutboxRow.event, type: Array("a.b".utf8), payload: Array("{}".utf8), token: 0, dueNs: 0),
            OutboxRow(seq: 2, requestID: .max, kind: OutboxRow.timer, type: [], payload: [0, 255], token: 42, dueNs: -5),
        ])
        #expect(try OutboxBatch.decode(batch.encode()) == batch)
        #expect(throws: WireError.self) { try OutboxBatch.decode(batch.encode() + [0]) }
        #expect(throws: WireError.self) { try OutboxBatch.decode(Array(batch.encode().dropLast())) }
        var tooMany = WireWriter()
        tooMany.data([1]); tooMany.u32(UInt32(OutboxBatch.maxRows + 1))
        #expect(throws: WireError.self) { try OutboxBatch.decode(tooMany.bytes) }
    }
}
