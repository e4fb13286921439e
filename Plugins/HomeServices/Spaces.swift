import FoundationEssentials
import SynAppKit
import SynSpaces

/// Spaces and their managers: the creator is the first manager, and only managers change a Space.
enum Spaces {
    static func register(_ routes: inout Routes) {
        routes.method("spaces.create") { (input: SpaceInput, context) -> Reply<Space> in
            let caller = try context.requireCaller()
            try check(input)
            let id = context.newID(), now = context.nowMs
            try context.sql.exec("""
                INSERT INTO spaces(id, name, trade, description, city, lat, lon, service_area_km, branding, terms, time_zone,
                                   cancel_free_hours, cancel_fee_percent, created_by, created_ms, updated_ms, review_window_days)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(id), .text(input.name), .text(input.trade), .text(input.description), .text(input.location.city),
                      .real(input.location.lat), .real(input.location.lon), .real(input.serviceAreaKm),
                      .text(try json(input.branding ?? Branding())), .text(input.terms), .text(input.timeZone),
                      SQLValue(input.cancellation.freeUntilHours), SQLValue(input.cancellation.feePercent),
                      .text(caller.id), .integer(now), .integer(now), SQLValue(input.reviewWindowDays ?? 14)])
            try SpaceManagers.first(id, caller, context)
            try Search.index(id, context)
            try context.events.emit("homeservices.space.created", SpaceRef(id: id))
            return Reply(status: 201, try load(id, context))
        }
        routes.method("spaces.update") { (input: SpaceUpdate, context) -> Space in
            let caller = try context.requireCaller()
            var space = try load(input.id, context)
            try requireManager(space, caller)
            if let v = input.name { space.name = v }
            if let v = input.trade { space.trade = v }
            if let v = input.description { space.description = v }
            if let v = input.location { space.location = v }
            if let v = input.serviceAreaKm { space.serviceAreaKm = v }
            if let v = input.branding { space.branding = v }
            if let v = input.terms { space.terms = v }
            if let v = input.cancellation { space.cancellation = v }
            if let v = input.timeZone { space.timeZone = v }
            if let v = input.reviewWindowDays { space.reviewWindowDays = v }
            try check(SpaceInput(name: space.name, trade: space.trade, description: space.description, location: space.location,
                                 serviceAreaKm: space.serviceAreaKm, branding: space.branding, terms: space.terms,
                                 cancellation: space.cancellation, timeZone: space.timeZone, reviewWindowDays: space.reviewWindowDays))
            try context.sql.exec("""
                UPDATE spaces SET name = ?, trade = ?, description = ?, city = ?, lat = ?, lon = ?, service_area_km = ?, branding = ?,
                                  terms = ?, time_zone = ?, cancel_free_hours = ?, cancel_fee_percent = ?, updated_ms = ?,
                                  review_window_days = ?
                WHERE id = ?
                """, [.text(space.name), .text(space.trade), .text(space.description), .text(space.location.city),
                      .real(space.location.lat), .real(space.location.lon), .real(space.serviceAreaKm), .text(try json(space.branding)),
                      .text(space.terms), .text(space.timeZone), SQLValue(space.cancellation.freeUntilHours),
                      SQLValue(space.cancellation.feePercent), .integer(context.nowMs), SQLValue(space.reviewWindowDays), .text(space.id)])
            try Search.index(space.id, context)
            try context.events.emit("homeservices.space.updated", SpaceRef(id: space.id))
            return try load(space.id, context)
        }
        routes.method("spaces.get") { (input: SpaceRef, context) -> Space in try load(input.id, context) }
        routes.method("spaces.managers.add") { (input: ManagerChange, context) -> Space in
            try SpaceManagers.add(input.manager, to: try load(input.spaceId, context).id, by: try context.requireCaller(), context)
            return try load(input.spaceId, context)
        }
        routes.method("spaces.managers.remove") { (input: ManagerChange, context) -> Space in
            try SpaceManagers.remove(input.manager, from: try load(input.spaceId, context).id, by: try context.requireCaller(), context)
            return try load(input.spaceId, context)
        }
    }

    static func check(_ input: SpaceInput) throws(AppError) {
        try Validate.text(input.name, "name", max: 120)
        try Validate.trade(input.trade)
        try Validate.text(input.description, "description", max: 4000, allowEmpty: true)
        try Validate.location(input.location)
        try Validate.serviceArea(input.serviceAreaKm)
        if let b = input.branding { try Validate.branding(b) }
        try Validate.text(input.terms, "terms", max: 20_000, allowEmpty: true)
        try Validate.cancellation(input.cancellation, "cancellation")
        try Validate.timeZone(input.timeZone)
        _ = try ZoneRules.named(input.timeZone)
        if let days = input.reviewWindowDays, !(1...90).contains(days) {
            throw AppError.badRequest("review_window_days must be 1 to 90", code: "invalid_field")
        }
    }

    /// The Space with its managers; 404 if there is none.
    static func load(_ id: String, _ context: Context) throws -> Space {
        guard let r = try context.sql.first("""
            SELECT name, trade, description, city, lat, lon, service_area_km, branding, terms, time_zone, cancel_free_hours,
                   cancel_fee_percent, created_ms, updated_ms, review_window_days FROM spaces WHERE id = ?
            """, [.text(id)]) else { throw AppError.notFound("no Space \(id)") }
        let managers = try SpaceManagers.list(id, context)
        let branding = (try? JSONDecoder().decode(Branding.self, from: Data((r.text(7) ?? "{}").utf8))) ?? Branding()
        return Space(id: id, name: r.text(0) ?? "", trade: r.text(1) ?? "", description: r.text(2) ?? "",
                     location: Location(city: r.text(3) ?? "", lat: r.double(4) ?? 0, lon: r.double(5) ?? 0),
                     serviceAreaKm: r.double(6) ?? 0, branding: branding, terms: r.text(8) ?? "",
                     cancellation: CancellationPolicy(freeUntilHours: r.int(10) ?? 0, feePercent: r.int(11) ?? 0),
                     timeZone: r.text(9) ?? "UTC", reviewWindowDays: r.int(14) ?? 14, managers: managers, createdMs: Int64(r.int(12) ?? 0), updatedMs: Int64(r.int(13) ?? 0))
    }

    /// Whether `key` manages Space `spaceID` (without loading the Space).
    static func isManager(_ key: CallerKey, of spaceID: String, _ context: Context) throws -> Bool {
        try SpaceManagers.isManager(key, of: spaceID, context)
    }

    static func requireManager(_ space: Space, _ caller: CallerKey) throws(AppError) {
        try SpaceManagers.require(caller, among: space.managers, of: space.id)
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }
}
