import SynAppKit
import SynSpaces

/// HomeServices: a home-services guild's Spaces, catalogs, bookings, orders and reviews.
///
/// This release: Spaces (create, update, get, managers), catalogs (upsert, remove, list), availability and
/// slots, bookings, jobs and quotes, orders, reviews with signed receipts, vouches and reputation, search and
/// the service history of a provider–consumer pair.
let app = SynApp(id: "homeservices", version: "0.3.0", migrations: Schema.migrations, workflows: [Orders.workflow],
                 jsonKeys: .snakeCase) { routes in
    Spaces.register(&routes)
    Catalog.register(&routes)
    Availability.register(&routes)
    Orders.register(&routes)
    Reviews.register(&routes)
    Search.register(&routes)
    Jobs.register(&routes)
    History.register(&routes)
    // The review window's end publishes whatever reviews the order has.
    routes.onTimer { (timer: PublishTimer, _, context) in try Reviews.windowTimer(timer, context) }
}

@_cdecl("synapp_magic") public func synappMagic() -> UnsafeRawPointer { app.magic }
@_cdecl("synapp_entry") public func synappEntry(_ host: UnsafeRawPointer?, _ minor: UnsafeMutablePointer<UInt32>?,
                                                _ out: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int32 {
    app.entry(host, minor, out)
}
