public import SynAppKit

/// One day's hours in a Space's time zone: `{"day": "mon", "start": "09:00", "end": "12:00"}`.
public struct DayHours: Codable, Sendable, Equatable {
    /// "mon" ... "sun".
    public var day: String
    /// "HH:MM", local time in the Space's zone ("24:00" may end a day).
    public var start: String
    public var end: String

    public init(day: String, start: String, end: String) {
        self.day = day
        self.start = start
        self.end = end
    }
}

/// Local wall-clock times of a Space: weekdays, "HH:MM", "YYYY-MM-DD", and instants placed in a zone.
public enum LocalTime {
    /// Weekday names as `Civil.weekday` numbers them.
    public static let weekdays = ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6]

    /// Checks one day's hours; returns them as minutes after midnight.
    public static func check(_ h: DayHours, _ field: String) throws(AppError) -> (start: Int, end: Int) {
        guard weekdays[h.day] != nil else { throw .badRequest("\(field).day must be mon, tue, wed, thu, fri, sat or sun", code: "invalid_field") }
        let a = try parseTime(h.start, "\(field).start"), b = try parseTime(h.end, "\(field).end")
        guard a < b else { throw .badRequest("\(field) ends before it starts (\(h.start)–\(h.end))", code: "invalid_field") }
        return (a, b)
    }

    /// Checks a week of hours (at most 8 spans a day, none overlapping another the same day), named `field[i]`.
    public static func checkWeek(_ hours: [DayHours], _ field: String) throws(AppError) {
        guard hours.count <= 7 * 8 else { throw .badRequest("\(field) has more than 56 entries", code: "invalid_field") }
        var open: [(day: Int, start: Int, end: Int, index: Int)] = []
        for (i, h) in hours.enumerated() {
            let (start, end) = try check(h, "\(field)[\(i)]")
            open.append((weekdays[h.day] ?? 0, start, end, i))
        }
        open.sort { ($0.day, $0.start) < ($1.day, $1.start) }
        for (a, b) in zip(open, open.dropFirst()) where a.day == b.day && b.start < a.end {
            throw .badRequest("\(field)[\(b.index)] overlaps \(field)[\(a.index)]", code: "invalid_field")
        }
    }

    /// "HH:MM" as minutes after midnight (24:00 allowed as an end).
    public static func parseTime(_ text: String, _ field: String) throws(AppError) -> Int {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]),
              (0...24).contains(h), (0...59).contains(m), h < 24 || m == 0 else {
            throw .badRequest("\(field) must be a time \"HH:MM\", got \"\(text)\"", code: "invalid_field")
        }
        return h * 60 + m
    }

    /// "YYYY-MM-DD" as days since the epoch.
    public static func parseDate(_ text: String, _ field: String) throws(AppError) -> Int {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), (1970...2200).contains(y), (1...12).contains(m),
              (1...Civil.daysInMonthPublic(year: y, month: m)).contains(d) else {
            throw .badRequest("\(field) must be a date \"YYYY-MM-DD\", got \"\(text)\"", code: "invalid_field")
        }
        return Civil.days(year: y, month: m, day: d)
    }

    /// The local day (days since the epoch) of instant `ms` in `zone`.
    public static func localDay(_ ms: Int64, _ zone: ZoneRules) -> Int {
        let seconds = ms / 1000
        let local = seconds + Int64(zone.offset(atUTC: seconds))
        return Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
    }

    /// The local weekday (0 = Sunday) and minute of the day of instant `ms` in `zone`.
    public static func weekMinute(_ ms: Int64, _ zone: ZoneRules) -> (weekday: Int, minute: Int) {
        let seconds = ms / 1000
        let local = seconds + Int64(zone.offset(atUTC: seconds))
        let day = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        return (Civil.weekday(ofDay: Int(day)), Int((local - day * 86_400) / 60))
    }

    /// Whether instant `ms` falls inside one of `hours` in `zone` (hours that fail to parse count as closed).
    public static func within(_ hours: [DayHours], _ ms: Int64, _ zone: ZoneRules) -> Bool {
        let (weekday, minute) = weekMinute(ms, zone)
        return hours.contains { h in
            guard weekdays[h.day] == weekday, let a = try? parseTime(h.start, ""), let b = try? parseTime(h.end, "") else { return false }
            return minute >= a && minute < b
        }
    }
}
