import FoundationEssentials
import SynAppKit
import SynSpaces

/// Stores: Spaces with a kind, hours, pickup windows, delivery zones and policies; the creator is the first manager.
enum Stores {
    static let kinds: Set<String> = ["restaurant", "bakery", "grocer", "cafe", "butcher", "greengrocer", "deli", "caterer", "courier"]

    static func register(_ routes: inout Routes) {
        routes.method("stores.create") { (input: StoreInput, context) -> Reply<Store> in
            let caller = try context.requireCaller()
            let settings = try check(input)
            let id = context.newID(), now = context.nowMs
            try context.sql.exec("""
                INSERT INTO spaces(id, name, kind, description, city, lat, lon, time_zone, currency, terms, settings, created_by,
                                   created_ms, updated_ms, review_window_days)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(id), .text(input.name), .text(input.kind), .text(input.description), .text(input.location.city),
                      .real(input.location.lat), .real(input.location.lon), .text(input.timeZone), .text(input.currency),
                      .text(input.terms), .text(try json(settings)), .text(caller.id), .integer(now), .integer(now),
                      SQLValue(input.reviewWindowDays ?? 14)])
            try SpaceManagers.first(id, caller, context)
            try context.events.emit("foodmesh.store.created", SpaceRef(id: id))
            return Reply(status: 201, try load(id, context))
        }
        routes.method("stores.update") { (input: StoreUpdate, context) -> Store in
            let caller = try context.requireCaller()
            let store = try load(input.id, context)
            try SpaceManagers.require(caller, among: store.managers, of: store.id)
            let merged = StoreInput(
                name: input.name ?? store.name, kind: input.kind ?? store.kind, description: input.description ?? store.description,
                location: input.location ?? store.location, timeZone: input.timeZone ?? store.timeZone,
                currency: input.currency ?? store.currency, terms: input.terms ?? store.terms, hours: input.hours ?? store.hours,
                pickupWindows: input.pickupWindows ?? store.pickupWindows, deliveryZones: input.deliveryZones ?? store.deliveryZones,
                holdMinutes: input.holdMinutes ?? store.holdMinutes, acceptMinutes: input.acceptMinutes ?? store.acceptMinutes,
                collectHours: input.collectHours ?? store.collectHours, policy: input.policy ?? store.policy,
                reviewWindowDays: input.reviewWindowDays ?? store.reviewWindowDays, offerMinutes: input.offerMinutes ?? store.offerMinutes)
            let settings = try check(merged)
            if merged.currency != store.currency, try context.sql.first("SELECT 1 FROM quotes WHERE store_id = ? AND state = 'held'", [.text(store.id)]) != nil {
                throw AppError.conflict("the currency cannot change while quotes hold stock; try again when they are placed or released", code: "quotes_held")
            }
            try context.sql.exec("""
                UPDATE spaces SET name = ?, kind = ?, description = ?, city = ?, lat = ?, lon = ?, time_zone = ?, currency = ?, terms = ?,
                                  settings = ?, review_window_days = ?, updated_ms = ? WHERE id = ?
                """, [.text(merged.name), .text(merged.kind), .text(merged.description), .text(merged.location.city),
                      .real(merged.location.lat), .real(merged.location.lon), .text(merged.timeZone), .text(merged.currency),
                      .text(merged.terms), .text(try json(settings)), SQLValue(merged.reviewWindowDays ?? 14), .integer(context.nowMs),
                      .text(store.id)])
            try Products.reindex(store: store.id, context)
            try context.events.emit("foodmesh.store.updated", SpaceRef(id: store.id))
            return try load(store.id, context)
        }
        routes.method("stores.get") { (input: SpaceRef, context) -> Store in try load(input.id, context) }
        routes.method("stores.managers.add") { (input: ManagerChange, context) -> Store in
            try SpaceManagers.add(input.manager, to: try load(input.spaceId, context).id, by: try context.requireCaller(), context)
            return try load(input.spaceId, context)
        }
        routes.method("stores.managers.remove") { (input: ManagerChange, context) -> Store in
            try SpaceManagers.remove(input.manager, from: try load(input.spaceId, context).id, by: try context.requireCaller(), context)
            return try load(input.spaceId, context)
        }
    }

    /// Checks a store's fields; returns its settings with the defaults filled in.
    static func check(_ input: StoreInput) throws(AppError) -> StoreSettings {
        try Validate.text(input.name, "name", max: 120)
        guard kinds.contains(input.kind) else {
            throw AppError.badRequest("kind must be one of \(kinds.sorted().joined(separator: ", "))", code: "invalid_field")
        }
        try Validate.text(input.description, "description", max: 4000, allowEmpty: true)
        try Validate.location(input.location)
        try Validate.timeZone(input.timeZone)
        do { _ = try ZoneRules.named(input.timeZone) } catch { throw AppError(status: 400, code: error.code, "time_zone: \(error.message)") }
        try Validate.currency(input.currency, "currency")
        try Validate.text(input.terms, "terms", max: 20_000, allowEmpty: true)
        try LocalTime.checkWeek(input.hours, "hours")
        if let windows = input.pickupWindows { try LocalTime.checkWeek(windows, "pickup_windows") }
        let zones = input.deliveryZones ?? []
        guard zones.count <= 20 else { throw AppError.badRequest("delivery_zones has more than 20 zones", code: "invalid_field") }
        for (i, z) in zones.enumerated() {
            let field = "delivery_zones[\(i)]"
            try Validate.text(z.name, field + ".name", max: 80)
            switch (z.radiusKm, z.postcodes) {
            case (let km?, nil): try Validate.km(km, field + ".radius_km")
            case (nil, let codes?):
                guard (1...500).contains(codes.count) else { throw AppError.badRequest("\(field).postcodes must list 1 to 500 postcodes", code: "invalid_field") }
                for (k, code) in codes.enumerated() { try postcode(code, "\(field).postcodes[\(k)]") }
            default: throw AppError.badRequest("\(field) needs radius_km or postcodes (one of them)", code: "invalid_field")
            }
            try Validate.amount(z.fee, field + ".fee")
            try Validate.amount(z.minOrder, field + ".min_order")
        }
        for (value, name, range) in [(input.holdMinutes, "hold_minutes", 1...120), (input.acceptMinutes, "accept_minutes", 1...1440),
                                     (input.collectHours, "collect_hours", 1...168), (input.reviewWindowDays, "review_window_days", 1...90),
                                     (input.offerMinutes, "offer_minutes", 1...120)] {
            if let value, !range.contains(value) { throw AppError.badRequest("\(name) must be \(range.lowerBound) to \(range.upperBound)", code: "invalid_field") }
        }
        let policy = input.policy ?? StorePolicy(cancelFeePercent: 0, uncollected: "charge")
        guard (0...100).contains(policy.cancelFeePercent) else { throw AppError.badRequest("policy.cancel_fee_percent must be 0 to 100", code: "invalid_field") }
        guard ["charge", "refund"].contains(policy.uncollected) else { throw AppError.badRequest("policy.uncollected must be charge or refund", code: "invalid_field") }
        return StoreSettings(hours: input.hours, pickupWindows: input.pickupWindows ?? input.hours, deliveryZones: zones,
                             holdMinutes: input.holdMinutes ?? 15, acceptMinutes: input.acceptMinutes ?? 30,
                             collectHours: input.collectHours ?? 24, policy: policy, offerMinutes: input.offerMinutes ?? 10)
    }

    /// A postcode: 2 to 12 letters, digits, spaces or '-'.
    static func postcode(_ code: String, _ field: String) throws(AppError) {
        let ok = (2...12).contains(code.utf8.count) && code.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x20 || $0 == 0x2D
        }
        guard ok else { throw AppError.badRequest("\(field) must be a postcode of 2 to 12 letters, digits, spaces or '-'", code: "invalid_field") }
    }

    /// The store with its managers; 404 if there is none.
    /// `managers: false` leaves `managers` empty, for callers that do not look at them.
    static func load(_ id: String, _ context: Context, managers: Bool = true) throws -> Store {
        guard let r = try context.sql.first("""
            SELECT name, kind, description, city, lat, lon, time_zone, currency, terms, settings, created_ms, updated_ms,
                   review_window_days FROM spaces WHERE id = ?
            """, [.text(id)]) else { throw AppError.notFound("no store \(id)") }
        let s = try settingsCache.decode(r.text(9) ?? "{}")
        let zone = r.text(6) ?? "UTC"
        let open = (try? ZoneRules.named(zone)).map { LocalTime.within(s.hours, context.nowMs, $0) } ?? false
        return Store(id: id, name: r.text(0) ?? "", kind: r.text(1) ?? "", description: r.text(2) ?? "",
                     location: Location(city: r.text(3) ?? "", lat: r.double(4) ?? 0, lon: r.double(5) ?? 0), timeZone: zone,
                     currency: r.text(7) ?? "", terms: r.text(8) ?? "", hours: s.hours, pickupWindows: s.pickupWindows,
                     deliveryZones: s.deliveryZones, holdMinutes: s.holdMinutes, acceptMinutes: s.acceptMinutes,
                     collectHours: s.collectHours, policy: s.policy, reviewWindowDays: r.int(12) ?? 14, offerMinutes: s.offerMinutes ?? 10,
                     managers: managers ? try SpaceManagers.list(id, context) : [], openNow: open,
                     createdMs: Int64(r.int(10) ?? 0), updatedMs: Int64(r.int(11) ?? 0))
    }

    /// Stores' settings as decoded lately, by their JSON text: every quote reads its store's.
    static let settingsCache = DecodeCache<StoreSettings>(limit: 256)

    /// 403 unless the caller manages store `id`; returns the store.
    static func managed(_ id: String, _ context: Context) throws -> Store {
        let caller = try context.requireCaller()
        let store = try load(id, context)
        try SpaceManagers.require(caller, among: store.managers, of: store.id)
        return store
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }
}
