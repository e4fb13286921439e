@testable import SynSandbox
import Testing

/// The uid block of a root-run node's workers stays clear of accounts, groups and subordinate ranges.
@Suite struct WorkerUIDsTests {
    @Test func aMachineWithoutSubordinateRangesUsesThePreferredBlock() {
        let taken = WorkerUIDs.claimed(passwd: "root:x:0:0:root:/root:/bin/bash\nada:x:1000:1000::/home/ada:/bin/sh\n",
                                       group: "root:x:0:\nada:x:1000:\n", subuid: "", subgid: "")
        #expect(WorkerUIDs.choose(taken: taken) == 200_000)
    }

    @Test func subordinateRangesOfSeveralUsersArePassed() {
        // Debian's useradd gives each user 65536 ids from 100000: the third user's range reaches 296607.
        let subuid = "ada:100000:65536\nbob:165536:65536\ncarl:231072:65536\n"
        let taken = WorkerUIDs.claimed(passwd: "", group: "", subuid: subuid, subgid: "")
        let base = WorkerUIDs.choose(taken: taken)
        #expect(base == 297_000)
        if let base { #expect(!taken.contains { $0.overlaps(base...(base + WorkerUIDs.blockSize - 1)) }) }
    }

    @Test func anAccountOrGroupInsideTheBlockMovesItPast() {
        let taken = WorkerUIDs.claimed(passwd: "svc:x:650000:650000::/:/usr/sbin/nologin\n", group: "big:x:1300500:\n",
                                       subuid: "", subgid: "ada:1200000:100\n")
        // 650000 pushes the block to 651000. That block holds the subgid range 1200000–1200099 and group 1300500,
        // so it moves past the higher of them, to 1301000.
        #expect(WorkerUIDs.choose(taken: taken) == 1_301_000)
    }

    @Test func malformedAndCommentedLinesAreSkipped() {
        let taken = WorkerUIDs.claimed(passwd: "# comment\nbroken\nx:y:notanumber:1\n", group: "::", subuid: "a:b:c\nz:5:0\n",
                                       subgid: "only:two\n")
        #expect(taken == [1...1])
    }

    @Test func noFreeBlockIsNil() {
        #expect(WorkerUIDs.choose(taken: [0...(UInt64(1) << 31)]) == nil)
    }
}
