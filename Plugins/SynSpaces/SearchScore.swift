public import SynAppKit
#if canImport(Glibc)
import Glibc
#endif

/// A point and a radius to search around.
public struct Near: Codable, Sendable {
    public var lat: Double
    public var lon: Double
    public var km: Double
}

/// The parts of a Space app's search score, the same in every app so scores mean the same: text relevance
/// (`-bm25` of an FTS5 table), the reputation's Bayesian average over 5, and proximity, each weighted 1.
public enum SearchScore {
    /// The reputation's prior: mean 3.5, weight 5 (`ReviewBook.reputation`).
    public static let priorMean = 3.5
    public static let priorWeight = 5.0

    /// The Bayesian average rating of the Space aliased `s` (its `rating_sum` and `rating_count`), as SQL.
    public static let ratingSQL = "((5 * 3.5 + s.rating_sum) * 1.0 / (5 + s.rating_count))"

    /// The formula every search answer carries, after the app's own description of its text columns.
    public static func formula(textOver columns: String) -> String {
        "score = text + rating/5 + proximity; text = -bm25 over \(columns); rating = the reputation's Bayesian average; proximity = 1 - (distance/near.km)^2, with distance in km (equirectangular)"
    }

    /// The words of `q` as an FTS5 query (each a quoted prefix term, all required; at most 8), or nil when there
    /// are none.
    public static func ftsQuery(_ q: String) -> String? {
        let words = q.split { !($0.isLetter || $0.isNumber) }.prefix(8).map { "\"" + $0.lowercased() + "\"*" }
        return words.isEmpty ? nil : words.joined(separator: " ")
    }

    /// Checks what every search takes (`limit` 1 to 50, default 20; `q` at most 200 bytes; `near`); returns the limit.
    public static func check(limit: Int?, q: String?, near: Near?) throws(AppError) -> Int {
        let limit = limit ?? 20
        guard (1...50).contains(limit) else { throw AppError.badRequest("limit must be 1 to 50", code: "invalid_field") }
        if let q { try Validate.text(q, "q", max: 200, allowEmpty: true) }
        if let near { try check(near) }
        return limit
    }

    /// `geo`'s conditions and parameters appended to a query's, and its distance and proximity SQL ("NULL" and
    /// "0.0" without `near`).
    public static func place(_ near: Near?, into conditions: inout [String], _ parameters: inout [SQLValue]) -> (distanceSquared: String, proximity: String) {
        guard let near else { return ("NULL", "0.0") }
        let g = geo(near)
        conditions += g.conditions
        parameters += g.parameters
        return (g.distanceSquared, g.proximity)
    }

    /// 400 unless `near` is a point with a radius above 0 and at most 1000 km.
    public static func check(_ near: Near) throws(AppError) {
        try Validate.point(lat: near.lat, lon: near.lon, "near")
        try Validate.km(near.km, "near.km")
    }

    /// Conditions (with their parameters) keeping rows whose `latColumn`/`lonColumn` lie within `near.km`, and the
    /// SQL of the squared distance and of the proximity. Equirectangular: exact enough for a city's scale; a bounding
    /// box first, so an index on the columns helps.
    public static func geo(_ near: Near, lat latColumn: String = "s.lat", lon lonColumn: String = "s.lon")
        -> (conditions: [String], parameters: [SQLValue], distanceSquared: String, proximity: String)
    {
        let kx = 111.32 * cos(near.lat * .pi / 180), ky = 110.57
        let dLat = near.km / ky, dLon = near.km / max(kx, 0.01)
        let dx = "((\(lonColumn) - \(near.lon)) * \(kx))", dy = "((\(latColumn) - \(near.lat)) * \(ky))"
        let distance = "(\(dx) * \(dx) + \(dy) * \(dy))"
        return (["\(latColumn) BETWEEN ? AND ? AND \(lonColumn) BETWEEN ? AND ?", "\(distance) <= ?"],
                [.real(near.lat - dLat), .real(near.lat + dLat), .real(near.lon - dLon), .real(near.lon + dLon), .real(near.km * near.km)],
                distance, "(1.0 - \(distance) / \(near.km * near.km))")
    }

    /// The distance in km between two points (equirectangular, as `geo`).
    public static func km(fromLat lat1: Double, lon lon1: Double, toLat lat2: Double, lon lon2: Double) -> Double {
        let kx = 111.32 * cos(lat1 * .pi / 180), ky = 110.57
        let dx = (lon2 - lon1) * kx, dy = (lat2 - lat1) * ky
        return sqrt(dx * dx + dy * dy)
    }

    /// The score and its components, rounded to 3 places, from a row's text score, rating and proximity.
    public static func components(text: Double, rating: Double, proximity: Double) -> (score: Double, parts: [String: Double]) {
        func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
        return (round3(text + rating / 5 + proximity),
                ["text": round3(text), "rating": round3(rating / 5), "proximity": round3(proximity)])
    }

    /// A squared distance from `geo`'s SQL as km, to two places.
    public static func distanceKm(squared: Double) -> Double { (sqrt(squared) * 100).rounded() / 100 }
}
