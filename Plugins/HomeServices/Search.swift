import FoundationEssentials
import SynAppKit
import SynSpaces

struct SearchQuery: Codable, Sendable {
    /// Words to find in names, descriptions, trades and cities.
    var q: String?
    var trade: String?
    var city: String?
    /// Catalog prices in minor units: some fixed or hourly item at or above / at or below.
    var priceMin: Int?
    var priceMax: Int?
    /// Only items priced in this currency (ISO 4217) count for `price_min` and `price_max`; without it, amounts in
    /// every currency are compared as they are.
    var currency: String?
    var ratingMin: Double?
    var near: Near?
    var limit: Int?
}

struct SearchHit: Codable, Sendable {
    var spaceId: String
    var name: String
    var trade: String
    var city: String
    var distanceKm: Double?
    var rating: Double
    var score: Double
    /// How the score was made: text relevance, rating and proximity, each weighted 1.
    var components: [String: Double]
}

struct SearchResult: Codable, Sendable {
    var hits: [SearchHit]
    var formula: String
}

/// Discovery: FTS5 keyword search combined with attribute filters, ranges and distance, every score explained.
enum Search {
    static func register(_ routes: inout Routes) {
        routes.method("search") { (query: SearchQuery, context) -> SearchResult in
            let limit = try SearchScore.check(limit: query.limit, q: query.q, near: query.near)
            if let currency = query.currency { try Validate.currency(currency, "currency") }
            if let a = query.priceMin, let b = query.priceMax, a > b { throw AppError.badRequest("price_min is above price_max", code: "invalid_field") }
            if let r = query.ratingMin, !(0...5).contains(r) { throw AppError.badRequest("rating_min must be 0 to 5", code: "invalid_field") }

            var from = "spaces s"
            var conditions: [String] = [], parameters: [SQLValue] = []
            var textScore = "0.0"
            if let terms = SearchScore.ftsQuery(query.q ?? "") {
                from = "spaces_fts f JOIN spaces s ON s.id = f.space_id"
                conditions.append("spaces_fts MATCH ?")
                parameters.append(.text(terms))
                textScore = "-bm25(spaces_fts)"
            }
            if let trade = query.trade { conditions.append("s.trade = ?"); parameters.append(.text(trade)) }
            if let city = query.city { conditions.append("lower(s.city) = lower(?)"); parameters.append(.text(city)) }
            if query.priceMin != nil || query.priceMax != nil || query.currency != nil {
                // Some fixed or hourly item within the range (and in the currency, when one is given): the Space's
                // own price range only rules Spaces out cheaply first.
                if let min = query.priceMin { conditions.append("s.max_price >= ?"); parameters.append(SQLValue(min)) }
                if let max = query.priceMax { conditions.append("s.min_price <= ?"); parameters.append(SQLValue(max)) }
                var item = ["c.space_id = s.id", "c.amount IS NOT NULL"]
                if let min = query.priceMin { item.append("c.amount >= ?"); parameters.append(SQLValue(min)) }
                if let max = query.priceMax { item.append("c.amount <= ?"); parameters.append(SQLValue(max)) }
                if let currency = query.currency { item.append("c.currency = ?"); parameters.append(.text(currency)) }
                conditions.append("EXISTS (SELECT 1 FROM catalog c WHERE \(item.joined(separator: " AND ")))")
            }
            let rating = SearchScore.ratingSQL
            if let r = query.ratingMin { conditions.append("\(rating) >= ?"); parameters.append(.real(r)) }
            // The distance is squared in SQL (SQLite may lack sqrt); proximity = 1 - (d/km)^2.
            let (distance, proximity) = SearchScore.place(query.near, into: &conditions, &parameters)
            let sql = """
                SELECT s.id, s.name, s.trade, s.city, \(distance), \(rating), \(textScore), \(proximity)
                FROM \(from) \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                ORDER BY \(textScore) + \(rating) / 5.0 + \(proximity) DESC, s.id LIMIT \(limit)
                """
            let rows = try context.sql.query(sql, parameters)
            return SearchResult(hits: rows.map { r in
                let stars = r.double(5) ?? SearchScore.priorMean
                let (score, parts) = SearchScore.components(text: r.double(6) ?? 0, rating: stars, proximity: r.double(7) ?? 0)
                return SearchHit(spaceId: r.text(0) ?? "", name: r.text(1) ?? "", trade: r.text(2) ?? "", city: r.text(3) ?? "",
                                 distanceKm: r.double(4).map(SearchScore.distanceKm(squared:)), rating: (stars * 1000).rounded() / 1000,
                                 score: score, components: parts)
            }, formula: SearchScore.formula(textOver: "name, description, trade and city"))
        }
    }

    /// Keeps the search index and the price range of a Space current.
    static func index(_ spaceID: String, _ context: Context) throws {
        try context.sql.exec("DELETE FROM spaces_fts WHERE rowid = (SELECT rowid FROM spaces WHERE id = ?)", [.text(spaceID)])
        try context.sql.exec("""
            INSERT INTO spaces_fts(rowid, space_id, name, description, trade, city)
            SELECT rowid, id, name, description, trade, city FROM spaces WHERE id = ?
            """, [.text(spaceID)])
        try context.sql.exec("""
            UPDATE spaces SET min_price = (SELECT min(amount) FROM catalog WHERE space_id = ?1 AND amount IS NOT NULL),
                              max_price = (SELECT max(amount) FROM catalog WHERE space_id = ?1 AND amount IS NOT NULL) WHERE id = ?1
            """, [.text(spaceID)])
    }
}
