import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Time-zone rules read from the system's TZif files (`/usr/share/zoneinfo`, bound read-only into the sandbox by
/// the `swift` profile): UTC offsets at any instant, and local wall-clock times turned back into instants.
/// FoundationEssentials has no named zones; this is the small part of them an app needs.
public struct ZoneRules: Sendable {
    public let identifier: String
    /// Transition instants (UTC seconds), ascending, and the offset in force from each.
    let transitions: [Int64]
    let offsets: [Int32]
    /// The offset before the first transition.
    let initialOffset: Int32
    /// The POSIX TZ rule for instants after the last transition (nil: the last offset stays).
    let rule: PosixRule?

    /// Zones already read, by identifier.
    private static let cache = Mutex<[String: ZoneRules]>([:])

    /// The rules of `identifier` ("Europe/Paris", "UTC"); 400 `invalid_time_zone` if the zone does not exist or
    /// its file cannot be read.
    public static func named(_ identifier: String) throws(AppError) -> ZoneRules {
        if let cached = cache.withLock({ $0[identifier] }) { return cached }
        if identifier == "UTC" || identifier == "Etc/UTC" || identifier == "GMT" {
            return ZoneRules(identifier: identifier, transitions: [], offsets: [], initialOffset: 0, rule: nil)
        }
        let valid = !identifier.isEmpty && identifier.utf8.count <= 64 && !identifier.hasPrefix("/") && !identifier.contains("..")
            && identifier.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || "/_-+".utf8.contains($0) }
        guard valid, let bytes = readFile("/usr/share/zoneinfo/" + identifier), let rules = parse(bytes, identifier) else {
            throw AppError.badRequest("unknown time zone \"\(identifier)\" (an IANA name such as \"Europe/Paris\")", code: "invalid_time_zone")
        }
        cache.withLock { $0[identifier] = rules }
        return rules
    }

    /// Seconds east of UTC at instant `utc` (seconds since the epoch).
    public func offset(atUTC utc: Int64) -> Int32 {
        guard let last = transitions.last else { return rule?.offset(atUTC: utc) ?? initialOffset }
        if utc >= last, let rule { return rule.offset(atUTC: utc) }
        guard utc >= transitions[0] else { return initialOffset }
        var low = 0, high = transitions.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if transitions[mid] <= utc { low = mid } else { high = mid - 1 }
        }
        return offsets[low]
    }

    /// The instant of local wall-clock time `local` (seconds since the epoch, as if local were UTC). A time skipped
    /// by a forward jump is moved forward by the jump; a repeated time takes its first occurrence.
    public func utc(fromLocal local: Int64) -> Int64 {
        let before = offset(atUTC: local - 86_400), after = offset(atUTC: local + 86_400)
        var matches: [Int64] = []
        for o in Set([before, after]) where offset(atUTC: local - Int64(o)) == o { matches.append(local - Int64(o)) }
        if let first = matches.min() { return first }
        // In a gap: the wall clock jumped from `before` to `after`; keep the same distance past the jump.
        return local - Int64(before)
    }

    // MARK: Reading TZif

    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while out.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }

    /// RFC 8536: the version 2+ (64-bit) block and the footer's POSIX TZ string. Nil if malformed.
    static func parse(_ b: [UInt8], _ identifier: String) -> ZoneRules? {
        func u32(_ at: Int) -> Int? {
            guard at >= 0, at + 4 <= b.count else { return nil }
            return Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3])
        }
        func i64(_ at: Int) -> Int64? {
            guard at >= 0, at + 8 <= b.count else { return nil }
            var v: UInt64 = 0
            for k in 0..<8 { v = v << 8 | UInt64(b[at + k]) }
            return Int64(bitPattern: v)
        }
        func header(_ at: Int) -> (isut: Int, isstd: Int, leap: Int, time: Int, type: Int, char: Int)? {
            guard b.count >= at + 44, b[at] == 0x54, b[at + 1] == 0x5A, b[at + 2] == 0x69, b[at + 3] == 0x66,
                  let a = u32(at + 20), let c = u32(at + 24), let d = u32(at + 28), let e = u32(at + 32), let f = u32(at + 36),
                  let g = u32(at + 40) else { return nil }
            return (a, c, d, e, f, g)
        }
        guard let v1 = header(0), b[4] >= 0x32 else { return nil }
        let skip = 44 + v1.time * 5 + v1.type * 6 + v1.char + v1.leap * 8 + v1.isstd + v1.isut
        guard let h = header(skip), h.type > 0, h.type < 256, h.time < 100_000 else { return nil }
        var at = skip + 44
        var times: [Int64] = [], indices: [Int] = []
        for _ in 0..<h.time {
            guard let t = i64(at) else { return nil }
            times.append(t)
            at += 8
        }
        for _ in 0..<h.time {
            guard at < b.count else { return nil }
            indices.append(Int(b[at]))
            at += 1
        }
        var types: [Int32] = []
        for _ in 0..<h.type {
            guard let raw = u32(at) else { return nil }
            types.append(Int32(bitPattern: UInt32(raw)))
            at += 6
        }
        guard indices.allSatisfy({ $0 < types.count }) else { return nil }
        at += h.char + h.leap * 12 + h.isstd + h.isut
        var rule: PosixRule? = nil
        if at < b.count, b[at] == 0x0A, let end = b[(at + 1)...].firstIndex(of: 0x0A) {
            rule = PosixRule(String(decoding: b[(at + 1)..<end], as: UTF8.self))
        }
        return ZoneRules(identifier: identifier, transitions: times, offsets: indices.map { types[$0] },
                         initialOffset: types[0], rule: rule)
    }
}

/// A POSIX TZ string such as `CET-1CEST,M3.5.0,M10.5.0/3`: a standard offset, and optionally a daylight offset
/// with the rules for when it starts and ends (only the `Mm.w.d[/time]` form, which every zone file uses today).
struct PosixRule: Sendable {
    let standard: Int32
    let daylight: Int32?
    let start: (month: Int, week: Int, day: Int, seconds: Int)?
    let end: (month: Int, week: Int, day: Int, seconds: Int)?

    init?(_ text: String) {
        var s = Substring(text)
        func name() -> Bool {
            if s.first == "<" {
                guard let close = s.firstIndex(of: ">") else { return false }
                s = s[s.index(after: close)...]
                return true
            }
            let letters = s.prefix { $0.isLetter }
            guard letters.count >= 3 else { return false }
            s = s.dropFirst(letters.count)
            return true
        }
        /// `[+-]hh[:mm[:ss]]`, POSIX sign (west positive) turned into seconds east.
        func offset() -> Int32? {
            var sign: Int32 = -1
            if s.first == "+" { s = s.dropFirst() } else if s.first == "-" { sign = 1; s = s.dropFirst() }
            guard let t = time() else { return nil }
            return sign * Int32(t)
        }
        func time() -> Int? {
            var parts: [Int] = []
            while parts.count < 3 {
                let digits = s.prefix { $0.isNumber }
                guard !digits.isEmpty, let v = Int(digits) else { return nil }
                parts.append(v)
                s = s.dropFirst(digits.count)
                if s.first == ":" { s = s.dropFirst() } else { break }
            }
            return parts[0] * 3600 + (parts.count > 1 ? parts[1] * 60 : 0) + (parts.count > 2 ? parts[2] : 0)
        }
        func date() -> (Int, Int, Int, Int)? {
            guard s.first == "M" else { return nil }
            s = s.dropFirst()
            let fields = s.prefix { $0.isNumber || $0 == "." }.split(separator: ".").compactMap { Int($0) }
            s = s.dropFirst(s.prefix { $0.isNumber || $0 == "." }.count)
            guard fields.count == 3, (1...12).contains(fields[0]), (1...5).contains(fields[1]), (0...6).contains(fields[2]) else { return nil }
            var seconds = 7200
            if s.first == "/" {
                s = s.dropFirst()
                var negative = false
                if s.first == "-" { negative = true; s = s.dropFirst() } else if s.first == "+" { s = s.dropFirst() }
                guard let t = time() else { return nil }
                seconds = negative ? -t : t
            }
            return (fields[0], fields[1], fields[2], seconds)
        }
        guard name(), let std = offset() else { return nil }
        standard = std
        guard !s.isEmpty else { daylight = nil; start = nil; end = nil; return }
        guard name() else { return nil }
        if s.first == "," || s.isEmpty { daylight = std + 3600 } else {
            guard let dst = offset() else { return nil }
            daylight = dst
        }
        guard s.first == "," else { start = nil; end = nil; return }
        s = s.dropFirst()
        guard let a = date(), s.first == "," else { return nil }
        s = s.dropFirst()
        guard let z = date() else { return nil }
        start = a
        end = z
    }

    func offset(atUTC utc: Int64) -> Int32 {
        guard let daylight, let start, let end else { return standard }
        let year = Civil.year(ofDay: Int((utc + Int64(standard)) / 86_400) - ((utc + Int64(standard)) % 86_400 < 0 ? 1 : 0))
        // Transition instants in UTC: start is given in standard local time, end in daylight local time.
        let begins = Int64(Civil.nthWeekday(year: year, month: start.month, week: start.week, weekday: start.day)) * 86_400
            + Int64(start.seconds) - Int64(standard)
        let ends = Int64(Civil.nthWeekday(year: year, month: end.month, week: end.week, weekday: end.day)) * 86_400
            + Int64(end.seconds) - Int64(daylight)
        if begins < ends { return utc >= begins && utc < ends ? daylight : standard }
        return utc >= ends && utc < begins ? standard : daylight // southern hemisphere
    }
}

/// Proleptic Gregorian calendar arithmetic on days since 1970-01-01 (Howard Hinnant's algorithms).
public enum Civil {
    /// Days since the epoch of a date.
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date of days since the epoch.
    public static func date(ofDay z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func year(ofDay day: Int) -> Int { date(ofDay: day).year }

    /// 0 = Sunday … 6 = Saturday.
    public static func weekday(ofDay day: Int) -> Int { ((day % 7) + 7 + 4) % 7 }

    /// Days in a month of a year.
    public static func daysInMonthPublic(year: Int, month: Int) -> Int { daysInMonth(year: year, month: month) }

    static func daysInMonth(year: Int, month: Int) -> Int {
        days(year: month == 12 ? year + 1 : year, month: month == 12 ? 1 : month + 1, day: 1) - days(year: year, month: month, day: 1)
    }

    /// The `week`th (5 = last) `weekday` of the month, as days since the epoch.
    static func nthWeekday(year: Int, month: Int, week: Int, weekday: Int) -> Int {
        let first = days(year: year, month: month, day: 1)
        var day = first + (weekday - Self.weekday(ofDay: first) + 7) % 7 + (week - 1) * 7
        let last = first + daysInMonth(year: year, month: month) - 1
        while day > last { day -= 7 }
        return day
    }
}
