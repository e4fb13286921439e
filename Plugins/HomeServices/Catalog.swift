import SynAppKit
import SynSpaces

/// A Space's catalog of services: slot-booked or quoted jobs, with prices in minor units.
enum Catalog {
    static func register(_ routes: inout Routes) {
        routes.method("catalog.upsert") { (input: CatalogItemInput, context) -> CatalogItem in
            let caller = try context.requireCaller()
            let space = try Spaces.load(input.spaceId, context)
            try Spaces.requireManager(space, caller)
            try Validate.text(input.title, "title", max: 200)
            try Validate.text(input.description, "description", max: 4000, allowEmpty: true)
            guard ["slot", "job"].contains(input.kind) else { throw AppError.badRequest("kind must be slot or job", code: "invalid_field") }
            guard (5...24 * 60).contains(input.durationMinutes) else {
                throw AppError.badRequest("duration_minutes must be 5 to 1440", code: "invalid_field")
            }
            try Validate.price(input.price)
            // A slot is booked at its price; only a job is priced by a quote.
            guard input.kind == "job" || input.price.model != "quote" else {
                throw AppError.badRequest("price.model quote is only for job items (a slot is booked at a fixed or hourly price)", code: "invalid_field")
            }
            if let c = input.cancellation { try Validate.cancellation(c, "cancellation") }
            let id = input.id ?? context.newID()
            try Validate.text(id, "id", max: 64)
            try context.sql.exec("""
                INSERT INTO catalog(space_id, id, title, description, kind, duration_minutes, price_model, amount, currency,
                                    cancel_free_hours, cancel_fee_percent, updated_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(space_id, id) DO UPDATE SET title = excluded.title, description = excluded.description,
                    kind = excluded.kind, duration_minutes = excluded.duration_minutes, price_model = excluded.price_model,
                    amount = excluded.amount, currency = excluded.currency, cancel_free_hours = excluded.cancel_free_hours,
                    cancel_fee_percent = excluded.cancel_fee_percent, updated_ms = excluded.updated_ms
                """, [.text(space.id), .text(id), .text(input.title), .text(input.description), .text(input.kind),
                      SQLValue(input.durationMinutes), .text(input.price.model), input.price.amount.map { .integer(Int64($0)) } ?? .null,
                      .text(input.price.currency), input.cancellation.map { SQLValue($0.freeUntilHours) } ?? .null,
                      input.cancellation.map { SQLValue($0.feePercent) } ?? .null, .integer(context.nowMs)])
            try Search.index(space.id, context)
            guard let item = try items(space, context, id: id).first else { throw AppError(status: 500, code: "internal", "the item vanished") }
            return item
        }
        routes.method("catalog.remove") { (input: CatalogRef, context) -> Removed in
            let caller = try context.requireCaller()
            let space = try Spaces.load(input.spaceId, context)
            try Spaces.requireManager(space, caller)
            guard try context.sql.exec("DELETE FROM catalog WHERE space_id = ? AND id = ?", [.text(space.id), .text(input.id)]) == 1 else {
                throw AppError.notFound("no catalog item \(input.id) in Space \(space.id)")
            }
            try Search.index(space.id, context)
            return Removed(removed: true)
        }
        routes.method("catalog.list") { (input: SpaceRef, context) -> SpaceItems in
            let space = try Spaces.load(input.id, context)
            return SpaceItems(spaceId: space.id, items: try items(space, context, id: nil))
        }
    }

    /// The Space's items (or one), each with its effective cancellation policy.
    static func items(_ space: Space, _ context: Context, id: String?) throws -> [CatalogItem] {
        var sql = """
            SELECT id, title, description, kind, duration_minutes, price_model, amount, currency, cancel_free_hours,
                   cancel_fee_percent, updated_ms FROM catalog WHERE space_id = ?
            """
        var parameters: [SQLValue] = [.text(space.id)]
        if let id { sql += " AND id = ?"; parameters.append(.text(id)) }
        return try context.sql.query(sql + " ORDER BY title, id", parameters).map { r in
            CatalogItem(spaceId: space.id, id: r.text(0) ?? "", title: r.text(1) ?? "", description: r.text(2) ?? "", kind: r.text(3) ?? "",
                        durationMinutes: r.int(4) ?? 0, price: Price(model: r.text(5) ?? "", amount: r.int(6), currency: r.text(7) ?? ""),
                        cancellation: CancellationPolicy(freeUntilHours: r.int(8) ?? space.cancellation.freeUntilHours,
                                                         feePercent: r.int(9) ?? space.cancellation.feePercent),
                        updatedMs: Int64(r.int(10) ?? 0))
        }
    }
}
