import SynAppKit
import SynSpaces

struct HistoryQuery: Codable, Sendable {
    var spaceId: String
    /// Required when a manager asks: whose history with the Space.
    var consumer: String?
}

struct HistoryRecord: Codable, Sendable {
    var spaceId: String
    var consumer: String
    var orders: [OrderView]
    /// The published reviews of these orders, both sides': the provider's review of the consumer is shown only
    /// here, to the two of them.
    var reviews: [PairReview]
}

/// One published review in a pair's history.
struct PairReview: Codable, Sendable {
    var orderId: String
    /// "consumer" or "provider".
    var authorRole: String
    var author: String
    var rating: Int
    var text: String
    var publishedMs: Int64
}

/// The service record of one provider–consumer pair, visible only to the two of them.
enum History {
    static func register(_ routes: inout Routes) {
        routes.method("history") { (query: HistoryQuery, context) -> HistoryRecord in
            let caller = try context.requireCaller()
            let space = try Spaces.load(query.spaceId, context)
            let consumer: String
            if space.managers.contains(caller.id) {
                guard let named = query.consumer, let key = CallerKey(named) else {
                    throw AppError.badRequest("consumer is required when a manager asks (a key id)", code: "invalid_field")
                }
                consumer = key.id
            } else {
                if let named = query.consumer, CallerKey(named)?.id != caller.id {
                    throw AppError.forbidden("a consumer sees only their own history with a Space")
                }
                consumer = caller.id
            }
            let ids = try context.sql.query("""
                SELECT w.id FROM syn_workflow w WHERE w.workflow = 'order' AND w.consumer = ?
                AND (EXISTS (SELECT 1 FROM bookings b WHERE b.order_id = w.id AND b.space_id = ?)
                     OR EXISTS (SELECT 1 FROM quotes q JOIN jobs j ON j.id = q.job_id WHERE q.order_id = w.id AND j.space_id = ?))
                ORDER BY w.updated_ms DESC LIMIT 500
                """, [.text(consumer), .text(space.id), .text(space.id)]).compactMap { $0.text(0) }
            var reviews: [PairReview] = []
            for id in ids {
                reviews += try context.sql.query("""
                    SELECT author_role, author, rating, text, published_ms FROM reviews
                    WHERE order_id = ? AND published_ms IS NOT NULL ORDER BY author_role
                    """, [.text(id)]).map { r in
                    PairReview(orderId: id, authorRole: r.text(0) ?? "", author: r.text(1) ?? "", rating: r.int(2) ?? 0,
                               text: r.text(3) ?? "", publishedMs: Int64(r.int(4) ?? 0))
                }
            }
            return HistoryRecord(spaceId: space.id, consumer: consumer, orders: try ids.map { try Orders.view($0, context) },
                                 reviews: reviews)
        }
    }
}
