import FoundationEssentials
import SynAppKit
import SynSpaces

/// Products and their stock. Stock is counted or unlimited; `held` is what live quotes hold, and a quote takes
/// only `stock - held`, in the call's one transaction, so two customers never get the same last unit.
enum Products {
    static func register(_ routes: inout Routes) {
        routes.method("products.upsert") { (input: ProductInput, context) -> Product in
            let store = try Stores.managed(input.storeId, context)
            try check(input)
            let id = input.id ?? context.newID()
            let existing = try context.sql.first("SELECT stock, removed FROM products WHERE store_id = ? AND id = ?", [.text(store.id), .text(id)])
            var stock: SQLValue
            switch (input.stock, input.unlimited) {
            case (let n?, nil), (let n?, false?): stock = SQLValue(n)
            case (nil, true?): stock = .null
            case (nil, nil), (nil, false?):
                guard let existing else {
                    throw AppError.badRequest("a new product needs stock (units) or unlimited: true", code: "invalid_field")
                }
                stock = existing[0]
            case (_?, true?): throw AppError.badRequest("give stock or unlimited: true, not both", code: "invalid_field")
            }
            if case .integer(let n) = stock, let held = try context.sql.first("SELECT held FROM products WHERE store_id = ? AND id = ?",
                                                                              [.text(store.id), .text(id)])?.int(0), Int(n) < held {
                throw AppError.conflict("quotes hold \(held) units; stock cannot go below that", code: "below_held")
            }
            let window = try input.availableFrom.map { a throws(AppError) in
                (try LocalTime.parseTime(a, "available_from"), try LocalTime.parseTime(input.availableUntil ?? "", "available_until"))
            }
            try context.sql.exec("""
                INSERT INTO products(store_id, id, title, description, unit, price, tags, attributes, stock, available_from,
                                     available_until, sell_by_ms, removed, updated_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)
                ON CONFLICT(store_id, id) DO UPDATE SET title = excluded.title, description = excluded.description,
                    unit = excluded.unit, price = excluded.price, tags = excluded.tags, attributes = excluded.attributes,
                    stock = excluded.stock, available_from = excluded.available_from, available_until = excluded.available_until,
                    sell_by_ms = excluded.sell_by_ms, removed = 0, updated_ms = excluded.updated_ms
                """, [.text(store.id), .text(id), .text(input.title), .text(input.description), .text(input.unit), SQLValue(input.price),
                      .text(try Stores.json(input.tags ?? [])), .text(try Stores.json(input.attributes ?? Attributes())), stock,
                      window.map { SQLValue($0.0) } ?? .null, window.map { SQLValue($0.1) } ?? .null,
                      input.sellByMs.map { .integer($0) } ?? .null, .integer(context.nowMs)])
            if let sellBy = input.sellByMs {
                try context.schedule.at(sellBy, Quotes.sellByKind, key: store.id + "/" + id, ProductRef(storeId: store.id, id: id))
            } else {
                try context.schedule.cancel(Quotes.sellByKind, key: store.id + "/" + id)
            }
            try index(store: store, product: id, context)
            return try load(store.id, id, context)
        }
        routes.method("products.remove") { (input: ProductRef, context) -> Removed in
            let store = try Stores.managed(input.storeId, context)
            let changed = try context.sql.exec("UPDATE products SET removed = 1, updated_ms = ? WHERE store_id = ? AND id = ? AND removed = 0",
                                               [.integer(context.nowMs), .text(store.id), .text(input.id)])
            guard changed == 1 else { throw AppError.notFound("no product \(input.id) in store \(store.id)") }
            try unindex(store: store.id, product: input.id, context)
            return Removed(removed: true)
        }
        routes.method("products.list") { (input: StoreQuery, context) -> StoreProducts in
            let store = try Stores.load(input.storeId, context)
            return StoreProducts(storeId: store.id, products: try products(store.id, context))
        }
        routes.method("stock.set") { (input: StockSet, context) -> Product in
            let store = try Stores.managed(input.storeId, context)
            let product = try load(store.id, input.productId, context)
            let stock: SQLValue
            switch (input.stock, input.unlimited) {
            case (let n?, nil), (let n?, false?):
                guard n >= 0, n <= 1_000_000 else { throw AppError.badRequest("stock must be 0 to 1,000,000", code: "invalid_field") }
                guard n >= product.held else { throw AppError.conflict("quotes hold \(product.held) units; stock cannot go below that", code: "below_held") }
                stock = SQLValue(n)
            case (nil, true?): stock = .null
            default: throw AppError.badRequest("give stock (units) or unlimited: true", code: "invalid_field")
            }
            try context.sql.exec("UPDATE products SET stock = ?, updated_ms = ? WHERE store_id = ? AND id = ?",
                                 [stock, .integer(context.nowMs), .text(store.id), .text(product.id)])
            return try load(store.id, product.id, context)
        }
        routes.method("stock.adjust") { (input: StockAdjust, context) -> Product in
            let store = try Stores.managed(input.storeId, context)
            let product = try load(store.id, input.productId, context)
            guard let stock = product.stock else { throw AppError.conflict("product \(product.id) has unlimited stock: set a count first", code: "unlimited") }
            guard abs(input.delta) <= 1_000_000, input.delta != 0 else { throw AppError.badRequest("delta must be a non-zero count of at most 1,000,000 units", code: "invalid_field") }
            let next = stock + input.delta
            guard next >= 0, next <= 1_000_000 else { throw AppError.conflict("stock would be \(next); it must stay 0 to 1,000,000", code: "out_of_range") }
            guard next >= product.held else { throw AppError.conflict("quotes hold \(product.held) units; stock cannot go below that", code: "below_held") }
            try context.sql.exec("UPDATE products SET stock = ?, updated_ms = ? WHERE store_id = ? AND id = ?",
                                 [SQLValue(next), .integer(context.nowMs), .text(store.id), .text(product.id)])
            return try load(store.id, product.id, context)
        }
    }

    static func check(_ input: ProductInput) throws(AppError) {
        if let id = input.id {
            guard (1...64).contains(id.utf8.count), id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }) else {
                throw AppError.badRequest("id must be 1 to 64 of a-z, 0-9, '-' and '_'", code: "invalid_field")
            }
        }
        try Validate.text(input.title, "title", max: 200)
        try Validate.text(input.description, "description", max: 4000, allowEmpty: true)
        try Validate.text(input.unit, "unit", max: 40)
        try Validate.amount(input.price, "price")
        if let n = input.stock, !(0...1_000_000).contains(n) { throw AppError.badRequest("stock must be 0 to 1,000,000", code: "invalid_field") }
        let tags = input.tags ?? []
        guard tags.count <= 20 else { throw AppError.badRequest("tags has more than 20 entries", code: "invalid_field") }
        for (i, tag) in tags.enumerated() { try Validate.slug(tag, "tags[\(i)]", example: "gluten-free") }
        let allergens = input.attributes?.allergens ?? []
        guard allergens.count <= 20 else { throw AppError.badRequest("attributes.allergens has more than 20 entries", code: "invalid_field") }
        for (i, a) in allergens.enumerated() { try Validate.slug(a, "attributes.allergens[\(i)]", example: "gluten") }
        switch (input.availableFrom, input.availableUntil) {
        case (nil, nil): break
        case (let a?, let b?):
            let from = try LocalTime.parseTime(a, "available_from"), until = try LocalTime.parseTime(b, "available_until")
            guard from < until else { throw AppError.badRequest("available_until (\(b)) must be after available_from (\(a))", code: "invalid_field") }
        default: throw AppError.badRequest("available_from and available_until go together", code: "invalid_field")
        }
        if let sellBy = input.sellByMs, sellBy <= 0 { throw AppError.badRequest("sell_by_ms must be an instant in milliseconds", code: "invalid_field") }
    }

    /// The product; 404 if there is none (or it was removed).
    static func load(_ storeID: String, _ id: String, _ context: Context) throws -> Product {
        guard let r = try context.sql.first("""
            SELECT \(columns) FROM products p JOIN spaces s ON s.id = p.store_id WHERE p.store_id = ? AND p.id = ? AND p.removed = 0
            """, [.text(storeID), .text(id)]) else { throw AppError.notFound("no product \(id) in store \(storeID)") }
        return product(storeID, r)
    }

    /// A store's products (at most 1,000, by title).
    static func products(_ storeID: String, _ context: Context) throws -> [Product] {
        try context.sql.query("""
            SELECT \(columns) FROM products p JOIN spaces s ON s.id = p.store_id WHERE p.store_id = ? AND p.removed = 0
            ORDER BY p.title, p.id LIMIT 1000
            """, [.text(storeID)]).map { product(storeID, $0) }
    }

    /// What a quote needs of a product on sale (its tags and attributes are not decoded).
    struct ForSale {
        var id: String
        var title: String
        var unit: String
        var price: Int
        var available: Int?
        var availableFrom: String?
        var availableUntil: String?
        var sellByMs: Int64?
    }

    /// Product `id` of the store, for a quote; nil if there is none (or it was removed).
    static func forSale(_ storeID: String, _ id: String, _ context: Context) throws -> ForSale? {
        guard let r = try context.sql.first("""
            SELECT title, unit, price, stock - held, available_from, available_until, sell_by_ms FROM products
            WHERE store_id = ? AND id = ? AND removed = 0
            """, [.text(storeID), .text(id)]) else { return nil }
        return ForSale(id: id, title: r.text(0) ?? "", unit: r.text(1) ?? "", price: r.int(2) ?? 0, available: r.int(3),
                       availableFrom: r.int(4).map(clock), availableUntil: r.int(5).map(clock), sellByMs: r.int(6).map(Int64.init))
    }

    private static let columns = """
        p.title, p.description, p.unit, p.price, s.currency, p.tags, p.attributes, p.stock, p.held, p.available_from,
        p.available_until, p.sell_by_ms, p.updated_ms, p.id
        """

    private static func product(_ storeID: String, _ r: Row) -> Product {
        let stock = r.int(7), held = r.int(8) ?? 0
        return Product(storeId: storeID, id: r.text(13) ?? "", title: r.text(0) ?? "", description: r.text(1) ?? "", unit: r.text(2) ?? "",
                       price: r.int(3) ?? 0, currency: r.text(4) ?? "",
                       tags: (try? JSONDecoder().decode([String].self, from: Data((r.text(5) ?? "[]").utf8))) ?? [],
                       attributes: (try? JSONDecoder().decode(Attributes.self, from: Data((r.text(6) ?? "{}").utf8))) ?? Attributes(),
                       stock: stock, held: held, available: stock.map { $0 - held }, availableFrom: r.int(9).map(clock),
                       availableUntil: r.int(10).map(clock), sellByMs: r.int(11).map(Int64.init), updatedMs: Int64(r.int(12) ?? 0))
    }

    /// Minutes after midnight as "HH:MM".
    static func clock(_ minutes: Int) -> String {
        let h = minutes / 60, m = minutes % 60
        return (h < 10 ? "0" : "") + String(h) + ":" + (m < 10 ? "0" : "") + String(m)
    }

    /// Keeps one product's search row current.
    static func index(store: Store, product id: String, _ context: Context) throws {
        try unindex(store: store.id, product: id, context)
        let added = try context.sql.exec("""
            INSERT INTO products_fts(store_id, product_id, title, description, tags, store)
            SELECT store_id, id, title, description, tags, ? FROM products WHERE store_id = ? AND id = ? AND removed = 0
            """, [.text(store.name + " " + store.kind + " " + store.location.city), .text(store.id), .text(id)])
        if added == 1 {
            try context.sql.exec("UPDATE products SET fts_rowid = last_insert_rowid() WHERE store_id = ? AND id = ?", [.text(store.id), .text(id)])
        }
    }

    /// Drops one product's search row, found by the rowid the product keeps.
    static func unindex(store: String, product id: String, _ context: Context) throws {
        try context.sql.exec("""
            DELETE FROM products_fts WHERE rowid = (SELECT fts_rowid FROM products WHERE store_id = ? AND id = ?)
            """, [.text(store), .text(id)])
    }

    /// Rebuilds the search rows of a store's products (its name, kind or city changed).
    static func reindex(store id: String, _ context: Context) throws {
        let store = try Stores.load(id, context)
        for row in try context.sql.query("SELECT id FROM products WHERE store_id = ? AND removed = 0", [.text(id)]) {
            try index(store: store, product: row.text(0) ?? "", context)
        }
    }
}
