import SynAppKit
import SynSpaces

/// FoodMesh's reviews: the shared review book (`SynSpaces.ReviewBook`) over its orders; a completed order opens
/// the window.
enum Reviews {
    static let book = ReviewBook(prefix: "foodmesh") { orderID, caller, context in
        let (instance, data) = try Orders.load(orderID, context)
        let role = try Orders.role(of: caller, instance, data, context)
        return ReviewSubject(orderID: instance.id, spaceID: data.storeId, consumer: instance.consumer?.id ?? "",
                             side: role == .consumer ? .consumer : .provider, completed: instance.state == "completed")
    }
}
