import SynAppKit
import SynSpaces

struct PaymentInput: Codable, Sendable {
    var orderId: String
    /// authorized or captured.
    var step: String
    /// Default: what the order still owes.
    var amount: Int?
    var note: String?
}

/// The payment ledger: every step of an order's money, in order (pending → authorized → captured → refunded or
/// partly_refunded), never rewritten. Manual and cash rails are recorded by the store; cash on pickup and payment on
/// delivery are captured by the order's own transitions.
enum Payments {
    struct Entry: Codable, Sendable, Equatable {
        var step: String
        var amount: Int
        var method: String
        var note: String
        var actor: String
        var atMs: Int64
    }

    struct Summary: Codable, Sendable, Equatable {
        var captured: Int
        var refunded: Int
        /// pending, authorized, captured, partly_refunded or refunded.
        var status: String
        var entries: [Entry]
    }

    static func register(_ routes: inout Routes) {
        routes.method("payments.record") { (input: PaymentInput, context) -> Summary in
            let caller = try context.requireCaller()
            let (instance, data) = try Orders.load(input.orderId, context)
            guard try Orders.role(of: caller, instance, data, context) == .provider else { throw AppError.forbidden("only the store records payments") }
            guard ["authorized", "captured"].contains(input.step) else {
                throw AppError.badRequest("step must be authorized or captured (refunds follow cancellations and missing items)", code: "invalid_field")
            }
            guard !["rejected", "expired", "cancelled"].contains(instance.state),
                  !(instance.state == "uncollected" && data.policy.uncollected == "refund") else {
                throw AppError.conflict("the order is \(instance.state): nothing is owed", code: "invalid_state")
            }
            if let note = input.note { try Validate.text(note, "note", max: 300, allowEmpty: true) }
            let summary = try summary(instance.id, context)
            let owed = try due(instance.id, data, context) - (summary.captured - summary.refunded)
            let amount = input.amount ?? max(owed, 0)
            try Validate.amount(amount, "amount")
            if input.step == "captured" {
                guard amount > 0, amount <= owed else {
                    throw AppError.conflict("the order owes \(max(owed, 0)); a capture of \(amount) does not fit", code: "over_capture")
                }
            }
            try record(instance.id, step: input.step, amount: amount, method: data.paymentMethod, note: input.note ?? "", actor: caller.id, context)
            return try Self.summary(instance.id, context)
        }
    }

    /// What the order owes: its total less its missing lines.
    static func due(_ id: String, _ data: OrderData, _ context: Context) throws -> Int {
        let missing = try context.sql.first("SELECT coalesce(sum(amount), 0) FROM missing_lines WHERE order_id = ?", [.text(id)])?.int(0) ?? 0
        return data.total - missing
    }

    static func record(_ orderID: String, step: String, amount: Int, method: String, note: String, actor: String, _ context: Context,
                       at: Int64? = nil) throws {
        try context.sql.exec("""
            INSERT INTO payments(order_id, seq, step, amount, method, note, actor, at_ms)
            VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM payments WHERE order_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7)
            """, [.text(orderID), .text(step), SQLValue(amount), .text(method), .text(note), .text(actor), .integer(at ?? context.nowMs)])
        try context.events.emit("foodmesh.payment.\(step)", PaymentEvent(orderId: orderID, amount: amount))
    }

    static func summary(_ orderID: String, _ context: Context) throws -> Summary {
        let entries = try context.sql.query("SELECT step, amount, method, note, actor, at_ms FROM payments WHERE order_id = ? ORDER BY seq",
                                            [.text(orderID)]).map {
            Entry(step: $0.text(0) ?? "", amount: $0.int(1) ?? 0, method: $0.text(2) ?? "", note: $0.text(3) ?? "",
                  actor: $0.text(4) ?? "", atMs: Int64($0.int(5) ?? 0))
        }
        let captured = entries.filter { $0.step == "captured" }.reduce(0) { $0 + $1.amount }
        let refunded = entries.filter { $0.step == "refunded" || $0.step == "partly_refunded" }.reduce(0) { $0 + $1.amount }
        let status: String
        if refunded > 0 { status = refunded >= captured ? "refunded" : "partly_refunded" }
        else if captured > 0 { status = "captured" }
        else if entries.contains(where: { $0.step == "authorized" }) { status = "authorized" }
        else { status = "pending" }
        return Summary(captured: captured, refunded: refunded, status: status, entries: entries)
    }

    /// Captures what is owed (cash at pickup, payment on delivery).
    static func capture(_ orderID: String, _ data: OrderData, _ context: Context) throws {
        let s = try summary(orderID, context)
        let owed = try due(orderID, data, context) - (s.captured - s.refunded)
        if owed > 0 { try record(orderID, step: "captured", amount: owed, method: data.paymentMethod, note: "collected", actor: "node", context) }
    }

    /// Returns what was captured, less `keeping` (a cancellation fee).
    static func refund(_ orderID: String, keeping: Int, _ data: OrderData, reason: String, _ context: Context) throws {
        let s = try summary(orderID, context)
        let back = s.captured - s.refunded - keeping
        guard back > 0 else { return }
        try record(orderID, step: keeping > 0 ? "partly_refunded" : "refunded", amount: back, method: data.paymentMethod,
                   note: reason, actor: "node", context)
    }

    /// No courier took the delivery: its fee is no longer owed, and refunded if it was paid.
    static func waiveDeliveryFee(_ orderID: String, _ data: OrderData, _ context: Context) throws {
        guard data.deliveryFee > 0 else { return }
        let added = try context.sql.exec("""
            INSERT OR IGNORE INTO missing_lines(order_id, product_id, amount, marked_by, marked_ms) VALUES (?, '#delivery', ?, 'node', ?)
            """, [.text(orderID), SQLValue(data.deliveryFee), .integer(context.nowMs)])
        guard added == 1 else { return }
        try lineMissing(orderID, QuoteLine(productId: "#delivery", title: "delivery", unit: "", quantity: 1, unitPrice: data.deliveryFee,
                                           amount: data.deliveryFee, missing: true), data, context)
    }

    /// A missing line: refunded if it was paid for, else simply no longer owed.
    static func lineMissing(_ orderID: String, _ line: QuoteLine, _ data: OrderData, _ context: Context) throws {
        let s = try summary(orderID, context)
        let owedNow = try due(orderID, data, context)
        let over = s.captured - s.refunded - owedNow
        if over > 0 {
            try record(orderID, step: "partly_refunded", amount: min(over, line.amount), method: data.paymentMethod,
                       note: "missing: \(line.productId)", actor: "node", context)
        }
    }
}

struct PaymentEvent: Codable, Sendable {
    var orderId: String
    var amount: Int
}
