import FoundationEssentials
import SynAppKit

struct ReviewInput: Codable, Sendable {
    var orderId: String
    var rating: Int
    var text: String
}

/// What the app signs for a published consumer review: anyone holding the app's public key can check it, on any
/// node, after the provider moves.
struct ReviewReceipt: Codable, Sendable, Equatable {
    var orderId: String
    var space: String
    var consumer: String
    var rating: Int
    var text: String
    var timeMs: Int64
}

struct PublishedReview: Codable, Sendable {
    var receipt: ReviewReceipt
    /// The exact bytes signed (the receipt's canonical JSON), base64.
    var signedJson: String
    /// Ed25519 over the app's signature domain, hex.
    var signature: String
    /// The app's public key, hex.
    var appKey: String
}

struct ReviewState: Codable, Sendable {
    var orderId: String
    var mine: Bool
    var published: Bool
}

struct SpaceReviews: Codable, Sendable {
    var spaceId: String
    var reviews: [PublishedReview]
}

struct VouchInput: Codable, Sendable {
    var spaceId: String
    var text: String?
}

struct Reputation: Codable, Sendable {
    var spaceId: String
    var score: Double
    var ratingCount: Int
    var ratingMean: Double?
    var vouches: Int
    var formula: String
    var components: [String: Double]
}

/// The review window's timer. A window longer than the node's longest timer (30 days) is closed by a chain of
/// timers: each one that fires before `closesAtMs` sets the next.
struct PublishTimer: Codable, Sendable {
    var publishReviewsOf: String
    /// When the window closes (absent in timers set before version 0.2.1: they close it when they fire).
    var closesAtMs: Int64?
}

/// Reviews: once per completed order per side, within the Space's review window (`review_window_days`), published double-blind (when both sides have
/// reviewed or the window closes), each consumer review as a receipt signed by the app. Vouches and reputation.
enum Reviews {

    static func register(_ routes: inout Routes) {
        routes.method("reviews.create") { (input: ReviewInput, context) -> ReviewState in
            let caller = try context.requireCaller()
            guard (1...5).contains(input.rating) else { throw AppError.badRequest("rating must be 1 to 5", code: "invalid_field") }
            try Validate.text(input.text, "text", max: 2000, allowEmpty: true)
            let (instance, data) = try Orders.load(input.orderId, context)
            let role = try Orders.role(of: caller, instance, data, context)
            guard instance.state == "completed",
                  let done = try context.sql.first("SELECT completed_ms, window_ms, closed_ms FROM completions WHERE order_id = ?", [.text(instance.id)]) else {
                throw AppError.conflict("only a completed order can be reviewed", code: "invalid_state")
            }
            let windowMs = Int64(done.int(1) ?? 14 * 86_400_000)
            // Closed by the clock, or by its timer (which has published what there was: a later review would not
            // be blind).
            guard context.nowMs <= Int64(done.int(0) ?? 0) + windowMs, done.int(2) == nil else {
                throw AppError.conflict("the review window closed \(windowMs / 86_400_000) days after completion", code: "window_closed")
            }
            let side = role == .consumer ? "consumer" : "provider"
            let subject = role == .consumer ? data.spaceId : (instance.consumer?.id ?? "")
            guard try context.sql.first("SELECT 1 FROM reviews WHERE order_id = ? AND author_role = ?", [.text(instance.id), .text(side)]) == nil else {
                throw AppError.conflict("this order already has your review", code: "already_reviewed")
            }
            try context.sql.exec("""
                INSERT INTO reviews(order_id, author_role, space_id, author, subject, rating, text, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(instance.id), .text(side), .text(data.spaceId), .text(caller.id), .text(subject), SQLValue(input.rating),
                      .text(input.text), .integer(context.nowMs)])
            let both = try context.sql.first("SELECT count(*) FROM reviews WHERE order_id = ?", [.text(instance.id)])?.int(0) ?? 0
            if both == 2 { try publish(instance.id, context) }
            return ReviewState(orderId: instance.id, mine: true, published: both == 2)
        }
        routes.method("reviews.list") { (input: SpaceRef, context) -> SpaceReviews in
            let space = try Spaces.load(input.id, context)
            let rows = try context.sql.query("""
                SELECT receipt, signature FROM reviews WHERE space_id = ? AND author_role = 'consumer' AND published_ms IS NOT NULL
                ORDER BY published_ms DESC LIMIT 200
                """, [.text(space.id)])
            let key = Hex.encode(try context.identity.publicKey())
            return SpaceReviews(spaceId: space.id, reviews: try rows.map { r in
                let json = r.text(0) ?? "{}"
                return PublishedReview(receipt: try JSONDecoder().decode(ReviewReceipt.self, from: Data(json.utf8)),
                                       signedJson: Data(json.utf8).base64EncodedString(), signature: r.text(1) ?? "", appKey: key)
            })
        }
        routes.method("vouch") { (input: VouchInput, context) -> Reputation in
            let caller = try context.requireCaller()
            let space = try Spaces.load(input.spaceId, context)
            guard !space.managers.contains(caller.id) else { throw AppError.forbidden("a Space's managers cannot vouch for it") }
            try Validate.text(input.text ?? "", "text", max: 500, allowEmpty: true)
            guard try context.sql.first("SELECT 1 FROM vouches WHERE space_id = ? AND voucher = ?", [.text(space.id), .text(caller.id)]) == nil else {
                throw AppError.conflict("you already vouch for this Space", code: "already_vouched")
            }
            try context.sql.exec("INSERT INTO vouches(space_id, voucher, text, created_ms) VALUES (?, ?, ?, ?)",
                                 [.text(space.id), .text(caller.id), .text(input.text ?? ""), .integer(context.nowMs)])
            return try reputation(space.id, context)
        }
        routes.method("reputation.get") { (input: SpaceRef, context) -> Reputation in
            try reputation(try Spaces.load(input.id, context).id, context)
        }
    }

    /// The window's timer: closes it for good and publishes what there is, or, before the window's end, sets the
    /// next timer of the chain.
    static func windowTimer(_ timer: PublishTimer, _ context: Context) throws {
        if let closes = timer.closesAtMs, closes > context.nowMs {
            return try scheduleClose(timer.publishReviewsOf, closesAtMs: closes, context)
        }
        try closeWindow(timer.publishReviewsOf, context)
    }

    /// Sets the window's next timer: at its close, or as far as a timer reaches.
    static func scheduleClose(_ orderID: String, closesAtMs: Int64, _ context: Context) throws {
        let delay = UInt64(max(closesAtMs - context.nowMs, 0))
        try context.events.setTimer(afterMs: min(delay, Events.maxTimerDelayMs),
                                    PublishTimer(publishReviewsOf: orderID, closesAtMs: closesAtMs))
    }

    /// Closes the window for good and publishes what there is.
    static func closeWindow(_ orderID: String, _ context: Context) throws {
        try context.sql.exec("UPDATE completions SET closed_ms = ? WHERE order_id = ? AND closed_ms IS NULL",
                             [.integer(context.nowMs), .text(orderID)])
        try publish(orderID, context)
    }

    /// Called when an order completes: opens the window, and schedules its close (which publishes what there is).
    static func completed(_ instance: WorkflowInstance, _ spaceID: String, _ context: Context) throws {
        // The Space's window as it is now: a later change does not move the deadline of a completed order.
        let days = try context.sql.first("SELECT review_window_days FROM spaces WHERE id = ?", [.text(spaceID)])?.int(0) ?? 14
        let windowMs = Int64(days) * 86_400_000
        try context.sql.exec("INSERT OR IGNORE INTO completions(order_id, space_id, consumer, completed_ms, window_ms) VALUES (?, ?, ?, ?, ?)",
                             [.text(instance.id), .text(spaceID), .text(instance.consumer?.id ?? ""), .integer(context.nowMs), .integer(windowMs)])
        try scheduleClose(instance.id, closesAtMs: context.nowMs + windowMs, context)
    }

    /// Publishes the order's reviews; a consumer review gets its signed receipt.
    static func publish(_ orderID: String, _ context: Context) throws {
        let now = context.nowMs
        let unpublished = try context.sql.query("""
            SELECT author_role, space_id, author, rating, text FROM reviews WHERE order_id = ? AND published_ms IS NULL
            """, [.text(orderID)])
        for r in unpublished {
            var receiptJSON: SQLValue = .null, signature: SQLValue = .null
            if r.text(0) == "consumer" {
                let receipt = ReviewReceipt(orderId: orderID, space: r.text(1) ?? "", consumer: r.text(2) ?? "", rating: r.int(3) ?? 0,
                                            text: r.text(4) ?? "", timeMs: now)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                let bytes = Array(try encoder.encode(receipt))
                receiptJSON = .text(String(decoding: bytes, as: UTF8.self))
                signature = .text(Hex.encode(try context.identity.sign(bytes)))
            }
            try context.sql.exec("UPDATE reviews SET published_ms = ?, receipt = ?, signature = ? WHERE order_id = ? AND author_role = ?",
                                 [.integer(now), receiptJSON, signature, .text(orderID), .text(r.text(0) ?? "")])
            if r.text(0) == "consumer" {
                try context.sql.exec("UPDATE spaces SET rating_sum = rating_sum + ?, rating_count = rating_count + 1 WHERE id = ?",
                                     [SQLValue(r.int(3) ?? 0), .text(r.text(1) ?? "")])
            }
        }
        if !unpublished.isEmpty { try context.events.emit("homeservices.review.published", OrderRef(orderId: orderID)) }
    }

    /// Score = (C·m + Σ ratings) / (C + n) + v·min(vouches, 10), with prior mean m = 3.5, prior weight C = 5 and
    /// v = 0.05: a Bayesian average that needs several reviews to move far from 3.5, plus a small capped vouch bonus.
    static func reputation(_ spaceID: String, _ context: Context) throws -> Reputation {
        let r = try context.sql.first("""
            SELECT count(*), coalesce(sum(rating), 0) FROM reviews WHERE space_id = ? AND author_role = 'consumer' AND published_ms IS NOT NULL
            """, [.text(spaceID)])
        let n = Double(r?.int(0) ?? 0), sum = Double(r?.int(1) ?? 0)
        let vouches = try context.sql.first("SELECT count(*) FROM vouches WHERE space_id = ?", [.text(spaceID)])?.int(0) ?? 0
        let prior = 3.5, weight = 5.0, perVouch = 0.05
        let bayes = (weight * prior + sum) / (weight + n)
        let bonus = perVouch * Double(min(vouches, 10))
        return Reputation(spaceId: spaceID, score: ((bayes + bonus) * 1000).rounded() / 1000, ratingCount: Int(n),
                          ratingMean: n > 0 ? sum / n : nil, vouches: vouches,
                          formula: "score = (C*m + sum_ratings) / (C + n) + v*min(vouches, 10); m = 3.5, C = 5, v = 0.05",
                          components: ["prior_mean": prior, "prior_weight": weight, "rating_sum": sum, "rating_count": n,
                                       "bayesian_average": (bayes * 1000).rounded() / 1000, "vouch_bonus": bonus])
    }
}
