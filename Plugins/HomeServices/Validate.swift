import SynAppKit

/// Input checks that answer 400 with the field and the rule.
enum Validate {
    static func text(_ value: String, _ field: String, max: Int, allowEmpty: Bool = false) throws(AppError) {
        if !allowEmpty && value.trimmingWhitespace().isEmpty { throw .badRequest("\(field) must not be empty", code: "invalid_field") }
        if value.utf8.count > max { throw .badRequest("\(field) is longer than \(max) bytes", code: "invalid_field") }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }) {
            throw .badRequest("\(field) contains control characters", code: "invalid_field")
        }
    }

    /// A trade: lowercase words joined by '-', e.g. "plumbing", "electrical-repair".
    static func trade(_ value: String) throws(AppError) {
        let ok = !value.isEmpty && value.utf8.count <= 40
            && value.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D } && !value.hasPrefix("-") && !value.hasSuffix("-")
        guard ok else { throw .badRequest("trade must be lowercase words joined by '-', e.g. \"plumbing\"", code: "invalid_field") }
    }

    static func location(_ l: Location) throws(AppError) {
        try text(l.city, "location.city", max: 120)
        try point(lat: l.lat, lon: l.lon, "location")
    }

    /// A latitude and longitude, named `field.lat` and `field.lon` in messages.
    static func point(lat: Double, lon: Double, _ field: String) throws(AppError) {
        guard (-90...90).contains(lat), lat.isFinite else { throw .badRequest("\(field).lat must be between -90 and 90", code: "invalid_field") }
        guard (-180...180).contains(lon), lon.isFinite else { throw .badRequest("\(field).lon must be between -180 and 180", code: "invalid_field") }
    }

    static func serviceArea(_ km: Double) throws(AppError) {
        guard km.isFinite, km > 0, km <= 1000 else { throw .badRequest("service_area_km must be above 0 and at most 1000", code: "invalid_field") }
    }

    static func cancellation(_ c: CancellationPolicy, _ field: String) throws(AppError) {
        guard (0...8760).contains(c.freeUntilHours) else { throw .badRequest("\(field).free_until_hours must be 0 to 8760", code: "invalid_field") }
        guard (0...100).contains(c.feePercent) else { throw .badRequest("\(field).fee_percent must be 0 to 100", code: "invalid_field") }
    }

    /// An IANA zone name such as "Europe/Paris" or "UTC".
    static func timeZone(_ zone: String) throws(AppError) {
        let ok = (1...64).contains(zone.utf8.count)
            && zone.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || "/_-+".utf8.contains($0) }
            && !zone.hasPrefix("/") && !zone.contains("..")
        guard ok else { throw .badRequest("time_zone must be an IANA zone name such as \"Europe/Paris\"", code: "invalid_field") }
    }

    static func branding(_ b: Branding) throws(AppError) {
        if let color = b.primaryColor {
            let hex = color.utf8.dropFirst()
            guard color.hasPrefix("#"), hex.count == 6, hex.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) }) else {
                throw .badRequest("branding.primary_color must be #rrggbb", code: "invalid_field")
            }
        }
        if let url = b.logoUrl {
            try text(url, "branding.logo_url", max: 500)
            guard url.hasPrefix("https://") else { throw .badRequest("branding.logo_url must be an https URL", code: "invalid_field") }
        }
        if let tagline = b.tagline { try text(tagline, "branding.tagline", max: 200, allowEmpty: true) }
    }

    /// A price; its fields are named `field.model` and so on in messages (just `amount` and `currency` when `field`
    /// is empty, as in a quote).
    static func price(_ p: Price, _ field: String = "price") throws(AppError) {
        let prefix = field.isEmpty ? "" : field + "."
        guard ["fixed", "hourly", "quote"].contains(p.model) else {
            throw .badRequest("\(prefix)model must be fixed, hourly or quote", code: "invalid_field")
        }
        guard p.currency.utf8.count == 3, p.currency.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
            throw .badRequest("\(prefix)currency must be an ISO 4217 code such as \"EUR\"", code: "invalid_field")
        }
        switch (p.model, p.amount) {
        case ("quote", .some): throw .badRequest("\(prefix)amount must be absent for a quote (the quote sets it)", code: "invalid_field")
        case ("quote", nil): break
        case (_, nil): throw .badRequest("\(prefix)amount is required for a \(p.model) price (minor units)", code: "invalid_field")
        case (_, .some(let a)) where a < 0 || a > 100_000_000_00: throw .badRequest("\(prefix)amount must be 0 to 10,000,000,000 minor units", code: "invalid_field")
        default: break
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
