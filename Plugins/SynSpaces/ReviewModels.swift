/// What the reviews methods take and answer (every Space app's, the same).
public struct ReviewInput: Codable, Sendable {
    public var orderId: String
    public var rating: Int
    public var text: String
}

/// What the app signs for a published consumer review: anyone holding the app's public key can check it, on any
/// node, after the provider moves.
public struct ReviewReceipt: Codable, Sendable, Equatable {
    public var orderId: String
    public var space: String
    public var consumer: String
    public var rating: Int
    public var text: String
    public var timeMs: Int64
}

public struct PublishedReview: Codable, Sendable {
    public var receipt: ReviewReceipt
    /// The exact bytes signed (the receipt's canonical JSON), base64.
    public var signedJson: String
    /// Ed25519 over the app's signature domain, hex.
    public var signature: String
    /// The app's public key, hex.
    public var appKey: String
}

public struct ReviewState: Codable, Sendable {
    public var orderId: String
    public var mine: Bool
    public var published: Bool
}

public struct SpaceReviews: Codable, Sendable {
    public var spaceId: String
    public var reviews: [PublishedReview]
}

public struct VouchInput: Codable, Sendable {
    public var spaceId: String
    public var text: String?
}

public struct Reputation: Codable, Sendable {
    public var spaceId: String
    public var score: Double
    public var ratingCount: Int
    public var ratingMean: Double?
    public var vouches: Int
    public var formula: String
    public var components: [String: Double]
}

/// The review window's timer. A window longer than the node's longest timer (30 days) is closed by a chain of
/// timers: each one that fires before `closesAtMs` sets the next.
public struct PublishTimer: Codable, Sendable {
    public var publishReviewsOf: String
    /// When the window closes (absent in timers set before version 0.2.1: they close it when they fire).
    public var closesAtMs: Int64?

    public init(publishReviewsOf: String, closesAtMs: Int64?) {
        self.publishReviewsOf = publishReviewsOf
        self.closesAtMs = closesAtMs
    }
}
