/// "Did you mean" guesses for misspelt keys.
enum Suggestion {
    /// The candidate within edit distance 2 of `word`, or extending it by a suffix such as `_mb`
    /// (the closest, first on ties), or nil.
    static func nearest(to word: String, in candidates: [String]) -> String? {
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let isPrefix = word.utf8.count >= 3 && (candidate.hasPrefix(word) || word.hasPrefix(candidate))
            let distance = isPrefix ? 2 : editDistance(Array(word.utf8), Array(candidate.utf8))
            if distance <= 2, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.name
    }

    /// Levenshtein distance between two byte strings.
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
