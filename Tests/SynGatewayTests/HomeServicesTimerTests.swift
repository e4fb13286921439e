import Foundation
import SynBroker
import SynSystem
import SynGateway
import SynRuntime
import SynSQLite
import SynSodium
import Testing

/// HomeServices' long timers, fired for real: a request's expiry (at least a minute) and a review window's close
/// (at least 14 days). The node is stopped and each timer's due time, kept in `node.db`, is moved to now, as if that
/// much time had passed; the restarted node's dispatcher then delivers it to the app like any other.
@Suite struct HomeServicesTimerTests {
    typealias H = HomeServicesTests
    typealias B = HomeServicesBookingTests

    /// Stops `node`, makes every HomeServices timer due now, and starts it again. Returns the new node and how
    /// many timers were moved. With `windowsEnd`, the review windows' ends (`closesAtMs` in a window timer's
    /// payload) have come too; without it, only the timers' own due times have.
    static func afterTheWait<R>(_ node: LiveNode, windowsEnd: Bool = false,
                                _ body: (LiveNode, Int) async throws -> R) async throws -> R {
        await node.stop()
        let db = try Database(path: node.data + "/node.db")
        let moved = try db.execute("UPDATE timers SET due_ns = 0 WHERE app = 'homeservices'", [])
        if windowsEnd {
            _ = try db.execute("""
                UPDATE timers SET payload = CAST(json_set(CAST(payload AS TEXT), '$.closesAtMs', 0) AS BLOB)
                WHERE app = 'homeservices' AND json_type(CAST(payload AS TEXT), '$.closesAtMs') IS NOT NULL
                """, [])
        }
        db.close()
        // The app's own due work (timed transitions and review windows, in its database under one node timer for
        // all of them) has come due too; with `windowsEnd`, so have the windows' ends.
        let app = try Database(path: node.data + "/apps/homeservices/app.db")
        _ = try app.execute("UPDATE syn_due SET due_ms = 0", [])
        if windowsEnd {
            _ = try app.execute("""
                UPDATE syn_due SET payload = CAST(json_set(CAST(payload AS TEXT), '$.closes_at_ms', 0) AS BLOB)
                WHERE kind = 'synspaces.review_window'
                """, [])
        }
        app.close()
        return try await LiveNode.reopened(node) { try await body($0, moved) }
    }

    /// Polls `orders.get` until the order reaches `state` (the dispatcher delivers in the background).
    static func waitForState(_ node: LiveNode, _ order: String, _ state: String, as key: SigningKey) async throws -> LiveNode.Reply {
        var reply = try await H.call(node, "orders.get", #"{"order_id":"\#(order)"}"#, as: key)
        for _ in 0..<1000 where reply.json["state"] as? String != state {
            try await Task.sleep(for: .milliseconds(10))
            reply = try await H.call(node, "orders.get", #"{"order_id":"\#(order)"}"#, as: key)
        }
        return reply
    }

    /// A Space of ada's (see `HomeServicesBookingTests.setUp`, optionally with its review window changed), carl's
    /// booking of its first slot `inDays` ahead, and the order taken through `transitions` by ada.
    struct Booked {
        let ada: SigningKey, carl: SigningKey
        let space: String, item: String, order: String
    }

    static func booked(_ node: LiveNode, inDays: Int, then transitions: [String], reviewWindowDays: Int? = nil) async throws -> Booked {
        let ada = try GatewayTests.key(node, "ada"), carl = try GatewayTests.key(node, "carl")
        let (space, item) = try await B.setUp(node, ada)   // request_expiry_minutes = 60
        if let days = reviewWindowDays {
            #expect(try await H.call(node, "spaces.update", #"{"id":"\#(space)","review_window_days":\#(days)}"#, as: ada).status == 200)
        }
        let start = try #require(try await B.slots(node, space, item, from: B.parisDate(inDays: inDays)).first?["start_ms"] as? Int)
        let booked = try await H.call(node, "bookings.request", #"{"space_id":"\#(space)","item_id":"\#(item)","start_ms":\#(start)}"#, as: carl)
        let order = try #require(booked.json["id"] as? String, "\(booked.text)")
        for t in transitions {
            let r = try await H.call(node, "orders.transition", #"{"order_id":"\#(order)","transition":"\#(t)"}"#, as: ada)
            #expect(r.status == 200, "\(t): \(r.text)")
        }
        return Booked(ada: ada, carl: carl, space: space, item: item, order: order)
    }

    @Test func anUnconfirmedRequestExpiresAndFreesItsSlot() async throws {
        try await LiveNode.with { first in
            let b = try await Self.booked(first, inDays: 3, then: [])
            let (ada, carl, space, item, order) = (b.ada, b.carl, b.space, b.item, b.order)
            let date = B.parisDate(inDays: 3)
            #expect(try await B.slots(first, space, item, from: date).count == 2)

            try await Self.afterTheWait(first) { node, moved in
                #expect(moved == 1)
                let expired = try await Self.waitForState(node, order, "expired", as: carl)
                #expect(expired.json["state"] as? String == "expired", "\(expired.text)")
                let last = try #require((expired.json["history"] as? [[String: Any]])?.last)
                #expect(last["transition"] as? String == "expire" && last["role"] as? String == "system", "\(last)")
                // The slot is free again, and the provider can no longer confirm.
                #expect(try await B.slots(node, space, item, from: date).count == 3)
                let late = try await H.call(node, "orders.transition", #"{"order_id":"\#(order)","transition":"confirm"}"#, as: ada)
                #expect(late.status == 409, "\(late.text)")
                let types = node.runtime.broker.events.pending(for: "observer", limit: 500).map(\.type)
                #expect(types.contains("homeservices.order.expire"), "\(types)")
            }
        }
    }

    @Test func aConfirmedRequestDoesNotExpire() async throws {
        try await LiveNode.with { first in
            let b = try await Self.booked(first, inDays: 3, then: ["confirm"])
            let (carl, order) = (b.carl, b.order)

            try await Self.afterTheWait(first) { node, moved in
                #expect(moved == 1)
                // The expiry timer fires and finds the order moved on. Its delivery is done once the timer is gone.
                for _ in 0..<1000 where node.runtime.broker.events.pendingTimerCount(for: "homeservices") > 0 {
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(node.runtime.broker.events.pendingTimerCount(for: "homeservices") == 0)
                let kept = try await H.call(node, "orders.get", #"{"order_id":"\#(order)"}"#, as: carl)
                #expect(kept.json["state"] as? String == "confirmed", "\(kept.text)")
            }
        }
    }

    @Test func aClosedReviewWindowPublishesTheOneSidedReview() async throws {
        try await LiveNode.with { first in
            let b = try await Self.booked(first, inDays: 2, then: ["confirm", "start", "complete"])
            let (ada, carl, space, order) = (b.ada, b.carl, b.space, b.order)
            let review = try await H.call(first, "reviews.create", #"{"order_id":"\#(order)","rating":2,"text":"Came late."}"#, as: carl)
            #expect(review.json["published"] as? Bool == false, "\(review.text)")
            #expect((try await H.call(first, "reviews.list", #"{"id":"\#(space)"}"#, as: nil).json["reviews"] as? [Any])?.isEmpty == true)

            // The provider never answers: when the window closes, the consumer's review is published anyway.
            try await Self.afterTheWait(first, windowsEnd: true) { node, moved in
                #expect(moved >= 1)
                var reviews: [[String: Any]] = []
                for _ in 0..<1000 where reviews.isEmpty {
                    reviews = try await H.call(node, "reviews.list", #"{"id":"\#(space)"}"#, as: nil).json["reviews"] as? [[String: Any]] ?? []
                    if reviews.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
                }
                let published = try #require(reviews.first)
                let signed = try #require(Data(base64Encoded: published["signed_json"] as? String ?? ""))
                let signature = try #require(Hex.decode(published["signature"] as? String ?? ""))
                #expect(Ed25519.verify(publicKey: try #require(node.runtime.broker.publicKey(of: "homeservices")), domain: .app("homeservices"),
                                       message: Array(signed), signature: signature))
                let receipt = try #require(try JSONSerialization.jsonObject(with: signed) as? [String: Any])
                #expect(receipt["orderId"] as? String == order && receipt["rating"] as? Int == 2, "\(receipt)")
                // The window is closed: the provider can no longer review.
                let late = try await H.call(node, "reviews.create", #"{"order_id":"\#(order)","rating":5,"text":"Too late."}"#, as: ada)
                #expect(late.status == 409, "\(late.text)")
            }
        }
    }

    @Test func aReviewWindowLongerThanATimerIsClosedByAChain() async throws {
        try await LiveNode.with { first in
            let b = try await Self.booked(first, inDays: 2, then: ["confirm", "start", "complete"], reviewWindowDays: 60)
            let (carl, space, order) = (b.carl, b.space, b.order)
            // Node timers reach at most 30 days: the app's wake-up fires, finds the window's 60 days not yet passed,
            // and sets the next wake-up as far as a timer reaches, 30 days later.
            try await Self.afterTheWait(first) { node, moved in
                #expect(moved == 1)   // the app's one wake-up (the request's expiry, forgotten, and the window's close)
                let thirtyDaysNs = Int64(30 * 86_400) * 1_000_000_000
                var next: Int64?
                for _ in 0..<1000 {
                    next = node.runtime.broker.events.timers(for: "homeservices", dueBy: 0).next
                    if let next, next > WallClock.nowNs() + thirtyDaysNs - 3_600_000_000_000 { break }
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect((next ?? 0) > WallClock.nowNs() + thirtyDaysNs - 3_600_000_000_000, "\(String(describing: next))")
                // The window is still open.
                let review = try await H.call(node, "reviews.create", #"{"order_id":"\#(order)","rating":4,"text":"Good."}"#, as: carl)
                #expect(review.status == 200 && review.json["published"] as? Bool == false, "\(review.text)")

                // Sixty days on, the last timer of the chain closes the window and publishes the review.
                try await Self.afterTheWait(node, windowsEnd: true) { later, _ in
                    var reviews: [[String: Any]] = []
                    for _ in 0..<1000 where reviews.isEmpty {
                        reviews = try await H.call(later, "reviews.list", #"{"id":"\#(space)"}"#, as: nil).json["reviews"] as? [[String: Any]] ?? []
                        if reviews.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
                    }
                    #expect(reviews.count == 1)
                    #expect(later.runtime.broker.events.pendingTimerCount(for: "homeservices") == 0)
                }
            }
        }
    }
}
