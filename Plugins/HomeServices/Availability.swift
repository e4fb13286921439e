import FoundationEssentials
import SynAppKit
import SynSpaces

/// Opening hours: weekly hours, breaks, dated exceptions, a buffer between bookings, a minimum notice, a horizon,
/// and how long an unconfirmed booking request may wait.
struct AvailabilityRules: Codable, Sendable, Equatable {
    typealias Hours = DayHours
    struct Exception: Codable, Sendable, Equatable {
        /// "YYYY-MM-DD".
        var date: String
        /// Open only these hours that day; empty or absent: closed all day.
        var hours: [Span]?
    }
    struct Span: Codable, Sendable, Equatable {
        var start: String
        var end: String
    }

    var weekly: [Hours]
    var breaks: [Hours]?
    var exceptions: [Exception]?
    var bufferMinutes: Int?
    var minNoticeMinutes: Int?
    var horizonDays: Int?
    var requestExpiryMinutes: Int?
}

struct AvailabilityInput: Codable, Sendable {
    var spaceId: String
    var rules: AvailabilityRules
}

struct AvailabilityQuery: Codable, Sendable {
    var spaceId: String
}

/// One bookable interval.
struct Slot: Codable, Sendable, Equatable {
    var startMs: Int64
    var endMs: Int64
    /// The local start, e.g. "2026-12-01T09:00+01:00".
    var local: String
}

struct SlotsQuery: Codable, Sendable {
    var spaceId: String
    var itemId: String
    /// "YYYY-MM-DD", local; default today.
    var from: String?
    /// 1 to 90; default 7.
    var days: Int?
}

enum Availability {
    static let weekdays = LocalTime.weekdays

    static func register(_ routes: inout Routes) {
        routes.method("availability.set") { (input: AvailabilityInput, context) -> AvailabilityRules in
            let caller = try context.requireCaller()
            let space = try Spaces.load(input.spaceId, context)
            try Spaces.requireManager(space, caller)
            try check(input.rules)
            try context.sql.exec("""
                INSERT INTO availability(space_id, rules, updated_ms) VALUES (?, ?, ?)
                ON CONFLICT(space_id) DO UPDATE SET rules = excluded.rules, updated_ms = excluded.updated_ms
                """, [.text(space.id), .text(try Spaces.json(input.rules)), .integer(context.nowMs)])
            return input.rules
        }
        // The rules as stored, for a manager's page to edit; `{"weekly": []}` for a Space without any.
        routes.method("availability.get") { (input: AvailabilityQuery, context) -> AvailabilityRules in
            let caller = try context.requireCaller()
            let space = try Spaces.load(input.spaceId, context)
            try Spaces.requireManager(space, caller)
            return try rules(space.id, context) ?? AvailabilityRules(weekly: [])
        }
        routes.method("slots.list") { (query: SlotsQuery, context) -> RawJSON in
            let space = try Spaces.load(query.spaceId, context)
            guard let item = try Catalog.items(space, context, id: query.itemId).first else {
                throw AppError.notFound("no catalog item \(query.itemId) in Space \(space.id)")
            }
            guard item.kind == "slot" else { throw AppError.badRequest("item \(item.id) is a job: ask for a quote with jobs.request", code: "not_bookable") }
            let zone = try ZoneRules.named(space.timeZone)
            let days = query.days ?? 7
            guard (1...90).contains(days) else { throw AppError.badRequest("days must be 1 to 90", code: "invalid_field") }
            let today = localDay(context.nowMs, zone)
            let first = try query.from.map { text throws(AppError) in try parseDate(text, "from") } ?? today
            let slots = try free(space: space, item: item, zone: zone, fromDay: first, days: days, context: context)
            // Up to thousands of slots: written directly (ids and the zone are validated names, nothing to escape).
            var out = "{\"item_id\":\(JSONQuote.quote(item.id)),\"slots\":["
            out.reserveCapacity(64 + slots.count * 96)
            for (i, slot) in slots.enumerated() {
                if i > 0 { out += "," }
                out += "{\"end_ms\":\(slot.endMs),\"local\":\"\(slot.local)\",\"start_ms\":\(slot.startMs)}"
            }
            out += "],\"space_id\":\(JSONQuote.quote(space.id)),\"time_zone\":\(JSONQuote.quote(space.timeZone))}"
            return RawJSON(out)
        }
    }

    static func rules(_ spaceID: String, _ context: Context) throws -> AvailabilityRules? {
        guard let text = try context.sql.first("SELECT rules FROM availability WHERE space_id = ?", [.text(spaceID)])?.text(0) else { return nil }
        return try JSONDecoder().decode(AvailabilityRules.self, from: Data(text.utf8))
    }

    static func check(_ r: AvailabilityRules) throws(AppError) {
        // Overlapping hours would offer the same time twice.
        try LocalTime.checkWeek(r.weekly, "rules.weekly")
        guard (r.breaks ?? []).count <= 7 * 8 else { throw .badRequest("rules.breaks has more than 56 entries", code: "invalid_field") }
        for (i, h) in (r.breaks ?? []).enumerated() { _ = try checkHours(h, "rules.breaks[\(i)]") }
        guard (r.exceptions ?? []).count <= 366 else { throw .badRequest("rules.exceptions has more than 366 entries", code: "invalid_field") }
        for (i, e) in (r.exceptions ?? []).enumerated() {
            _ = try parseDate(e.date, "rules.exceptions[\(i)].date")
            guard (e.hours ?? []).count <= 8 else { throw .badRequest("rules.exceptions[\(i)].hours has more than 8 entries", code: "invalid_field") }
            for (k, span) in (e.hours ?? []).enumerated() {
                let field = "rules.exceptions[\(i)].hours[\(k)]"
                let a = try parseTime(span.start, field + ".start"), b = try parseTime(span.end, field + ".end")
                guard a < b else { throw .badRequest("\(field) ends before it starts", code: "invalid_field") }
            }
        }
        for (value, name, range) in [(r.bufferMinutes, "buffer_minutes", 0...1440), (r.minNoticeMinutes, "min_notice_minutes", 0...43_200),
                                     (r.horizonDays, "horizon_days", 1...365), (r.requestExpiryMinutes, "request_expiry_minutes", 1...10_080)] {
            if let value, !range.contains(value) { throw .badRequest("rules.\(name) must be \(range.lowerBound) to \(range.upperBound)", code: "invalid_field") }
        }
    }

    static func checkHours(_ h: AvailabilityRules.Hours, _ field: String) throws(AppError) -> (start: Int, end: Int) {
        try LocalTime.check(h, field)
    }

    static func parseTime(_ text: String, _ field: String) throws(AppError) -> Int { try LocalTime.parseTime(text, field) }

    static func parseDate(_ text: String, _ field: String) throws(AppError) -> Int { try LocalTime.parseDate(text, field) }

    static func localDay(_ ms: Int64, _ zone: ZoneRules) -> Int { LocalTime.localDay(ms, zone) }

    /// The free slots of `item` over `days` local days from `fromDay`.
    static func free(space: Space, item: CatalogItem, zone: ZoneRules, fromDay: Int, days: Int, context: Context) throws -> [Slot] {
        guard let rules = try rules(space.id, context) else { return [] }
        let durationMs = Int64(item.durationMinutes) * 60_000
        let bufferMs = Int64(rules.bufferMinutes ?? 0) * 60_000
        let now = context.nowMs
        let earliest = now + Int64(rules.minNoticeMinutes ?? 0) * 60_000
        let latest = now + Int64(rules.horizonDays ?? 90) * 86_400_000
        let fromMs = (zone.utc(fromLocal: Int64(fromDay) * 86_400) - 86_400) * 1000
        let toMs = (zone.utc(fromLocal: Int64(fromDay + days) * 86_400) + 86_400) * 1000
        let taken = try context.sql.query("""
            SELECT start_ms, end_ms FROM bookings WHERE space_id = ? AND active = 1 AND end_ms > ? AND start_ms < ? ORDER BY start_ms
            """, [.text(space.id), .integer(fromMs - bufferMs), .integer(toMs + bufferMs)])
            .map { (Int64($0.int(0) ?? 0), Int64($0.int(1) ?? 0)) }
        var exceptions: [Int: [AvailabilityRules.Span]] = [:]
        for e in rules.exceptions ?? [] { if let d = try? parseDate(e.date, "date") { exceptions[d] = e.hours ?? [] } }
        // Hours and breaks per weekday, parsed once.
        func minutes(_ list: [AvailabilityRules.Hours]) -> [[(Int, Int)]] {
            var out = [[(Int, Int)]](repeating: [], count: 7)
            for h in list {
                guard let d = weekdays[h.day], let a = try? parseTime(h.start, ""), let b = try? parseTime(h.end, "") else { continue }
                out[d].append((a, b))
            }
            return out.map { $0.sorted { $0.0 < $1.0 } }
        }
        let weeklyOpen = minutes(rules.weekly), weeklyBreaks = minutes(rules.breaks ?? [])
        var out: [Slot] = []
        out.reserveCapacity(256)
        var next = 0 // the first booking that may still clash (slots come in time order)
        for day in fromDay..<(fromDay + days) {
            // One offset for the whole day unless a transition falls inside it.
            let dayStart = Int64(day) * 86_400
            let morning = zone.utc(fromLocal: dayStart), evening = zone.utc(fromLocal: dayStart + 86_399)
            let steady = morning + 86_399 == evening
            let weekday = Civil.weekday(ofDay: day)
            let open: [(Int, Int)]
            if let special = exceptions[day] {
                open = special.compactMap { s in (try? parseTime(s.start, "")).flatMap { a in (try? parseTime(s.end, "")).map { (a, $0) } } }
                    .sorted { $0.0 < $1.0 }
            } else {
                open = weeklyOpen[weekday]
            }
            let pauses = weeklyBreaks[weekday]
            // The day's date and offset, written once; each slot adds its time.
            let datePrefix = localDatePrefix(day)
            let offsetSuffix = offsetText(zone.offset(atUTC: morning))
            for (openStart, openEnd) in open {
                var minute = openStart
                while minute + item.durationMinutes <= openEnd {
                    let end = minute + item.durationMinutes
                    if let pause = pauses.first(where: { $0.0 < end && minute < $0.1 }) {
                        minute = max(minute + item.durationMinutes, pause.1)
                        continue
                    }
                    let local = dayStart + Int64(minute) * 60
                    let startMs = (steady ? morning + Int64(minute) * 60 : zone.utc(fromLocal: local)) * 1000
                    let endMs = startMs + durationMs
                    while next < taken.count && taken[next].1 + bufferMs <= startMs { next += 1 }
                    var clash = false
                    var k = next
                    while k < taken.count && taken[k].0 < endMs + bufferMs {
                        if startMs < taken[k].1 + bufferMs { clash = true; break }
                        k += 1
                    }
                    if !clash && startMs >= earliest && startMs <= latest {
                        let local = steady ? datePrefix + twoDigits(minute / 60) + ":" + twoDigits(minute % 60) + offsetSuffix
                                           : localText(startMs, zone)
                        out.append(Slot(startMs: startMs, endMs: endMs, local: local))
                    }
                    minute += item.durationMinutes
                }
            }
        }
        return out
    }

    static func twoDigits(_ v: Int) -> String { v < 10 ? "0" + String(v) : String(v) }

    /// "2026-12-01T" for a local day.
    static func localDatePrefix(_ day: Int) -> String {
        let (y, m, d) = Civil.date(ofDay: day)
        return String(y) + "-" + twoDigits(m) + "-" + twoDigits(d) + "T"
    }

    /// "+01:00" for an offset in seconds.
    static func offsetText(_ offset: Int32) -> String {
        let o = Int(offset)
        return (o < 0 ? "-" : "+") + twoDigits(abs(o) / 3600) + ":" + twoDigits(abs(o) % 3600 / 60)
    }

    /// "2026-12-01T09:00+01:00".
    static func localText(_ ms: Int64, _ zone: ZoneRules) -> String {
        let seconds = ms / 1000
        let offset = Int(zone.offset(atUTC: seconds))
        let local = seconds + Int64(offset)
        let day = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        let (y, m, d) = Civil.date(ofDay: day)
        let minuteOfDay = Int(local - Int64(day) * 86_400) / 60
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let sign = offset < 0 ? "-" : "+"
        return "\(y)-\(two(m))-\(two(d))T\(two(minuteOfDay / 60)):\(two(minuteOfDay % 60))\(sign)\(two(abs(offset) / 3600)):\(two(abs(offset) % 3600 / 60))"
    }
}
