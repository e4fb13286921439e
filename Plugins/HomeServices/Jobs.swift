import FoundationEssentials
import SynAppKit
import SynSpaces

struct Window: Codable, Sendable {
    var fromMs: Int64
    var toMs: Int64
}

struct JobRequest: Codable, Sendable {
    var spaceId: String
    var itemId: String
    var description: String
    var window: Window
}

struct Job: Codable, Sendable {
    var id: String
    var spaceId: String
    var itemId: String
    var consumer: String
    var description: String
    var window: Window
    var state: String
    var quotes: [Quote]
}

struct QuoteInput: Codable, Sendable {
    var jobId: String
    var amount: Int
    var currency: String
    var note: String?
    var validForHours: Int
}

struct Quote: Codable, Sendable {
    var id: String
    var jobId: String
    var amount: Int
    var currency: String
    var note: String
    var validUntilMs: Int64
    var state: String
    var orderId: String?
}

struct QuoteRef: Codable, Sendable { var quoteId: String }

struct JobRef: Codable, Sendable { var jobId: String }

/// Open-ended jobs: the consumer describes the job and a time window, a manager of the Space prices it with a
/// quote that is valid for a while, and the consumer's acceptance turns it into a confirmed order.
enum Jobs {
    static func register(_ routes: inout Routes) {
        routes.method("jobs.request") { (input: JobRequest, context) -> Reply<Job> in
            let consumer = try context.requireCaller()
            let space = try Spaces.load(input.spaceId, context)
            guard let item = try Catalog.items(space, context, id: input.itemId).first else {
                throw AppError.notFound("no catalog item \(input.itemId) in Space \(space.id)")
            }
            guard item.kind == "job" else { throw AppError.badRequest("item \(item.id) is booked by slot: use bookings.request", code: "not_a_job") }
            try Validate.text(input.description, "description", max: 4000)
            guard input.window.fromMs < input.window.toMs else {
                throw AppError.badRequest("window.to_ms must be after window.from_ms", code: "invalid_field")
            }
            guard input.window.toMs > context.nowMs else { throw AppError.badRequest("the window is in the past", code: "invalid_field") }
            guard input.window.toMs - input.window.fromMs <= 366 * 86_400_000 else {
                throw AppError.badRequest("the window may span at most a year", code: "invalid_field")
            }
            let id = context.newID()
            try context.sql.exec("""
                INSERT INTO jobs(id, space_id, item_id, consumer, description, from_ms, to_ms, state, created_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)
                """, [.text(id), .text(space.id), .text(item.id), .text(consumer.id), .text(input.description),
                      .integer(input.window.fromMs), .integer(input.window.toMs), .integer(context.nowMs)])
            try context.events.emit("homeservices.job.requested", JobRef(jobId: id))
            return Reply(status: 201, try load(id, context))
        }
        // A consumer's jobs, newest first; or, for a provider, the open jobs of the Spaces they manage: at most 200.
        routes.method("jobs.list") { (query: OrdersQuery, context) -> [Job] in
            let caller = try context.requireCaller()
            let ids: [String]
            switch query.role {
            case "consumer":
                ids = try context.sql.query("SELECT id FROM jobs WHERE consumer = ? ORDER BY created_ms DESC LIMIT 200",
                                            [.text(caller.id)]).compactMap { $0.text(0) }
            case "provider":
                ids = try context.sql.query("""
                    SELECT j.id FROM jobs j JOIN space_managers m ON m.space_id = j.space_id
                    WHERE m.manager = ? AND j.state = 'open' ORDER BY j.created_ms DESC LIMIT 200
                    """, [.text(caller.id)]).compactMap { $0.text(0) }
            default:
                throw AppError.badRequest("role must be consumer or provider", code: "invalid_field")
            }
            return try ids.map { try load($0, context) }
        }
        routes.method("jobs.get") { (input: JobRef, context) -> Job in
            let caller = try context.requireCaller()
            let job = try load(input.jobId, context)
            try requireParty(job, caller, context)
            return job
        }
        routes.method("quotes.create") { (input: QuoteInput, context) -> Reply<Quote> in
            let caller = try context.requireCaller()
            let job = try load(input.jobId, context)
            guard try Spaces.isManager(caller, of: job.spaceId, context) else { throw AppError.notFound("no job \(input.jobId)") }
            guard job.state == "open" else { throw AppError.conflict("the job is \(job.state)", code: "invalid_state") }
            try Validate.price(Price(model: "fixed", amount: input.amount, currency: input.currency), "")
            guard (1...720).contains(input.validForHours) else { throw AppError.badRequest("valid_for_hours must be 1 to 720", code: "invalid_field") }
            try Validate.text(input.note ?? "", "note", max: 2000, allowEmpty: true)
            let id = context.newID()
            let until = context.nowMs + Int64(input.validForHours) * 3_600_000
            try context.sql.exec("""
                INSERT INTO quotes(id, job_id, author, amount, currency, note, valid_until_ms, state, created_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'offered', ?)
                """, [.text(id), .text(job.id), .text(caller.id), SQLValue(input.amount), .text(input.currency), .text(input.note ?? ""),
                      .integer(until), .integer(context.nowMs)])
            try context.events.emit("homeservices.quote.created", QuoteRef(quoteId: id))
            guard let quote = try load(job.id, context).quotes.first(where: { $0.id == id }) else {
                throw AppError(status: 500, code: "internal", "the quote vanished")
            }
            return Reply(status: 201, quote)
        }
        routes.method("jobs.cancel") { (input: JobRef, context) -> Job in
            let caller = try context.requireCaller()
            let job = try load(input.jobId, context)
            try requireParty(job, caller, context)
            guard job.consumer == caller.id else { throw AppError.forbidden("only the consumer who requested the job may cancel it") }
            guard job.state == "open" else { throw AppError.conflict("the job is \(job.state)", code: "invalid_state") }
            try context.sql.exec("UPDATE jobs SET state = 'cancelled' WHERE id = ?", [.text(job.id)])
            // Its open offers can no longer be accepted.
            try context.sql.exec("UPDATE quotes SET state = 'cancelled' WHERE job_id = ? AND state = 'offered'", [.text(job.id)])
            try context.events.emit("homeservices.job.cancelled", JobRef(jobId: job.id))
            return try load(job.id, context)
        }
        routes.method("quotes.withdraw") { (input: QuoteRef, context) -> Quote in
            let caller = try context.requireCaller()
            guard let row = try context.sql.first("SELECT job_id, state FROM quotes WHERE id = ?", [.text(input.quoteId)]) else {
                throw AppError.notFound("no quote \(input.quoteId)")
            }
            let job = try load(row.text(0) ?? "", context)
            try requireParty(job, caller, context)
            guard try Spaces.isManager(caller, of: job.spaceId, context) else {
                throw AppError.forbidden("only a manager of the Space may withdraw its quotes")
            }
            guard row.text(1) == "offered" else { throw AppError.conflict("the quote is \(row.text(1) ?? "?")", code: "invalid_state") }
            try context.sql.exec("UPDATE quotes SET state = 'withdrawn' WHERE id = ?", [.text(input.quoteId)])
            try context.events.emit("homeservices.quote.withdrawn", QuoteRef(quoteId: input.quoteId))
            guard let quote = try load(job.id, context).quotes.first(where: { $0.id == input.quoteId }) else {
                throw AppError(status: 500, code: "internal", "the quote vanished")
            }
            return quote
        }
        // For apps only (granted by the node owner: `calls = ["homeservices:quotes.parties"]`): who a quote is between.
        routes.method("quotes.parties") { (input: QuoteRef, context) -> QuoteParties in
            guard context.apps.origin != nil else { throw AppError.notFound("no method quotes.parties for clients") }
            guard let row = try context.sql.first("SELECT job_id, author, amount, currency, note, state FROM quotes WHERE id = ?",
                                                  [.text(input.quoteId)]) else { throw AppError.notFound("no quote \(input.quoteId)") }
            let job = try load(row.text(0) ?? "", context)
            return QuoteParties(quoteId: input.quoteId, jobId: job.id, consumer: job.consumer, author: row.text(1) ?? "", amount: row.int(2) ?? 0,
                                currency: row.text(3) ?? "", note: row.text(4) ?? "", state: row.text(5) ?? "")
        }
        routes.method("quotes.accept") { (input: QuoteRef, context) -> OrderView in
            let caller = try context.requireCaller()
            guard let row = try context.sql.first("SELECT job_id, author, amount, currency, valid_until_ms, state FROM quotes WHERE id = ?",
                                                  [.text(input.quoteId)]) else { throw AppError.notFound("no quote \(input.quoteId)") }
            let job = try load(row.text(0) ?? "", context)
            // A stranger learns nothing about the quote; the Space's managers may see it but not accept it.
            let manager = try Spaces.isManager(caller, of: job.spaceId, context)
            guard job.consumer == caller.id || manager else {
                throw AppError.notFound("no quote \(input.quoteId)")
            }
            guard job.consumer == caller.id else {
                throw AppError.forbidden("only the consumer who requested the job may accept its quotes")
            }
            guard row.text(5) == "offered", job.state == "open" else { throw AppError.conflict("the quote is \(row.text(5) ?? "?") and the job \(job.state)", code: "invalid_state") }
            guard context.nowMs <= Int64(row.int(4) ?? 0) else { throw AppError.conflict("the quote expired", code: "quote_expired") }
            let space = try Spaces.load(job.spaceId, context)
            guard let item = try Catalog.items(space, context, id: job.itemId).first, let author = CallerKey(row.text(1) ?? "") else {
                throw AppError.conflict("the job's catalog item or the quote's author is gone", code: "invalid_state")
            }
            let orderID = context.newID()
            let data = OrderData(spaceId: space.id, itemId: item.id, kind: "job", startMs: job.window.fromMs, endMs: job.window.toMs,
                                 price: Price(model: "fixed", amount: row.int(2), currency: row.text(3) ?? "EUR"),
                                 cancellation: item.cancellation, note: job.description, requestExpiryMinutes: 60)
            let store = context.workflow(Orders.workflow)
            try store.create(id: orderID, consumer: caller, provider: author, data: data, by: caller)
            // The provider agreed when quoting: the order starts confirmed, in the quote author's name.
            try store.take("confirm", on: orderID, by: author, acting: .provider)
            try context.sql.exec("UPDATE quotes SET state = CASE WHEN id = ? THEN 'accepted' ELSE 'superseded' END, order_id = CASE WHEN id = ? THEN ? ELSE order_id END WHERE job_id = ?",
                                 [.text(input.quoteId), .text(input.quoteId), .text(orderID), .text(job.id)])
            try context.sql.exec("UPDATE jobs SET state = 'accepted' WHERE id = ?", [.text(job.id)])
            try context.events.emit("homeservices.quote.accepted", QuoteRef(quoteId: input.quoteId))
            return try Orders.view(orderID, context)
        }
    }

    static func requireParty(_ job: Job, _ caller: CallerKey, _ context: Context) throws {
        let manager = try Spaces.isManager(caller, of: job.spaceId, context)
        guard job.consumer == caller.id || manager else { throw AppError.notFound("no job \(job.id)") }
    }

    static func load(_ id: String, _ context: Context) throws -> Job {
        guard let r = try context.sql.first("SELECT space_id, item_id, consumer, description, from_ms, to_ms, state FROM jobs WHERE id = ?",
                                            [.text(id)]) else { throw AppError.notFound("no job \(id)") }
        let quotes = try context.sql.query("""
            SELECT id, amount, currency, note, valid_until_ms, state, order_id FROM quotes WHERE job_id = ? ORDER BY created_ms, id
            """, [.text(id)]).map { q in
            let validUntil = Int64(q.int(4) ?? 0)
            // An offer past its validity reads as expired (nothing else changes it: accepting it is refused).
            let state = q.text(5) == "offered" && context.nowMs > validUntil ? "expired" : (q.text(5) ?? "")
            return Quote(id: q.text(0) ?? "", jobId: id, amount: q.int(1) ?? 0, currency: q.text(2) ?? "", note: q.text(3) ?? "",
                         validUntilMs: validUntil, state: state, orderId: q.text(6))
        }
        return Job(id: id, spaceId: r.text(0) ?? "", itemId: r.text(1) ?? "", consumer: r.text(2) ?? "", description: r.text(3) ?? "",
                   window: Window(fromMs: Int64(r.int(4) ?? 0), toMs: Int64(r.int(5) ?? 0)), state: r.text(6) ?? "", quotes: quotes)
    }
}
