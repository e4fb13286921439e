import FoundationEssentials
import SynAppKit
import SynSpaces

/// HomeServices' reviews: the shared review book (`SynSpaces.ReviewBook`) over its orders.
enum Reviews {
    static let book = ReviewBook(prefix: "homeservices") { orderID, caller, context in
        let (instance, data) = try Orders.load(orderID, context)
        let role = try Orders.role(of: caller, instance, data, context)
        return ReviewSubject(orderID: instance.id, spaceID: data.spaceId, consumer: instance.consumer?.id ?? "",
                             side: role == .consumer ? .consumer : .provider, completed: instance.state == "completed")
    }

    static func register(_ routes: inout Routes) { book.register(&routes) }

    /// Called when an order completes: opens its review window.
    static func completed(_ instance: WorkflowInstance, _ spaceID: String, _ context: Context) throws {
        try book.completed(orderID: instance.id, spaceID: spaceID, consumer: instance.consumer?.id ?? "", context)
    }

    static func windowTimer(_ timer: PublishTimer, _ context: Context) throws { try book.windowTimer(timer, context) }
}
