import FoundationEssentials
import SynAppKit
import SynSpaces

/// What an order carries: its quote's lines and totals, how it is fulfilled and paid, and why it was rejected.
struct OrderData: Codable, Sendable {
    var storeId: String
    var quoteId: String
    var lines: [QuoteLine]
    var subtotal: Int
    var deliveryFee: Int
    var total: Int
    var currency: String
    var fulfilment: Fulfilment
    var zone: String?
    var policy: OrderPolicy
    var paymentMethod: String
    var rejectReason: String?
    var rejectNote: String?
}

struct OrderView: Codable, Sendable {
    var id: String
    var state: String
    var customer: String?
    var storeId: String
    var lines: [QuoteLine]
    var subtotal: Int
    var deliveryFee: Int
    /// What the customer owes for what the order still holds (missing lines are not charged).
    var total: Int
    var currency: String
    var fulfilment: Fulfilment
    var zone: String?
    var policy: OrderPolicy
    var paymentMethod: String
    var payments: Payments.Summary
    var rejectReason: String?
    /// The latest delivery offer, when a courier on another node delivers it.
    var delivery: DeliveryView?
    var history: [WorkflowStep]
    /// The transitions the caller may take now.
    var allowed: [String]
}

struct OrderRef: Codable, Sendable { var orderId: String }

struct OrderTransition: Codable, Sendable {
    var orderId: String
    var transition: String
}

struct RejectInput: Codable, Sendable {
    var orderId: String
    /// out_of_stock, closed, too_busy, cannot_deliver or other.
    var reasonId: String
    var note: String?
}

struct MissingInput: Codable, Sendable {
    var orderId: String
    var productId: String
}

struct OrdersQuery: Codable, Sendable {
    /// "customer" (the caller's orders) or "store" (a store the caller manages: `store_id`).
    var role: String
    var storeId: String?
    var state: String?
}

struct OrderList: Codable, Sendable { var orders: [OrderView] }

struct CancelPreview: Codable, Sendable {
    var orderId: String
    var state: String
    var fee: Int
    var refund: Int
    var currency: String
    var reason: String
}

/// Orders: placed → accepted → preparing → ready → picked_up, or → out_for_delivery → delivered, then completed;
/// rejected by the store with a reason, cancelled by the customer (free before acceptance, by policy after),
/// expired when the store does not accept in time, uncollected when a ready pickup waits past the policy.
enum Orders {
    static let rejectReasons: Set<String> = ["out_of_stock", "closed", "too_busy", "cannot_deliver", "other"]
    /// States in which the order's goods are still promised (a cancellation returns them to stock).
    static let open: Set<String> = ["placed", "accepted", "preparing"]

    static let workflow = Workflow("order", initial: "placed", transitions: [
        .init("accept", from: ["placed"], to: "accepted", by: .provider),
        .init("reject", from: ["placed"], to: "rejected", by: .provider, guard: { instance, _ in
            guard (try? decode(instance))?.rejectReason != nil else {
                throw AppError.badRequest("reject with orders.reject and a reason_id", code: "reason_required")
            }
        }),
        .init("cancel", from: ["placed", "accepted", "preparing"], to: "cancelled", by: .consumer, guard: { instance, context in
            // Goods a courier has picked up are on their way: they cannot go back on the shelf.
            if try Deliveries.current(instance.id, context)?.state == "picked_up" {
                throw AppError.conflict("a courier has picked this order up; it can no longer be cancelled", code: "with_courier")
            }
        }),
        .init("expire", from: ["placed"], to: "expired", by: .system, delay: { instance in
            .minutes(UInt64((try? decode(instance))?.policy.acceptMinutes ?? 30))
        }),
        .init("prepare", from: ["accepted"], to: "preparing", by: .provider, guard: { instance, context in
            let data = try decode(instance)
            // Open Food Network's rule for prepaid orders: nothing is prepared before it is paid.
            if data.paymentMethod == "prepaid_manual", try Payments.summary(instance.id, context).captured < Payments.due(instance.id, data, context) {
                throw AppError.conflict("a prepaid order is prepared once paid: record the payment with payments.record", code: "not_paid")
            }
        }),
        .init("ready", from: ["preparing"], to: "ready", by: .provider),
        .init("pick_up", from: ["ready"], to: "picked_up", by: .provider, guard: { instance, _ in
            guard try decode(instance).fulfilment.type == "pickup" else {
                throw AppError.conflict("this order is delivered: dispatch it", code: "not_pickup")
            }
        }),
        .init("dispatch", from: ["ready"], to: "out_for_delivery", by: .provider, guard: { instance, _ in
            guard try decode(instance).fulfilment.type == "delivery" else {
                throw AppError.conflict("this order is collected: pick_up it", code: "not_delivery")
            }
        }),
        .init("deliver", from: ["out_for_delivery"], to: "delivered", by: .provider),
        .init("complete", from: ["picked_up", "delivered"], to: "completed", by: .party),
        .init("close_uncollected", from: ["ready"], to: "uncollected", by: .system, delay: { instance in
            guard let data = try? decode(instance), data.fulfilment.type == "pickup" else { return nil }
            return .hours(UInt64(data.policy.collectHours))
        }),
    ], onTransition: { instance, transition, context in
        let data = try decode(instance)
        switch instance.state {
        case "cancelled", "rejected", "expired":
            try restock(instance.id, data, context)
            try Deliveries.orderEnded(instance.id, context)
            // Money taken is returned, less a fee when the customer cancels after the store accepted.
            let fee = transition == "cancel" ? try cancelFee(instance, data, context) : 0
            try Payments.refund(instance.id, keeping: fee, data, reason: transition, context)
        case "picked_up" where data.paymentMethod == "cash_on_pickup",
             "delivered" where data.paymentMethod == "pay_on_delivery":
            try Payments.capture(instance.id, data, context)
        case "uncollected":
            if data.policy.uncollected == "refund" { try Payments.refund(instance.id, keeping: 0, data, reason: "uncollected", context) }
        case "completed":
            try Reviews.book.completed(orderID: instance.id, spaceID: data.storeId, consumer: instance.consumer?.id ?? "", context)
        default: break
        }
    })

    static func decode(_ instance: WorkflowInstance) throws -> OrderData {
        try JSONDecoder().decode(OrderData.self, from: Data(instance.data))
    }

    static func register(_ routes: inout Routes) {
        // For apps only (granted by the node owner: `calls = ["foodmesh:orders.parties"]`): who an order is between.
        routes.method("orders.parties") { (input: OrderRef, context) -> OrderParties in
            try OrderParties.requireApp(context)
            let (instance, data) = try load(input.orderId, context)
            return OrderParties(orderId: instance.id, title: "FoodMesh order \(instance.id)", customer: instance.consumer?.id ?? "",
                                managers: try SpaceManagers.list(data.storeId, context), state: instance.state,
                                amount: data.total, currency: data.currency)
        }
        routes.method("orders.get") { (input: OrderRef, context) -> OrderView in
            let caller = try context.requireCaller()
            let (instance, data) = try load(input.orderId, context)
            _ = try role(of: caller, instance, data, context)
            return try view(instance, data, caller, context)
        }
        routes.method("orders.list") { (query: OrdersQuery, context) -> OrderList in
            let caller = try context.requireCaller()
            let rows: [Row]
            switch query.role {
            case "customer":
                rows = try context.sql.query("SELECT id FROM orders WHERE customer = ? ORDER BY created_ms DESC LIMIT 100", [.text(caller.id)])
            case "store":
                guard let storeID = query.storeId else { throw AppError.badRequest("store_id names the store whose orders to list", code: "invalid_field") }
                _ = try Stores.managed(storeID, context)
                rows = try context.sql.query("SELECT id FROM orders WHERE store_id = ? ORDER BY created_ms DESC LIMIT 100", [.text(storeID)])
            default: throw AppError.badRequest("role must be customer or store", code: "invalid_field")
            }
            var out: [OrderView] = []
            for r in rows {
                let (instance, data) = try load(r.text(0) ?? "", context)
                if let state = query.state, instance.state != state { continue }
                out.append(try view(instance, data, caller, context))
            }
            return OrderList(orders: out)
        }
        routes.method("orders.transition") { (input: OrderTransition, context) -> OrderView in
            let caller = try context.requireCaller()
            let (instance, data) = try load(input.orderId, context)
            let role = try role(of: caller, instance, data, context)
            let store = context.workflow(workflow)
            let next = role == .provider ? try store.take(input.transition, on: instance.id, by: caller, acting: .provider)
                                         : try store.take(input.transition, on: instance.id, by: caller)
            return try view(next, try decode(next), caller, context)
        }
        routes.method("orders.reject") { (input: RejectInput, context) -> OrderView in
            let caller = try context.requireCaller()
            let (instance, data) = try load(input.orderId, context)
            guard try role(of: caller, instance, data, context) == .provider else { throw AppError.forbidden("only the store rejects an order") }
            guard rejectReasons.contains(input.reasonId) else {
                throw AppError.badRequest("reason_id must be one of \(rejectReasons.sorted().joined(separator: ", "))", code: "invalid_field")
            }
            if let note = input.note { try Validate.text(note, "note", max: 500, allowEmpty: true) }
            guard instance.state == "placed" else { throw AppError.conflict("only a placed order is rejected (this one is \(instance.state))", code: "invalid_state") }
            var changed = data
            changed.rejectReason = input.reasonId
            changed.rejectNote = input.note
            let updated = try context.workflow(workflow).update(instance, data: changed)
            let next = try context.workflow(workflow).take("reject", on: updated.id, by: caller, acting: .provider)
            return try view(next, try decode(next), caller, context)
        }
        routes.method("orders.cancel_preview") { (input: OrderRef, context) -> CancelPreview in
            let caller = try context.requireCaller()
            let (instance, data) = try load(input.orderId, context)
            guard try role(of: caller, instance, data, context) == .consumer else { throw AppError.forbidden("only the customer cancels an order") }
            guard open.contains(instance.state) else {
                throw AppError.conflict("an order that is \(instance.state) can no longer be cancelled", code: "invalid_state")
            }
            let fee = try cancelFee(instance, data, context)
            let paid = try Payments.summary(instance.id, context)
            return CancelPreview(orderId: instance.id, state: instance.state, fee: fee, refund: max(paid.captured - paid.refunded - fee, 0),
                                 currency: data.currency,
                                 reason: instance.state == "placed" ? "free until the store accepts the order"
                                     : "the store accepted it: \(data.policy.cancelFeePercent)% of the order is kept")
        }
        routes.method("orders.item_missing") { (input: MissingInput, context) -> OrderView in
            let caller = try context.requireCaller()
            let (instance, data) = try load(input.orderId, context)
            guard try role(of: caller, instance, data, context) == .provider else { throw AppError.forbidden("only the store marks an item missing") }
            guard ["accepted", "preparing", "ready"].contains(instance.state) else {
                throw AppError.conflict("items are marked missing while the order is accepted, preparing or ready (it is \(instance.state))", code: "invalid_state")
            }
            let current = try lines(instance.id, data, context)
            guard let line = current.first(where: { $0.productId == input.productId }) else {
                throw AppError.badRequest("product_id: order \(instance.id) has no line \(input.productId)", code: "invalid_field")
            }
            guard line.missing != true else { throw AppError.conflict("that line is already missing", code: "already_missing") }
            guard current.filter({ $0.missing != true }).count > 1 else {
                throw AppError.conflict("the order's last line: reject it or let the customer cancel instead", code: "last_line")
            }
            // Kept beside the order (changing its data would move its version, and its timers with it).
            try context.sql.exec("INSERT INTO missing_lines(order_id, product_id, amount, marked_by, marked_ms) VALUES (?, ?, ?, ?, ?)",
                                 [.text(instance.id), .text(line.productId), SQLValue(line.amount), .text(caller.id), .integer(context.nowMs)])
            try Payments.lineMissing(instance.id, line, data, context)
            try context.events.emit("foodmesh.order.item_missing", MissingInput(orderId: instance.id, productId: input.productId))
            return try view(instance, data, caller, context)
        }
    }

    /// The order's lines, each marked if the store found it missing.
    static func lines(_ id: String, _ data: OrderData, _ context: Context) throws -> [QuoteLine] {
        let missing = Set(try context.sql.query("SELECT product_id FROM missing_lines WHERE order_id = ?", [.text(id)]).compactMap { $0.text(0) })
        return data.lines.map { line in
            var l = line
            l.missing = missing.contains(line.productId) ? true : nil
            return l
        }
    }

    /// A new order from a placed quote: the workflow instance, its row, and the ledger's first entry.
    static func create(from quote: Quote, payment: String, by caller: CallerKey, _ context: Context) throws -> OrderView {
        let id = context.newID()
        let data = OrderData(storeId: quote.storeId, quoteId: quote.id, lines: quote.lines, subtotal: quote.subtotal,
                             deliveryFee: quote.deliveryFee, total: quote.total, currency: quote.currency, fulfilment: quote.fulfilment,
                             zone: quote.zone, policy: quote.policy, paymentMethod: payment, rejectReason: nil, rejectNote: nil)
        let instance = try context.workflow(workflow).create(id: id, consumer: caller, provider: nil, data: data, by: caller)
        try context.sql.exec("INSERT INTO orders(id, store_id, customer, quote_id, created_ms) VALUES (?, ?, ?, ?, ?)",
                             [.text(id), .text(quote.storeId), .text(caller.id), .text(quote.id), .integer(context.nowMs)])
        // A new order's view is known without reading it back: its one step, its one ledger entry, no delivery.
        let now = context.nowMs
        try Payments.record(id, step: "pending", amount: quote.total, method: payment, note: "placed", actor: caller.id, context, at: now)
        let ledger = Payments.Summary(captured: 0, refunded: 0, status: "pending",
                                      entries: [Payments.Entry(step: "pending", amount: quote.total, method: payment, note: "placed", actor: caller.id, atMs: now)])
        let created = WorkflowStep(transition: "create", from: "", to: instance.state, role: "consumer", actor: caller.id, atMs: instance.updatedMs)
        return try view(instance, data, caller, context, fresh: (ledger, [created]))
    }

    static func load(_ id: String, _ context: Context) throws -> (WorkflowInstance, OrderData) {
        guard let instance = try context.workflow(workflow).get(id) else { throw AppError.notFound("no order \(id)") }
        return (instance, try decode(instance))
    }

    /// The caller's role: the customer, or a manager of the store. 404 otherwise: strangers learn nothing.
    static func role(of caller: CallerKey, _ instance: WorkflowInstance, _ data: OrderData, _ context: Context) throws -> Workflow.Role {
        if caller == instance.consumer { return .consumer }
        if try SpaceManagers.isManager(caller, of: data.storeId, context) { return .provider }
        throw AppError.notFound("no order \(instance.id)")
    }

    /// What a cancellation now would keep: nothing before acceptance, the policy's share after.
    static func cancelFee(_ instance: WorkflowInstance, _ data: OrderData, _ context: Context) throws -> Int {
        // The workflow calls onTransition after the change: judge by the state it left.
        let history = try context.workflow(workflow).history(instance.id)
        let state = instance.state == "cancelled" ? (history.last?.from ?? "placed") : instance.state
        return state == "placed" ? 0 : try Payments.due(instance.id, data, context) * data.policy.cancelFeePercent / 100
    }

    /// Returns an order's units to stock (a counted product's; a removed product's too).
    static func restock(_ id: String, _ data: OrderData, _ context: Context) throws {
        for line in try lines(id, data, context) where line.missing != true {
            try context.sql.exec("UPDATE products SET stock = stock + ? WHERE store_id = ? AND id = ? AND stock IS NOT NULL",
                                 [SQLValue(line.quantity), .text(data.storeId), .text(line.productId)])
        }
    }

    /// The order as the caller sees it; `fresh` gives the ledger and history of an order made in this call.
    static func view(_ instance: WorkflowInstance, _ data: OrderData, _ caller: CallerKey, _ context: Context,
                     fresh: (payments: Payments.Summary, history: [WorkflowStep])? = nil) throws -> OrderView {
        let isCustomer = caller == instance.consumer
        let isStore = try SpaceManagers.isManager(caller, of: data.storeId, context)
        let allowed = workflow.transitions.filter { t in
            guard t.from.contains(instance.state), t.name != "reject" else { return false }
            if t.name == "pick_up" && data.fulfilment.type != "pickup" || t.name == "dispatch" && data.fulfilment.type != "delivery" { return false }
            switch t.role {
            case .consumer: return isCustomer
            case .provider: return isStore
            case .party: return isCustomer || isStore
            case .system: return false
            }
        }.map(\.name) + (instance.state == "placed" && isStore ? ["reject"] : [])
        // A new order is known as made (its lines all there, owing its total, no courier yet); any other is read.
        let lines = fresh == nil ? try lines(instance.id, data, context) : data.lines
        let total = fresh == nil ? try Payments.due(instance.id, data, context) : data.total
        let payments = try fresh?.payments ?? Payments.summary(instance.id, context)
        let history = try fresh?.history ?? context.workflow(workflow).history(instance.id)
        let delivery = fresh == nil ? try Deliveries.current(instance.id, context) : nil
        return OrderView(id: instance.id, state: instance.state, customer: instance.consumer?.id, storeId: data.storeId, lines: lines,
                         subtotal: data.subtotal, deliveryFee: data.deliveryFee, total: total, currency: data.currency,
                         fulfilment: data.fulfilment, zone: data.zone, policy: data.policy, paymentMethod: data.paymentMethod,
                         payments: payments, rejectReason: data.rejectReason, delivery: delivery, history: history, allowed: allowed)
    }
}
