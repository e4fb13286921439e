#if canImport(Glibc)
import Glibc
#endif

/// The uids (and equal gids) that workers of a root-run node switch to: one block of `blockSize` ids that no account
/// or group (`/etc/passwd`, `/etc/group`) and no subordinate range (`/etc/subuid`, `/etc/subgid`, as used by
/// rootless containers) claims, so a worker never shares an id with anything else on the machine.
public enum WorkerUIDs {
    /// Ids per node: a worker's id is `base + (node pid mod 1000) × 1000 + (worker counter mod 1000)`.
    public static let blockSize: UInt64 = 1_000_000
    /// Where the search starts: above the usual first subordinate range (100000–165535).
    static let preferredBase: UInt64 = 200_000
    /// The search stays below 2^31, which every tool handles as a uid.
    static let ceiling: UInt64 = 1 << 31

    /// The block's first id for this machine, chosen once per process; nil when every block is claimed.
    public static let base: UInt64? = choose(taken: claimed(
        passwd: read("/etc/passwd"), group: read("/etc/group"), subuid: read("/etc/subuid"), subgid: read("/etc/subgid")))

    /// The ids named in the four files' formats: `name:x:uid:gid:...`, `name:x:gid:...` and `name:start:count`.
    static func claimed(passwd: String, group: String, subuid: String, subgid: String) -> [ClosedRange<UInt64>] {
        var ranges: [ClosedRange<UInt64>] = []
        func fields(_ text: String) -> [[Substring]] {
            text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: ":", omittingEmptySubsequences: false) }
        }
        for f in fields(passwd) where f.count > 3 {
            for id in [f[2], f[3]] { if let v = UInt64(id) { ranges.append(v...v) } }
        }
        for f in fields(group) where f.count > 2 {
            if let v = UInt64(f[2]) { ranges.append(v...v) }
        }
        for f in fields(subuid) + fields(subgid) where f.count == 3 {
            if let start = UInt64(f[1]), let count = UInt64(f[2]), count > 0 { ranges.append(start...(start + count - 1)) }
        }
        return ranges
    }

    /// The lowest block at or above `preferredBase`, on a multiple of 1000, that meets none of `taken`.
    static func choose(taken: [ClosedRange<UInt64>]) -> UInt64? {
        var base = preferredBase
        while base + blockSize <= ceiling {
            let block = base...(base + blockSize - 1)
            guard let clash = taken.filter({ $0.overlaps(block) }).max(by: { $0.upperBound < $1.upperBound }) else { return base }
            base = (clash.upperBound / 1000 + 1) * 1000
        }
        return nil
    }

    private static func read(_ path: String) -> String { WorkerCgroup.read(path) ?? "" }
}
