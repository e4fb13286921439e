import SynAppKit
import SynSpaces

/// Messaging: conversations whose every message and change is an envelope signed by its author, verifiable anywhere.
///
/// This release (issue 15, first part): direct conversations and groups on one node; texts and structured
/// documents; members added, removed and promoted by admins, leaving and renaming, all as signed envelopes applied
/// in their deterministic order; history by cursor; full-text search over the caller's own conversations; read
/// positions and unread counts. Replication to members' home nodes, threads on orders, attachments, edits and
/// live streams come next.
let app = SynApp(id: "messaging", version: "0.1.0", migrations: Schema.migrations, jsonKeys: .snakeCase) { routes in
    Messages.register(&routes)
    Conversations.register(&routes)
    Live.register(&routes)
    Attachments.register(&routes)
    // Threads on HomeServices jobs: each quote shows in its job's thread.
    for kind in ["created", "withdrawn", "accepted"] {
        routes.onEvent("homeservices.quote.\(kind)") { (event: QuoteRef, _, context) in try OrderThreads.quoteChanged(event, kind: kind, context) }
    }
    // Threads on HomeServices and FoodMesh orders: each step shows in the order's thread.
    for pivot in OrderThreads.orderApps {
        routes.onEvent("\(pivot).order.*") { (event: OrderEvent, _, context) in try OrderThreads.orderChanged(app: pivot, event, context) }
    }
    routes.onPeerMessage { (message: PeerMessage, peer, context) in
        if let envelope = message.envelope { try Replication.received(envelope, from: peer, context) }
        if let delivered = message.delivered { try Replication.delivered(delivered, from: peer, context) }
        if let bootstrap = message.bootstrap { try Replication.bootstrapped(bootstrap, from: peer, context) }
        if let attachment = message.attachment { try Attachments.received(attachment, from: peer, context) }
    }
}

@_cdecl("synapp_magic") public func synappMagic() -> UnsafeRawPointer { app.magic }
@_cdecl("synapp_entry") public func synappEntry(_ host: UnsafeRawPointer?, _ minor: UnsafeMutablePointer<UInt32>?,
                                                _ out: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int32 {
    app.entry(host, minor, out)
}
