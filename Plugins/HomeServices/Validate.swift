import SynAppKit
import SynSpaces

/// HomeServices' own input checks, beside the shared ones (`SynSpaces.Validate`).
extension Validate {
    /// A trade: lowercase words joined by '-', e.g. "plumbing", "electrical-repair".
    static func trade(_ value: String) throws(AppError) { try slug(value, "trade", example: "plumbing") }

    static func serviceArea(_ km: Double) throws(AppError) { try Validate.km(km, "service_area_km") }

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
        try currency(p.currency, prefix + "currency")
        switch (p.model, p.amount) {
        case ("quote", .some): throw .badRequest("\(prefix)amount must be absent for a quote (the quote sets it)", code: "invalid_field")
        case ("quote", nil): break
        case (_, nil): throw .badRequest("\(prefix)amount is required for a \(p.model) price (minor units)", code: "invalid_field")
        case (_, .some(let a)): try amount(a, prefix + "amount")
        }
    }
}
