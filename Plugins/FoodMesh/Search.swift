import SynAppKit
import SynSpaces

struct FoodQuery: Codable, Sendable {
    /// Words to find in product titles, descriptions and tags, and store names, kinds and cities.
    var q: String?
    var kind: String?
    /// Every one of these tags.
    var tags: [String]?
    var vegetarian: Bool?
    /// Only stores open now (their hours, their zone).
    var openNow: Bool?
    /// Only products a quote could take now.
    var inStock: Bool?
    var priceMin: Int?
    var priceMax: Int?
    var near: Near?
    var limit: Int?
}

struct FoodHit: Codable, Sendable {
    var storeId: String
    var storeName: String
    var kind: String
    var productId: String
    var title: String
    var unit: String
    var price: Int
    var currency: String
    /// nil: unlimited.
    var available: Int?
    var distanceKm: Double?
    var rating: Double
    var score: Double
    var components: [String: Double]
}

struct FoodResult: Codable, Sendable {
    var hits: [FoodHit]
    var formula: String
}

/// Discovery over products: FTS5 keywords with kind, tags, price, stock, "open now" and distance, scored as every
/// Space app scores (`SynSpaces.SearchScore`). Products past their sell-by time are not found.
enum Search {
    static func register(_ routes: inout Routes) {
        routes.method("search") { (query: FoodQuery, context) -> FoodResult in
            let limit = try SearchScore.check(limit: query.limit, q: query.q, near: query.near)
            if let kind = query.kind, !Stores.kinds.contains(kind) {
                throw AppError.badRequest("kind must be one of \(Stores.kinds.sorted().joined(separator: ", "))", code: "invalid_field")
            }
            let tags = query.tags ?? []
            guard tags.count <= 5 else { throw AppError.badRequest("tags lists more than 5 tags", code: "invalid_field") }
            for (i, tag) in tags.enumerated() { try Validate.slug(tag, "tags[\(i)]", example: "gluten-free") }
            for (value, name) in [(query.priceMin, "price_min"), (query.priceMax, "price_max")] { if let value { try Validate.amount(value, name) } }
            if let a = query.priceMin, let b = query.priceMax, a > b { throw AppError.badRequest("price_min is above price_max", code: "invalid_field") }

            let now = context.nowMs
            var from = "products p JOIN spaces s ON s.id = p.store_id"
            var conditions = ["p.removed = 0", "(p.sell_by_ms IS NULL OR p.sell_by_ms > ?)"]
            var parameters: [SQLValue] = [.integer(now)]
            var textScore = "0.0"
            if let terms = SearchScore.ftsQuery(query.q ?? "") {
                from = "products_fts f JOIN products p ON p.store_id = f.store_id AND p.id = f.product_id JOIN spaces s ON s.id = p.store_id"
                conditions.append("products_fts MATCH ?")
                parameters.append(.text(terms))
                textScore = "-bm25(products_fts)"
            }
            if let kind = query.kind { conditions.append("s.kind = ?"); parameters.append(.text(kind)) }
            for tag in tags { conditions.append("EXISTS (SELECT 1 FROM json_each(p.tags) WHERE value = ?)"); parameters.append(.text(tag)) }
            if query.vegetarian == true { conditions.append("json_extract(p.attributes, '$.vegetarian') = 1") }
            if query.inStock == true { conditions.append("(p.stock IS NULL OR p.stock > p.held)") }
            if let min = query.priceMin { conditions.append("p.price >= ?"); parameters.append(SQLValue(min)) }
            if let max = query.priceMax { conditions.append("p.price <= ?"); parameters.append(SQLValue(max)) }
            let (distance, proximity) = SearchScore.place(query.near, into: &conditions, &parameters)
            let rating = SearchScore.ratingSQL
            // "Open now" needs each store's zone: filtered after the query, over a wider page.
            let page = query.openNow == true ? min(limit * 10, 500) : limit
            let sql = """
                SELECT s.id, s.name, s.kind, p.id, p.title, p.unit, p.price, s.currency, p.stock - p.held, p.stock IS NULL,
                       \(distance), \(rating), \(textScore), \(proximity)
                FROM \(from) WHERE \(conditions.joined(separator: " AND "))
                ORDER BY \(textScore) + \(rating) / 5.0 + \(proximity) DESC, p.store_id, p.id LIMIT \(page)
                """
            var hits: [FoodHit] = []
            var openStores: [String: Bool] = [:]
            for r in try context.sql.query(sql, parameters) {
                let storeID = r.text(0) ?? ""
                if query.openNow == true {
                    if openStores[storeID] == nil { openStores[storeID] = (try? Stores.load(storeID, context))?.openNow ?? false }
                    guard openStores[storeID] == true else { continue }
                }
                let stars = r.double(11) ?? SearchScore.priorMean
                let (score, parts) = SearchScore.components(text: r.double(12) ?? 0, rating: stars, proximity: r.double(13) ?? 0)
                hits.append(FoodHit(storeId: storeID, storeName: r.text(1) ?? "", kind: r.text(2) ?? "", productId: r.text(3) ?? "",
                                    title: r.text(4) ?? "", unit: r.text(5) ?? "", price: r.int(6) ?? 0, currency: r.text(7) ?? "",
                                    available: r.int(9) == 1 ? nil : r.int(8), distanceKm: r.double(10).map(SearchScore.distanceKm(squared:)),
                                    rating: (stars * 1000).rounded() / 1000, score: score, components: parts))
                if hits.count == limit { break }
            }
            return FoodResult(hits: hits, formula: SearchScore.formula(textOver: "product title, description and tags, and the store's name, kind and city"))
        }
    }
}
