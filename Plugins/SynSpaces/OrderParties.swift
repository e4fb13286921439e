public import SynAppKit

/// An order's parties and terms, as a Space app tells another app on the node (Messaging) through `app_call`
/// (`orders.parties`, answered only to apps): who the customer is, who manages the Space that serves it, and where
/// the order stands.
public struct OrderParties: Codable, Sendable, Equatable {
    public var orderId: String
    /// The thread's title, e.g. "FoodMesh order 0193…".
    public var title: String
    public var customer: String
    public var managers: [String]
    public var state: String
    public var amount: Int?
    public var currency: String?

    public init(orderId: String, title: String, customer: String, managers: [String], state: String, amount: Int?, currency: String?) {
        self.orderId = orderId
        self.title = title
        self.customer = customer
        self.managers = managers
        self.state = state
        self.amount = amount
        self.currency = currency
    }

    /// 404 unless the call came from another app: clients learn an order's parties from `orders.get`, as a party.
    public static func requireApp(_ context: Context) throws(AppError) {
        guard context.apps.origin != nil else { throw AppError.notFound("no method orders.parties for clients") }
    }
}

/// A workflow's transition event (`<app>.order.<transition>`), as SynAppKit emits it: the order's id and its
/// states.
public struct OrderEvent: Codable, Sendable {
    public var id: String
    public var transition: String
    public var from: String
    public var to: String
}

/// A quote's parties and terms, as HomeServices tells another app on the node that opens a conversation about it
/// (Messaging) through `app_call` (`quotes.parties`, answered only to apps).
public struct QuoteParties: Codable, Sendable, Equatable {
    public var quoteId: String
    public var jobId: String
    public var consumer: String
    public var author: String
    public var amount: Int
    public var currency: String
    public var note: String
    public var state: String

    public init(quoteId: String, jobId: String, consumer: String, author: String, amount: Int, currency: String, note: String, state: String) {
        self.quoteId = quoteId
        self.jobId = jobId
        self.consumer = consumer
        self.author = author
        self.amount = amount
        self.currency = currency
        self.note = note
        self.state = state
    }
}
