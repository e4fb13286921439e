import FoundationEssentials
import SynAppKit
import SynSpaces

/// What an order is about: a booked slot (or, later, an accepted quote), its price and policy.
struct OrderData: Codable, Sendable {
    var spaceId: String
    var itemId: String
    var kind: String
    var startMs: Int64?
    var endMs: Int64?
    var price: Price
    var cancellation: CancellationPolicy
    var note: String?
    var requestExpiryMinutes: Int
}

struct BookingRequest: Codable, Sendable {
    var spaceId: String
    var itemId: String
    var startMs: Int64
    var note: String?
}

struct OrderRef: Codable, Sendable { var orderId: String }

struct OrderTransition: Codable, Sendable {
    var orderId: String
    var transition: String
}

struct OrdersQuery: Codable, Sendable {
    /// "consumer" or "provider".
    var role: String
}

struct OrderView: Codable, Sendable {
    var id: String
    var state: String
    var consumer: String?
    var spaceId: String
    var itemId: String
    var kind: String
    var startMs: Int64?
    var endMs: Int64?
    var price: Price
    var cancellation: CancellationPolicy
    var note: String?
    var history: [WorkflowStep]
}

struct CancelPreview: Codable, Sendable {
    var orderId: String
    var fee: Price
    var freeUntilMs: Int64?
    var reason: String
}

/// Orders: requested → confirmed → in_progress → completed, or declined, cancelled or expired.
enum Orders {
    static let active: Set<String> = ["requested", "confirmed", "in_progress"]

    static let workflow = Workflow("order", initial: "requested", transitions: [
        .init("confirm", from: ["requested"], to: "confirmed", by: .provider),
        .init("decline", from: ["requested"], to: "declined", by: .provider),
        .init("start", from: ["confirmed"], to: "in_progress", by: .provider),
        .init("complete", from: ["in_progress"], to: "completed", by: .provider),
        .init("cancel", from: ["requested", "confirmed"], to: "cancelled", by: .party),
        .init("expire", from: ["requested"], to: "expired", by: .system, delay: { instance in
            let data = try? JSONDecoder().decode(OrderData.self, from: Data(instance.data))
            return .minutes(UInt64(data?.requestExpiryMinutes ?? 60))
        }),
    ], onTransition: { instance, transition, context in
        // A slot is free again once its order can no longer happen.
        if !active.contains(instance.state) && instance.state != "completed" {
            try context.sql.exec("UPDATE bookings SET active = 0 WHERE order_id = ?", [.text(instance.id)])
        }
        if instance.state == "completed" {
            let data = try JSONDecoder().decode(OrderData.self, from: Data(instance.data))
            try Reviews.completed(instance, data.spaceId, context)
        }
    })

    static func register(_ routes: inout Routes) {
        routes.method("bookings.request") { (input: BookingRequest, context) -> Reply<OrderView> in
            let consumer = try context.requireCaller()
            let space = try Spaces.load(input.spaceId, context)
            guard let item = try Catalog.items(space, context, id: input.itemId).first else {
                throw AppError.notFound("no catalog item \(input.itemId) in Space \(space.id)")
            }
            guard item.kind == "slot" else { throw AppError.badRequest("item \(item.id) is a job: ask for a quote with jobs.request", code: "not_bookable") }
            if let note = input.note { try Validate.text(note, "note", max: 2000, allowEmpty: true) }
            guard input.startMs > context.nowMs else { throw AppError.badRequest("start_ms is in the past", code: "slot_in_past") }
            let end = input.startMs + Int64(item.durationMinutes) * 60_000
            let clash = try context.sql.first("""
                SELECT order_id FROM bookings WHERE space_id = ? AND active = 1 AND start_ms < ? AND end_ms > ?
                """, [.text(space.id), .integer(end), .integer(input.startMs)])
            if clash != nil { throw AppError.conflict("that slot is already taken", code: "slot_taken") }
            // Within the rules: one of the free slots of that local day (buffer, notice and horizon included).
            let zone = try ZoneRules.named(space.timeZone)
            let day = Availability.localDay(input.startMs, zone)
            let free = try Availability.free(space: space, item: item, zone: zone, fromDay: day, days: 1, context: context)
            guard free.contains(where: { $0.startMs == input.startMs }) else {
                throw AppError.conflict("no free slot of \(item.id) starts then (see slots.list)", code: "slot_unavailable")
            }
            let rules = try Availability.rules(space.id, context)
            let id = context.newID()
            guard let provider = CallerKey(space.managers.first ?? "") else { throw AppError(status: 500, code: "internal", "the Space has no manager") }
            let data = OrderData(spaceId: space.id, itemId: item.id, kind: "booking", startMs: input.startMs, endMs: end, price: item.price,
                                 cancellation: item.cancellation, note: input.note, requestExpiryMinutes: rules?.requestExpiryMinutes ?? 60)
            try context.sql.exec("INSERT INTO bookings(order_id, space_id, item_id, start_ms, end_ms) VALUES (?, ?, ?, ?, ?)",
                                 [.text(id), .text(space.id), .text(item.id), .integer(input.startMs), .integer(end)])
            try context.workflow(workflow).create(id: id, consumer: consumer, provider: provider, data: data, by: consumer)
            try context.events.emit("homeservices.booking.requested", OrderRef(orderId: id))
            return Reply(status: 201, try view(id, context))
        }
        routes.method("orders.transition") { (input: OrderTransition, context) -> OrderView in
            let caller = try context.requireCaller()
            let (instance, data) = try load(input.orderId, context)
            let role = try role(of: caller, instance, data, context)
            try context.workflow(workflow).take(input.transition, on: instance.id, by: caller, acting: role)
            if data.kind == "booking" {
                try context.events.emit("homeservices.booking.\(input.transition)", OrderRef(orderId: instance.id))
            }
            return try view(instance.id, context)
        }
        // For apps only (granted by the node owner: `calls = ["homeservices:orders.parties"]`): who an order is between.
        routes.method("orders.parties") { (input: OrderRef, context) -> OrderParties in
            try OrderParties.requireApp(context)
            let (instance, data) = try load(input.orderId, context)
            return OrderParties(orderId: instance.id, title: "HomeServices order \(instance.id)", customer: instance.consumer?.id ?? "",
                                managers: try SpaceManagers.list(data.spaceId, context), state: instance.state,
                                amount: data.price.amount, currency: data.price.currency)
        }
        routes.method("orders.get") { (input: OrderRef, context) -> OrderView in
            let caller = try context.requireCaller()
            let (instance, data) = try load(input.orderId, context)
            _ = try role(of: caller, instance, data, context)
            return try view(instance.id, context)
        }
        routes.method("orders.list") { (query: OrdersQuery, context) -> [OrderView] in
            let caller = try context.requireCaller()
            let ids: [String]
            switch query.role {
            case "consumer":
                ids = try context.sql.query("SELECT id FROM syn_workflow WHERE workflow = 'order' AND consumer = ? ORDER BY updated_ms DESC LIMIT 500",
                                            [.text(caller.id)]).compactMap { $0.text(0) }
            case "provider":
                ids = try context.sql.query("""
                    SELECT b.order_id FROM bookings b JOIN space_managers m ON m.space_id = b.space_id WHERE m.manager = ?1
                    UNION SELECT q.order_id FROM quotes q JOIN jobs j ON j.id = q.job_id JOIN space_managers m ON m.space_id = j.space_id
                    WHERE m.manager = ?1 AND q.order_id IS NOT NULL LIMIT 500
                    """, [.text(caller.id)]).compactMap { $0.text(0) }
            default:
                throw AppError.badRequest("role must be consumer or provider", code: "invalid_field")
            }
            return try ids.map { try view($0, context) }
        }
        routes.method("orders.cancel_preview") { (input: OrderRef, context) -> CancelPreview in
            let caller = try context.requireCaller()
            let (instance, data) = try load(input.orderId, context)
            _ = try role(of: caller, instance, data, context)
            guard ["requested", "confirmed"].contains(instance.state) else {
                throw AppError.conflict("an order that is \(instance.state) cannot be cancelled", code: "invalid_state")
            }
            return preview(instance, data, now: context.nowMs)
        }
    }

    /// The fee the policy would charge now, with no change made.
    static func preview(_ instance: WorkflowInstance, _ data: OrderData, now: Int64) -> CancelPreview {
        guard let start = data.startMs else {
            return CancelPreview(orderId: instance.id, fee: Price(model: "fixed", amount: 0, currency: data.price.currency), freeUntilMs: nil,
                                 reason: "no appointment yet: cancelling is free")
        }
        let freeUntil = start - Int64(data.cancellation.freeUntilHours) * 3_600_000
        if now < freeUntil || instance.state == "requested" {
            return CancelPreview(orderId: instance.id, fee: Price(model: "fixed", amount: 0, currency: data.price.currency), freeUntilMs: freeUntil,
                                 reason: instance.state == "requested" ? "not confirmed yet: cancelling is free" : "free until \(data.cancellation.freeUntilHours) h before the start")
        }
        let base: Int
        switch data.price.model {
        case "hourly": base = (data.price.amount ?? 0) * Int(((data.endMs ?? start) - start) / 60_000) / 60
        default: base = data.price.amount ?? 0
        }
        return CancelPreview(orderId: instance.id, fee: Price(model: "fixed", amount: base * data.cancellation.feePercent / 100, currency: data.price.currency),
                             freeUntilMs: freeUntil, reason: "\(data.cancellation.feePercent)% fee: less than \(data.cancellation.freeUntilHours) h before the start")
    }

    static func load(_ id: String, _ context: Context) throws -> (WorkflowInstance, OrderData) {
        guard let instance = try context.workflow(workflow).get(id) else { throw AppError.notFound("no order \(id)") }
        return (instance, try context.workflow(workflow).data(instance, as: OrderData.self))
    }

    /// The caller's role on the order: its consumer, or a manager of its Space (the provider). 404 otherwise, so
    /// strangers learn nothing of other people's orders.
    static func role(of caller: CallerKey, _ instance: WorkflowInstance, _ data: OrderData, _ context: Context) throws -> Workflow.Role {
        if caller == instance.consumer { return .consumer }
        if try Spaces.isManager(caller, of: data.spaceId, context) { return .provider }
        throw AppError.notFound("no order \(instance.id)")
    }

    static func view(_ id: String, _ context: Context) throws -> OrderView {
        let (instance, data) = try load(id, context)
        return OrderView(id: id, state: instance.state, consumer: instance.consumer?.id, spaceId: data.spaceId, itemId: data.itemId,
                         kind: data.kind, startMs: data.startMs, endMs: data.endMs, price: data.price, cancellation: data.cancellation,
                         note: data.note, history: try context.workflow(workflow).history(id))
    }
}
