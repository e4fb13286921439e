import SynAppKit
import SynSpaces

/// A delivery zone: a radius around the store or a list of postcodes, with its fee and minimum order (minor units).
struct DeliveryZone: Codable, Sendable, Equatable {
    var name: String
    var radiusKm: Double?
    var postcodes: [String]?
    var fee: Int
    var minOrder: Int
}

/// What a store's orders follow once accepted: the cancellation fee, and what happens to an order left uncollected.
struct StorePolicy: Codable, Sendable, Equatable {
    /// Percent of the total kept when the customer cancels after the store accepted (before it: free).
    var cancelFeePercent: Int
    /// "charge" (the customer pays for what was prepared) or "refund".
    var uncollected: String
}

/// What `stores.create` takes (every field but `id` optional in `stores.update`).
struct StoreInput: Codable, Sendable {
    var name: String
    var kind: String
    var description: String
    var location: Location
    var timeZone: String
    var currency: String
    var terms: String
    /// Opening hours, local.
    var hours: [DayHours]
    /// When customers may collect, local; default: the opening hours.
    var pickupWindows: [DayHours]?
    var deliveryZones: [DeliveryZone]?
    /// How long a quote holds its stock (1 to 120 minutes; default 15).
    var holdMinutes: Int?
    /// How long a placed order waits for the store to accept it before it expires (1 to 1440; default 30).
    var acceptMinutes: Int?
    /// How long a ready pickup order waits to be collected before the policy closes it (1 to 168 hours; default 24).
    var collectHours: Int?
    var policy: StorePolicy?
    var reviewWindowDays: Int?
    /// How long a courier has to accept a delivery offer before it goes to the next (1 to 120 minutes; default 10).
    var offerMinutes: Int?
}

struct StoreUpdate: Codable, Sendable {
    var id: String
    var name: String?
    var kind: String?
    var description: String?
    var location: Location?
    var timeZone: String?
    var currency: String?
    var terms: String?
    var hours: [DayHours]?
    var pickupWindows: [DayHours]?
    var deliveryZones: [DeliveryZone]?
    var holdMinutes: Int?
    var acceptMinutes: Int?
    var collectHours: Int?
    var policy: StorePolicy?
    var reviewWindowDays: Int?
    var offerMinutes: Int?
}

/// The settings kept as one JSON column.
struct StoreSettings: Codable, Sendable, Equatable {
    var hours: [DayHours]
    var pickupWindows: [DayHours]
    var deliveryZones: [DeliveryZone]
    var holdMinutes: Int
    var acceptMinutes: Int
    var collectHours: Int
    var policy: StorePolicy
    /// Absent in stores made by 0.1.0: 10.
    var offerMinutes: Int?
}

/// A store as every method returns it.
struct Store: Codable, Sendable, Equatable {
    var id: String
    var name: String
    var kind: String
    var description: String
    var location: Location
    var timeZone: String
    var currency: String
    var terms: String
    var hours: [DayHours]
    var pickupWindows: [DayHours]
    var deliveryZones: [DeliveryZone]
    var holdMinutes: Int
    var acceptMinutes: Int
    var collectHours: Int
    var policy: StorePolicy
    var reviewWindowDays: Int
    var offerMinutes: Int
    var managers: [String]
    var openNow: Bool
    var createdMs: Int64
    var updatedMs: Int64
}

/// Dietary attributes a customer filters on.
struct Attributes: Codable, Sendable, Equatable {
    var vegetarian: Bool?
    var vegan: Bool?
    var allergens: [String]?
}

struct ProductInput: Codable, Sendable {
    var storeId: String
    var id: String?
    var title: String
    var description: String
    /// "box", "loaf", "kg", …
    var unit: String
    /// Minor units of the store's currency.
    var price: Int
    var tags: [String]?
    var attributes: Attributes?
    /// A new product needs `stock` (units) or `unlimited: true`; an existing one keeps its stock when both are
    /// absent (stock changes go through `stock.set` and `stock.adjust`).
    var stock: Int?
    var unlimited: Bool?
    /// The daily selling window, "HH:MM" local (both or neither).
    var availableFrom: String?
    var availableUntil: String?
    /// Past this instant the product leaves search and its holds are released.
    var sellByMs: Int64?
}

struct Product: Codable, Sendable, Equatable {
    var storeId: String
    var id: String
    var title: String
    var description: String
    var unit: String
    var price: Int
    var currency: String
    var tags: [String]
    var attributes: Attributes
    /// nil: unlimited.
    var stock: Int?
    /// Units held by live quotes.
    var held: Int
    /// What a new quote may take now (nil: unlimited).
    var available: Int?
    var availableFrom: String?
    var availableUntil: String?
    var sellByMs: Int64?
    var updatedMs: Int64
}

struct ProductRef: Codable, Sendable {
    var storeId: String
    var id: String
}

struct StoreProducts: Codable, Sendable {
    var storeId: String
    var products: [Product]
}

struct StoreQuery: Codable, Sendable { var storeId: String }

/// `stock` units, or `unlimited: true`: exactly one.
struct StockSet: Codable, Sendable {
    var storeId: String
    var productId: String
    var stock: Int?
    var unlimited: Bool?
}

struct StockAdjust: Codable, Sendable {
    var storeId: String
    var productId: String
    var delta: Int
}

struct Removed: Codable, Sendable { var removed: Bool }
