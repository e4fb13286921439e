import FoundationEssentials
import SynAppKit
import SynSpaces

struct ItemRequest: Codable, Sendable, Equatable {
    var productId: String
    var quantity: Int
}

struct Point: Codable, Sendable, Equatable {
    var lat: Double
    var lon: Double
}

/// Pickup in a window (`from_ms`..`until_ms`, inside the store's pickup windows), or delivery to an address with a
/// point (and a postcode, for stores whose zones list postcodes).
struct Fulfilment: Codable, Sendable, Equatable {
    var type: String
    var fromMs: Int64?
    var untilMs: Int64?
    var address: String?
    var postcode: String?
    var point: Point?
}

struct QuoteInput: Codable, Sendable {
    var storeId: String
    var items: [ItemRequest]
    var fulfilment: Fulfilment
}

struct QuoteLine: Codable, Sendable, Equatable {
    var productId: String
    var title: String
    var unit: String
    var quantity: Int
    var unitPrice: Int
    var amount: Int
    /// Marked missing by the store after the order was placed: refunded, not charged.
    var missing: Bool?
}

/// What applies to an order made from this quote.
struct OrderPolicy: Codable, Sendable, Equatable {
    var freeCancellation: String
    var cancelFeePercent: Int
    var uncollected: String
    var acceptMinutes: Int
    var collectHours: Int
}

struct Quote: Codable, Sendable, Equatable {
    var id: String
    var storeId: String
    var customer: String
    var lines: [QuoteLine]
    var subtotal: Int
    var deliveryFee: Int
    var total: Int
    var currency: String
    var fulfilment: Fulfilment
    var zone: String?
    var policy: OrderPolicy
    var expiresMs: Int64
    var state: String
}

struct PlaceInput: Codable, Sendable {
    var quoteId: String
    /// cash_on_pickup, pay_on_delivery or prepaid_manual.
    var paymentMethod: String
}

/// Quotes hold stock for the store's `hold_minutes`; a timer releases what is still held then. `orders.place`
/// turns a live quote into an order, and the held units into sold ones.
enum Quotes {
    static let paymentMethods: Set<String> = ["cash_on_pickup", "pay_on_delivery", "prepaid_manual"]
    /// Live (held, unexpired) quotes one customer may have at one store.
    static let maxLiveQuotes = 5

    static func register(_ routes: inout Routes) {
        routes.method("orders.quote") { (input: QuoteInput, context) -> Reply<Quote> in
            let caller = try context.requireCaller()
            let store = try Stores.load(input.storeId, context, managers: false)
            let zone = try ZoneRules.named(store.timeZone)
            guard (1...50).contains(input.items.count) else { throw AppError.badRequest("items must list 1 to 50 products", code: "invalid_field") }
            guard Set(input.items.map(\.productId)).count == input.items.count else {
                throw AppError.badRequest("items names a product twice: give each once with its quantity", code: "invalid_field")
            }
            let now = context.nowMs
            // Holds are for buying, not for emptying a shelf: a few live quotes per customer and store.
            let live = try context.sql.first("SELECT count(*) FROM quotes WHERE store_id = ? AND customer = ? AND state = 'held' AND expires_ms > ?",
                                             [.text(store.id), .text(caller.id), .integer(now)])?.int(0) ?? 0
            guard live < Self.maxLiveQuotes else {
                throw AppError.conflict("you hold \(live) live quotes at this store: place or let one lapse first", code: "too_many_quotes")
            }
            var lines: [QuoteLine] = []
            for (i, item) in input.items.enumerated() {
                guard (1...1000).contains(item.quantity) else { throw AppError.badRequest("items[\(i)].quantity must be 1 to 1000", code: "invalid_field") }
                guard let product = try Products.forSale(store.id, item.productId, context) else {
                    throw AppError.badRequest("items[\(i)].product_id: no product \(item.productId) in store \(store.id)", code: "unknown_product")
                }
                if let sellBy = product.sellByMs, sellBy <= now {
                    throw AppError.conflict("\(product.title) is past its sell-by time", code: "past_sell_by")
                }
                if let from = product.availableFrom, let until = product.availableUntil {
                    let minute = LocalTime.weekMinute(now, zone).minute
                    let a = (try? LocalTime.parseTime(from, "")) ?? 0, b = (try? LocalTime.parseTime(until, "")) ?? 0
                    guard minute >= a && minute < b else {
                        throw AppError.conflict("\(product.title) sells from \(from) to \(until) (\(store.timeZone))", code: "not_selling_now")
                    }
                }
                let (amount, overflow) = product.price.multipliedReportingOverflow(by: item.quantity)
                guard !overflow, amount <= 100_000_000_00 else { throw AppError.badRequest("items[\(i)] costs too much for one order", code: "invalid_field") }
                lines.append(QuoteLine(productId: product.id, title: product.title, unit: product.unit, quantity: item.quantity,
                                       unitPrice: product.price, amount: amount, missing: nil))
            }
            let subtotal = lines.reduce(0) { $0 + $1.amount }
            let (fee, zoneName) = try fulfilment(input.fulfilment, store: store, zone: zone, subtotal: subtotal, now: now)
            let id = context.newID(), expires = now + Int64(store.holdMinutes) * 60_000
            let quote = Quote(id: id, storeId: store.id, customer: caller.id, lines: lines, subtotal: subtotal, deliveryFee: fee,
                              total: subtotal + fee, currency: store.currency, fulfilment: input.fulfilment, zone: zoneName,
                              policy: OrderPolicy(freeCancellation: "until the store accepts the order",
                                                  cancelFeePercent: store.policy.cancelFeePercent, uncollected: store.policy.uncollected,
                                                  acceptMinutes: store.acceptMinutes, collectHours: store.collectHours),
                              expiresMs: expires, state: "held")
            try context.sql.exec("INSERT INTO quotes(id, store_id, customer, body, state, expires_ms, created_ms) VALUES (?, ?, ?, ?, 'held', ?, ?)",
                                 [.text(id), .text(store.id), .text(caller.id), .text(try Stores.json(quote)), .integer(expires), .integer(now)])
            // The hold: each line takes its units from what no other live quote holds, or the quote fails whole.
            for (i, line) in lines.enumerated() {
                let taken = try context.sql.exec("""
                    UPDATE products SET held = held + ?1 WHERE store_id = ?2 AND id = ?3 AND removed = 0 AND (stock IS NULL OR stock - held >= ?1)
                    """, [SQLValue(line.quantity), .text(store.id), .text(line.productId)])
                guard taken == 1 else {
                    let left = try Products.forSale(store.id, line.productId, context)?.available ?? 0
                    throw AppError.conflict("items[\(i)]: only \(left) \(line.unit) of \(line.title) left", code: "out_of_stock")
                }
                try context.sql.exec("INSERT INTO holds(quote_id, store_id, product_id, quantity) VALUES (?, ?, ?, ?)",
                                     [.text(id), .text(store.id), .text(line.productId), SQLValue(line.quantity)])
            }
            try context.schedule.at(expires, holdKind, key: id, Empty())
            return Reply(status: 201, quote)
        }
        routes.method("orders.place") { (input: PlaceInput, context) -> Reply<OrderView> in
            let caller = try context.requireCaller()
            guard paymentMethods.contains(input.paymentMethod) else {
                throw AppError.badRequest("payment_method must be cash_on_pickup, pay_on_delivery or prepaid_manual", code: "invalid_field")
            }
            let quote = try load(input.quoteId, context)
            guard quote.customer == caller.id else { throw AppError.notFound("no quote \(input.quoteId)") }
            guard quote.state == "held" else { throw AppError.conflict("quote \(quote.id) is \(quote.state)", code: "quote_\(quote.state)") }
            guard quote.expiresMs > context.nowMs else {
                throw AppError.conflict("quote \(quote.id)'s hold expired; ask for a new quote", code: "quote_expired")
            }
            if input.paymentMethod == "cash_on_pickup" && quote.fulfilment.type != "pickup" {
                throw AppError.badRequest("payment_method cash_on_pickup needs a pickup; use pay_on_delivery or prepaid_manual", code: "invalid_field")
            }
            if input.paymentMethod == "pay_on_delivery" && quote.fulfilment.type != "delivery" {
                throw AppError.badRequest("payment_method pay_on_delivery needs a delivery; use cash_on_pickup or prepaid_manual", code: "invalid_field")
            }
            // Held units become sold ones.
            for hold in try context.sql.query("SELECT product_id, quantity FROM holds WHERE quote_id = ?", [.text(quote.id)]) {
                try context.sql.exec("""
                    UPDATE products SET held = held - ?1, stock = CASE WHEN stock IS NULL THEN NULL ELSE stock - ?1 END
                    WHERE store_id = ?2 AND id = ?3
                    """, [hold[1], .text(quote.storeId), hold[0]])
            }
            try context.sql.exec("DELETE FROM holds WHERE quote_id = ?", [.text(quote.id)])
            try context.sql.exec("UPDATE quotes SET state = 'placed' WHERE id = ?", [.text(quote.id)])
            try context.schedule.cancel(holdKind, key: quote.id)
            let view = try Orders.create(from: quote, payment: input.paymentMethod, by: caller, context)
            return Reply(status: 201, view)
        }
        routes.method("quotes.get") { (input: QuoteRef, context) -> Quote in
            let caller = try context.requireCaller()
            let quote = try load(input.quoteId, context)
            guard quote.customer == caller.id else { throw AppError.notFound("no quote \(input.quoteId)") }
            return quote
        }
    }

    /// The fee and zone of a fulfilment, after checking it against the store.
    static func fulfilment(_ f: Fulfilment, store: Store, zone: ZoneRules, subtotal: Int, now: Int64) throws -> (Int, String?) {
        switch f.type {
        case "pickup":
            guard let from = f.fromMs, let until = f.untilMs else {
                throw AppError.badRequest("fulfilment.from_ms and fulfilment.until_ms name the pickup window", code: "invalid_field")
            }
            guard from < until else { throw AppError.badRequest("fulfilment.until_ms is before fulfilment.from_ms", code: "invalid_field") }
            guard from >= now - 60_000, until <= now + 7 * 86_400_000, until - from <= 4 * 3_600_000 else {
                throw AppError.badRequest("fulfilment: a pickup window starts now or later, lasts at most 4 hours and ends within 7 days", code: "invalid_field")
            }
            guard LocalTime.within(store.pickupWindows, max(from, now), zone), LocalTime.within(store.pickupWindows, until - 60_000, zone) else {
                throw AppError.badRequest("fulfilment: the window is outside the store's pickup windows (stores.get shows them)", code: "outside_pickup_windows")
            }
            return (0, nil)
        case "delivery":
            guard let address = f.address, let point = f.point else {
                throw AppError.badRequest("fulfilment.address and fulfilment.point are needed for a delivery", code: "invalid_field")
            }
            try Validate.text(address, "fulfilment.address", max: 300)
            try Validate.point(lat: point.lat, lon: point.lon, "fulfilment.point")
            if let code = f.postcode { try Stores.postcode(code, "fulfilment.postcode") }
            let distance = SearchScore.km(fromLat: store.location.lat, lon: store.location.lon, toLat: point.lat, lon: point.lon)
            let inside = store.deliveryZones.filter { z in
                if let km = z.radiusKm { return distance <= km }
                guard let code = f.postcode?.uppercased() else { return false }
                return (z.postcodes ?? []).contains { $0.uppercased() == code }
            }
            guard let best = inside.min(by: { $0.fee < $1.fee }) else {
                throw AppError.badRequest("fulfilment.point is outside every delivery zone of the store (\((distance * 10).rounded() / 10) km away)", code: "outside_delivery_zones")
            }
            guard subtotal >= best.minOrder else {
                throw AppError.badRequest("items: delivery to zone \(best.name) needs an order of at least \(best.minOrder) (minor units); this one is \(subtotal)", code: "below_min_order")
            }
            return (best.fee, best.name)
        default:
            throw AppError.badRequest("fulfilment.type must be pickup or delivery", code: "invalid_field")
        }
    }

    static func load(_ id: String, _ context: Context) throws -> Quote {
        guard let r = try context.sql.first("SELECT body, state, expires_ms FROM quotes WHERE id = ?", [.text(id)]) else {
            throw AppError.notFound("no quote \(id)")
        }
        // The columns, not the body, say where the quote stands.
        var quote = try JSONDecoder().decode(Quote.self, from: Data((r.text(0) ?? "{}").utf8))
        quote.state = r.text(1) ?? quote.state
        quote.expiresMs = Int64(r.int(2) ?? 0)
        return quote
    }

    /// Gives back what quote `id` still holds; true if it held anything.
    @discardableResult
    static func release(_ id: String, _ context: Context) throws -> Bool {
        let changed = try context.sql.exec("UPDATE quotes SET state = 'released' WHERE id = ? AND state = 'held'", [.text(id)])
        guard changed == 1 else { return false }
        for hold in try context.sql.query("SELECT store_id, product_id, quantity FROM holds WHERE quote_id = ?", [.text(id)]) {
            try context.sql.exec("UPDATE products SET held = held - ? WHERE store_id = ? AND id = ?", [hold[2], hold[0], hold[1]])
        }
        try context.sql.exec("DELETE FROM holds WHERE quote_id = ?", [.text(id)])
        return true
    }

    /// Due work: a quote's hold ending, and a product's sell-by time.
    static let holdKind = "foodmesh.hold", sellByKind = "foodmesh.sell_by"

    /// The hold's end: releases the quote unless it was placed.
    static func holdTimer(_ id: String, _ context: Context) throws {
        guard let r = try context.sql.first("SELECT expires_ms FROM quotes WHERE id = ? AND state = 'held'", [.text(id)]) else { return }
        let expires = Int64(r.int(0) ?? 0)
        if expires > context.nowMs { return try context.schedule.at(expires, holdKind, key: id, Empty()) }
        try release(id, context)
    }

    /// Past a product's sell-by time: every live quote holding it is released.
    static func sellByTimer(store: String, product: String, _ context: Context) throws {
        guard let r = try context.sql.first("SELECT sell_by_ms FROM products WHERE store_id = ? AND id = ?", [.text(store), .text(product)]),
              let sellBy = r.int(0).map(Int64.init) else { return }
        if sellBy > context.nowMs {
            return try context.schedule.at(sellBy, sellByKind, key: store + "/" + product, ProductRef(storeId: store, id: product))
        }
        for row in try context.sql.query("""
            SELECT h.quote_id FROM holds h JOIN quotes q ON q.id = h.quote_id WHERE h.store_id = ? AND h.product_id = ? AND q.state = 'held'
            """, [.text(store), .text(product)]) {
            try release(row.text(0) ?? "", context)
        }
    }
}

struct QuoteRef: Codable, Sendable { var quoteId: String }


