public import SynAppKit

/// Input checks shared by the Space apps: each answers 400 `invalid_field` naming the field and the rule.
public enum Validate {
    /// Text of at most `max` bytes with no control characters but newline and tab; not blank unless `allowEmpty`.
    public static func text(_ value: String, _ field: String, max: Int, allowEmpty: Bool = false) throws(AppError) {
        if !allowEmpty && value.trimmingWhitespace().isEmpty { throw .badRequest("\(field) must not be empty", code: "invalid_field") }
        if value.utf8.count > max { throw .badRequest("\(field) is longer than \(max) bytes", code: "invalid_field") }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }) {
            throw .badRequest("\(field) contains control characters", code: "invalid_field")
        }
    }

    /// A word list value: lowercase words joined by '-', e.g. "plumbing", "electrical-repair", at most 40 bytes.
    public static func slug(_ value: String, _ field: String, example: String) throws(AppError) {
        let ok = !value.isEmpty && value.utf8.count <= 40
            && value.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D } && !value.hasPrefix("-") && !value.hasSuffix("-")
        guard ok else { throw .badRequest("\(field) must be lowercase words joined by '-', e.g. \"\(example)\"", code: "invalid_field") }
    }

    public static func location(_ l: Location) throws(AppError) {
        try text(l.city, "location.city", max: 120)
        try point(lat: l.lat, lon: l.lon, "location")
    }

    /// A latitude and longitude, named `field.lat` and `field.lon` in messages.
    public static func point(lat: Double, lon: Double, _ field: String) throws(AppError) {
        guard (-90...90).contains(lat), lat.isFinite else { throw .badRequest("\(field).lat must be between -90 and 90", code: "invalid_field") }
        guard (-180...180).contains(lon), lon.isFinite else { throw .badRequest("\(field).lon must be between -180 and 180", code: "invalid_field") }
    }

    /// A distance in km above 0 and at most 1000.
    public static func km(_ km: Double, _ field: String) throws(AppError) {
        guard km.isFinite, km > 0, km <= 1000 else { throw .badRequest("\(field) must be above 0 and at most 1000", code: "invalid_field") }
    }

    public static func cancellation(_ c: CancellationPolicy, _ field: String) throws(AppError) {
        guard (0...8760).contains(c.freeUntilHours) else { throw .badRequest("\(field).free_until_hours must be 0 to 8760", code: "invalid_field") }
        guard (0...100).contains(c.feePercent) else { throw .badRequest("\(field).fee_percent must be 0 to 100", code: "invalid_field") }
    }

    /// An IANA zone name such as "Europe/Paris" or "UTC", known to the zone rules.
    public static func timeZone(_ zone: String) throws(AppError) {
        let ok = (1...64).contains(zone.utf8.count)
            && zone.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || "/_-+".utf8.contains($0) }
            && !zone.hasPrefix("/") && !zone.contains("..")
        guard ok else { throw .badRequest("time_zone must be an IANA zone name such as \"Europe/Paris\"", code: "invalid_field") }
    }

    /// An ISO 4217 code such as "EUR".
    public static func currency(_ code: String, _ field: String) throws(AppError) {
        guard code.utf8.count == 3, code.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
            throw .badRequest("\(field) must be an ISO 4217 code such as \"EUR\"", code: "invalid_field")
        }
    }

    /// An amount in minor units, 0 to 10,000,000,000.
    public static func amount(_ amount: Int, _ field: String) throws(AppError) {
        guard (0...100_000_000_00).contains(amount) else {
            throw .badRequest("\(field) must be 0 to 10,000,000,000 minor units", code: "invalid_field")
        }
    }
}

extension String {
    /// The string without leading and trailing whitespace.
    public func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
