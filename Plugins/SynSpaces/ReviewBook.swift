public import FoundationEssentials
public import SynAppKit

/// What the app says about a review's order: its Space and consumer, which side the caller is on, and whether it
/// is complete (only a completed order is reviewed).
public struct ReviewSubject: Sendable {
    public enum Side: String, Sendable { case consumer, provider }
    public let orderID: String
    public let spaceID: String
    public let consumer: String
    public let side: Side
    public let completed: Bool

    public init(orderID: String, spaceID: String, consumer: String, side: Side, completed: Bool) {
        self.orderID = orderID
        self.spaceID = spaceID
        self.consumer = consumer
        self.side = side
        self.completed = completed
    }
}

/// Reviews, shared by every Space app: once per completed order per side, within the Space's review window
/// (`spaces.review_window_days`), published double-blind (when both sides have reviewed or the window closes),
/// each consumer review as a receipt signed by the app. Vouches and reputation, with its published formula.
///
/// The app keeps the tables (`schema`) and says what an order is (`subject`); its methods are `reviews.create`,
/// `reviews.list`, `vouch` and `reputation.get`, and it emits `<prefix>.review.published`.
public struct ReviewBook: Sendable {
    /// The tables, for an app's migrations (the `spaces` table needs `rating_sum`, `rating_count` and
    /// `review_window_days`).
    public static let schema = """
        CREATE TABLE reviews (
            order_id TEXT NOT NULL, author_role TEXT NOT NULL CHECK (author_role IN ('consumer', 'provider')),
            space_id TEXT NOT NULL, author TEXT NOT NULL, subject TEXT NOT NULL, rating INTEGER NOT NULL,
            text TEXT NOT NULL, created_ms INTEGER NOT NULL, published_ms INTEGER, receipt TEXT, signature TEXT,
            PRIMARY KEY (order_id, author_role)
        ) WITHOUT ROWID;
        CREATE INDEX reviews_by_space ON reviews(space_id, author_role, published_ms);
        CREATE TABLE completions (order_id TEXT PRIMARY KEY, space_id TEXT NOT NULL, consumer TEXT NOT NULL,
                                  completed_ms INTEGER NOT NULL, window_ms INTEGER NOT NULL DEFAULT 1209600000,
                                  closed_ms INTEGER);
        CREATE TABLE vouches (space_id TEXT NOT NULL, voucher TEXT NOT NULL, text TEXT NOT NULL, created_ms INTEGER NOT NULL,
                              PRIMARY KEY (space_id, voucher)) WITHOUT ROWID;
        """

    /// The app's id, which names its event: `<prefix>.review.published`.
    public let prefix: String
    /// The order `orderID` as `caller` may review it; 404 when the caller is no party to it.
    public let subject: @Sendable (_ orderID: String, _ caller: CallerKey, _ context: Context) throws -> ReviewSubject

    public init(prefix: String, subject: @escaping @Sendable (_ orderID: String, _ caller: CallerKey, _ context: Context) throws -> ReviewSubject) {
        self.prefix = prefix
        self.subject = subject
    }

    public func register(_ routes: inout Routes) {
        let book = self
        routes.onDue(Self.windowKind) { (timer: PublishTimer, _, context) in try book.windowTimer(timer, context) }
        routes.method("reviews.create") { (input: ReviewInput, context) -> ReviewState in
            let caller = try context.requireCaller()
            guard (1...5).contains(input.rating) else { throw AppError.badRequest("rating must be 1 to 5", code: "invalid_field") }
            try Validate.text(input.text, "text", max: 2000, allowEmpty: true)
            let order = try book.subject(input.orderId, caller, context)
            guard order.completed,
                  let done = try context.sql.first("SELECT completed_ms, window_ms, closed_ms FROM completions WHERE order_id = ?", [.text(order.orderID)]) else {
                throw AppError.conflict("only a completed order can be reviewed", code: "invalid_state")
            }
            let windowMs = Int64(done.int(1) ?? 14 * 86_400_000)
            // Closed by the clock, or by its timer (which has published what there was: a later review would not
            // be blind).
            guard context.nowMs <= Int64(done.int(0) ?? 0) + windowMs, done.int(2) == nil else {
                throw AppError.conflict("the review window closed \(windowMs / 86_400_000) days after completion", code: "window_closed")
            }
            let side = order.side.rawValue
            let about = order.side == .consumer ? order.spaceID : order.consumer
            guard try context.sql.first("SELECT 1 FROM reviews WHERE order_id = ? AND author_role = ?", [.text(order.orderID), .text(side)]) == nil else {
                throw AppError.conflict("this order already has your review", code: "already_reviewed")
            }
            try context.sql.exec("""
                INSERT INTO reviews(order_id, author_role, space_id, author, subject, rating, text, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(order.orderID), .text(side), .text(order.spaceID), .text(caller.id), .text(about), SQLValue(input.rating),
                      .text(input.text), .integer(context.nowMs)])
            let both = try context.sql.first("SELECT count(*) FROM reviews WHERE order_id = ?", [.text(order.orderID)])?.int(0) ?? 0
            if both == 2 { try book.publish(order.orderID, context) }
            return ReviewState(orderId: order.orderID, mine: true, published: both == 2)
        }
        routes.method("reviews.list") { (input: SpaceRef, context) -> SpaceReviews in
            try Self.requireSpace(input.id, context)
            let rows = try context.sql.query("""
                SELECT receipt, signature FROM reviews WHERE space_id = ? AND author_role = 'consumer' AND published_ms IS NOT NULL
                ORDER BY published_ms DESC LIMIT 200
                """, [.text(input.id)])
            let key = Hex.encode(try context.identity.publicKey())
            return SpaceReviews(spaceId: input.id, reviews: try rows.map { r in
                let json = r.text(0) ?? "{}"
                return PublishedReview(receipt: try JSONDecoder().decode(ReviewReceipt.self, from: Data(json.utf8)),
                                       signedJson: Data(json.utf8).base64EncodedString(), signature: r.text(1) ?? "", appKey: key)
            })
        }
        routes.method("vouch") { (input: VouchInput, context) -> Reputation in
            let caller = try context.requireCaller()
            try Self.requireSpace(input.spaceId, context)
            guard try !SpaceManagers.isManager(caller, of: input.spaceId, context) else { throw AppError.forbidden("a Space's managers cannot vouch for it") }
            try Validate.text(input.text ?? "", "text", max: 500, allowEmpty: true)
            guard try context.sql.first("SELECT 1 FROM vouches WHERE space_id = ? AND voucher = ?", [.text(input.spaceId), .text(caller.id)]) == nil else {
                throw AppError.conflict("you already vouch for this Space", code: "already_vouched")
            }
            try context.sql.exec("INSERT INTO vouches(space_id, voucher, text, created_ms) VALUES (?, ?, ?, ?)",
                                 [.text(input.spaceId), .text(caller.id), .text(input.text ?? ""), .integer(context.nowMs)])
            return try Self.reputation(input.spaceId, context)
        }
        routes.method("reputation.get") { (input: SpaceRef, context) -> Reputation in
            try Self.requireSpace(input.id, context)
            return try Self.reputation(input.id, context)
        }
    }

    /// 404 unless Space `id` exists.
    static func requireSpace(_ id: String, _ context: Context) throws {
        guard try context.sql.first("SELECT 1 FROM spaces WHERE id = ?", [.text(id)]) != nil else { throw AppError.notFound("no Space \(id)") }
    }

    /// The due work that closes a window (one per completed order, in the app's database: one node timer for all).
    static let windowKind = "synspaces.review_window"

    /// The window's end: closes it for good and publishes what there is (or, woken early, waits for the rest).
    /// Windows opened by HomeServices 0.2.1 and earlier come as node timers of their own, through the app's timer
    /// handler, which calls this too.
    public func windowTimer(_ timer: PublishTimer, _ context: Context) throws {
        if let closes = timer.closesAtMs, closes > context.nowMs {
            return try Self.scheduleClose(timer.publishReviewsOf, closesAtMs: closes, context)
        }
        try context.sql.exec("UPDATE completions SET closed_ms = ? WHERE order_id = ? AND closed_ms IS NULL",
                             [.integer(context.nowMs), .text(timer.publishReviewsOf)])
        try publish(timer.publishReviewsOf, context)
    }

    /// Schedules the window's close.
    static func scheduleClose(_ orderID: String, closesAtMs: Int64, _ context: Context) throws {
        try context.schedule.at(closesAtMs, windowKind, key: orderID, PublishTimer(publishReviewsOf: orderID, closesAtMs: closesAtMs))
    }

    /// Called when an order completes: opens the window (the Space's as it is now: a later change does not move
    /// it), and schedules its close, which publishes what there is.
    public func completed(orderID: String, spaceID: String, consumer: String, _ context: Context) throws {
        let days = try context.sql.first("SELECT review_window_days FROM spaces WHERE id = ?", [.text(spaceID)])?.int(0) ?? 14
        let windowMs = Int64(days) * 86_400_000
        try context.sql.exec("INSERT OR IGNORE INTO completions(order_id, space_id, consumer, completed_ms, window_ms) VALUES (?, ?, ?, ?, ?)",
                             [.text(orderID), .text(spaceID), .text(consumer), .integer(context.nowMs), .integer(windowMs)])
        try Self.scheduleClose(orderID, closesAtMs: context.nowMs + windowMs, context)
    }

    /// Publishes the order's reviews; a consumer review gets its signed receipt.
    public func publish(_ orderID: String, _ context: Context) throws {
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
        if !unpublished.isEmpty { try context.events.emit(prefix + ".review.published", PublishedOrder(orderId: orderID)) }
    }

    /// Score = (C·m + Σ ratings) / (C + n) + v·min(vouches, 10), with prior mean m = 3.5, prior weight C = 5 and
    /// v = 0.05: a Bayesian average that needs several reviews to move far from 3.5, plus a small capped vouch bonus.
    public static func reputation(_ spaceID: String, _ context: Context) throws -> Reputation {
        let r = try context.sql.first("""
            SELECT count(*), coalesce(sum(rating), 0) FROM reviews WHERE space_id = ? AND author_role = 'consumer' AND published_ms IS NOT NULL
            """, [.text(spaceID)])
        let n = Double(r?.int(0) ?? 0), sum = Double(r?.int(1) ?? 0)
        let vouches = try context.sql.first("SELECT count(*) FROM vouches WHERE space_id = ?", [.text(spaceID)])?.int(0) ?? 0
        let prior = SearchScore.priorMean, weight = SearchScore.priorWeight, perVouch = 0.05
        let bayes = (weight * prior + sum) / (weight + n)
        let bonus = perVouch * Double(min(vouches, 10))
        return Reputation(spaceId: spaceID, score: ((bayes + bonus) * 1000).rounded() / 1000, ratingCount: Int(n),
                          ratingMean: n > 0 ? sum / n : nil, vouches: vouches,
                          formula: "score = (C*m + sum_ratings) / (C + n) + v*min(vouches, 10); m = 3.5, C = 5, v = 0.05",
                          components: ["prior_mean": prior, "prior_weight": weight, "rating_sum": sum, "rating_count": n,
                                       "bayesian_average": (bayes * 1000).rounded() / 1000, "vouch_bonus": bonus])
    }
}

/// The payload of `<prefix>.review.published`.
struct PublishedOrder: Codable, Sendable { var orderId: String }
