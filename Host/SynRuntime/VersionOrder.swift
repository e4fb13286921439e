/// Orders app versions as Semantic Versioning does, and tolerates what is not quite semver: build metadata (after
/// `+`) is ignored; a pre-release (after the first `-`) sorts before its release (`1.0.0-rc1` < `1.0.0`);
/// dot-separated parts compare as numbers when both are digits, a number before text, text by its bytes; with
/// every part equal, fewer parts sort first (`1.0` < `1.0.1`).
public enum VersionOrder {
    /// -1, 0 or 1 as `a` is older than, the same as, or newer than `b`.
    public static func compare(_ a: String, _ b: String) -> Int {
        let (coreA, preA) = split(a), (coreB, preB) = split(b)
        let core = compareParts(coreA, coreB)
        if core != 0 { return core }
        switch (preA, preB) {
        case (nil, nil): return 0
        case (nil, .some): return 1
        case (.some, nil): return -1
        case let (x?, y?): return compareParts(x, y)
        }
    }

    private static func split(_ version: String) -> (core: Substring, pre: Substring?) {
        let withoutBuild = version.split(separator: "+", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard let dash = withoutBuild.firstIndex(of: "-") else { return (withoutBuild, nil) }
        return (withoutBuild[..<dash], withoutBuild[withoutBuild.index(after: dash)...])
    }

    private static func compareParts(_ a: Substring, _ b: Substring) -> Int {
        let x = a.split(separator: ".", omittingEmptySubsequences: false), y = b.split(separator: ".", omittingEmptySubsequences: false)
        for i in 0..<min(x.count, y.count) {
            let p = x[i], q = y[i]
            let pNumeric = !p.isEmpty && p.allSatisfy(\.isASCIIDigit), qNumeric = !q.isEmpty && q.allSatisfy(\.isASCIIDigit)
            switch (pNumeric, qNumeric) {
            case (true, true):
                // Numbers of any length: leading zeros dropped, then the longer is larger.
                let pn = p.drop { $0 == "0" }, qn = q.drop { $0 == "0" }
                if pn.count != qn.count { return pn.count < qn.count ? -1 : 1 }
                if pn != qn { return pn < qn ? -1 : 1 }
            case (true, false): return -1
            case (false, true): return 1
            case (false, false): if p != q { return p < q ? -1 : 1 }
            }
        }
        return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
