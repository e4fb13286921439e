/// Orders app versions as people write them: dot- and dash-separated parts, numeric parts as numbers, others as
/// text ("0.10.0" > "0.9.2", "1.0.0" > "1.0.0-rc1" is not assumed: a part present beats a part absent).
enum VersionOrder {
    /// -1, 0 or 1 as `a` is older than, the same as, or newer than `b`.
    static func compare(_ a: String, _ b: String) -> Int {
        let x = parts(a), y = parts(b)
        for i in 0..<max(x.count, y.count) {
            guard i < x.count else { return -1 }
            guard i < y.count else { return 1 }
            switch (Int(x[i]), Int(y[i])) {
            case let (p?, q?) where p != q: return p < q ? -1 : 1
            case (.some, nil): return 1
            case (nil, .some): return -1
            case (nil, nil) where x[i] != y[i]: return x[i] < y[i] ? -1 : 1
            default: continue
            }
        }
        return 0
    }

    private static func parts(_ v: String) -> [String] {
        v.split(whereSeparator: { $0 == "." || $0 == "-" || $0 == "+" }).map(String.init)
    }
}
