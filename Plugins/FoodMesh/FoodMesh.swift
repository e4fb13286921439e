import SynAppKit
import SynSpaces

/// FoodMesh: small restaurants, bakeries and grocers sell today's perishable stock, held by quotes so it never
/// oversells, for pickup or delivery.
///
/// This release: stores (hours, pickup windows, delivery zones, policies, managers), products with counted or
/// unlimited stock, daily selling windows and sell-by times, quotes that hold stock, orders through their whole
/// workflow with a payment ledger, search, reviews with signed receipts, and deliveries by couriers who run
/// FoodMesh on their own nodes.
let app = SynApp(id: "foodmesh", version: "0.2.0", migrations: Schema.migrations, workflows: [Orders.workflow, Deliveries.workflow],
                 jsonKeys: .snakeCase) { routes in
    Stores.register(&routes)
    Products.register(&routes)
    Quotes.register(&routes)
    Orders.register(&routes)
    Payments.register(&routes)
    Search.register(&routes)
    Reviews.book.register(&routes)
    Deliveries.register(&routes)
    routes.onPeerMessage { (message: DeliveryMessage, peer, context) in try Deliveries.received(message, from: peer, context) }
    // Holds, sell-by times and offers are due work in the app's database (one node timer for all of them).
    routes.onDue(Quotes.holdKind) { (_: Empty, quote, context) in try Quotes.holdTimer(quote, context) }
    routes.onDue(Quotes.sellByKind) { (product: ProductRef, _, context) in try Quotes.sellByTimer(store: product.storeId, product: product.id, context) }
    routes.onDue(Deliveries.offerKind) { (offer: OfferTimeout, delivery, context) in try Deliveries.offerTimer(delivery, attempt: offer.attempt, context) }
    // Node timers that FoodMesh 0.1.0 set, one per hold and sell-by, still pending in its database's node.
    routes.onTimer { (timer: LegacyTimer, _, context) in
        if let quote = timer.releaseQuote { try Quotes.holdTimer(quote, context) }
        if let store = timer.sellByStore, let product = timer.sellByProduct { try Quotes.sellByTimer(store: store, product: product, context) }
    }
}

/// A node timer of FoodMesh 0.1.0.
struct LegacyTimer: Codable, Sendable {
    var releaseQuote: String?
    var sellByStore: String?
    var sellByProduct: String?
}

@_cdecl("synapp_magic") public func synappMagic() -> UnsafeRawPointer { app.magic }
@_cdecl("synapp_entry") public func synappEntry(_ host: UnsafeRawPointer?, _ minor: UnsafeMutablePointer<UInt32>?,
                                                _ out: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int32 {
    app.entry(host, minor, out)
}
