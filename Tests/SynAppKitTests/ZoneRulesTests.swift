@testable import SynAppKit
import Testing

/// Time-zone rules from the system's TZif files, checked at known transitions.
@Suite struct ZoneRulesTests {
    static func utc(_ y: Int, _ m: Int, _ d: Int, _ h: Int, _ min: Int, _ s: Int = 0) -> Int64 {
        Int64(Civil.days(year: y, month: m, day: d)) * 86_400 + Int64(h * 3600 + min * 60 + s)
    }

    @Test func parisChangesAtTheEuropeanRule() throws {
        let paris = try ZoneRules.named("Europe/Paris")
        // 2026: summer time from the last Sunday of March, 01:00 UTC, to the last Sunday of October, 01:00 UTC.
        #expect(paris.offset(atUTC: Self.utc(2026, 3, 29, 0, 59, 59)) == 3600)
        #expect(paris.offset(atUTC: Self.utc(2026, 3, 29, 1, 0)) == 7200)
        #expect(paris.offset(atUTC: Self.utc(2026, 10, 25, 0, 59, 59)) == 7200)
        #expect(paris.offset(atUTC: Self.utc(2026, 10, 25, 1, 0)) == 3600)
        // Far past the file's transitions: the footer rule.
        #expect(paris.offset(atUTC: Self.utc(2099, 7, 1, 12, 0)) == 7200)
        #expect(paris.offset(atUTC: Self.utc(2099, 1, 1, 12, 0)) == 3600)
        // Before time zones were standard: Paris mean time.
        #expect(paris.offset(atUTC: Self.utc(1880, 1, 1, 0, 0)) == 561)
    }

    @Test func southernAndWesternZones() throws {
        let sydney = try ZoneRules.named("Australia/Sydney")
        #expect(sydney.offset(atUTC: Self.utc(2026, 1, 15, 0, 0)) == 11 * 3600)
        #expect(sydney.offset(atUTC: Self.utc(2026, 7, 15, 0, 0)) == 10 * 3600)
        let newYork = try ZoneRules.named("America/New_York")
        #expect(newYork.offset(atUTC: Self.utc(2026, 3, 8, 6, 59)) == -5 * 3600)
        #expect(newYork.offset(atUTC: Self.utc(2026, 3, 8, 7, 0)) == -4 * 3600)
        #expect(try ZoneRules.named("UTC").offset(atUTC: 0) == 0)
    }

    @Test func localTimesInGapsAndOverlaps() throws {
        let paris = try ZoneRules.named("Europe/Paris")
        // 09:00 local on a summer day is 07:00 UTC.
        #expect(paris.utc(fromLocal: Self.utc(2026, 7, 1, 9, 0)) == Self.utc(2026, 7, 1, 7, 0))
        // 02:30 on 29 March 2026 does not exist in Paris: it moves forward by the hour jumped (03:30 CEST).
        #expect(paris.utc(fromLocal: Self.utc(2026, 3, 29, 2, 30)) == Self.utc(2026, 3, 29, 1, 30))
        // 02:30 on 25 October 2026 happens twice: the first (CEST) is taken.
        #expect(paris.utc(fromLocal: Self.utc(2026, 10, 25, 2, 30)) == Self.utc(2026, 10, 25, 0, 30))
    }

    @Test func unknownOrHostileNamesAreRefused() {
        for name in ["Mars/Olympus", "../../etc/passwd", "/etc/localtime", "", "Europe/Paris\u{0}"] {
            #expect(throws: AppError.self, "\(name)") { try ZoneRules.named(name) }
        }
    }

    @Test func civilCalendar() {
        #expect(Civil.days(year: 1970, month: 1, day: 1) == 0)
        #expect(Civil.date(ofDay: Civil.days(year: 2024, month: 2, day: 29)) == (2024, 2, 29))
        #expect(Civil.weekday(ofDay: Civil.days(year: 2026, month: 11, day: 24)) == 2) // a Tuesday
    }
}
