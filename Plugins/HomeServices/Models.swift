import SynAppKit
import SynSpaces

/// How a Space presents itself.
struct Branding: Codable, Sendable, Equatable {
    var primaryColor: String?
    var logoUrl: String?
    var tagline: String?
}

/// What `spaces.create` takes (and `spaces.update`, every field optional there).
struct SpaceInput: Codable, Sendable {
    var name: String
    var trade: String
    var description: String
    var location: Location
    var serviceAreaKm: Double
    var branding: Branding?
    var terms: String
    var cancellation: CancellationPolicy
    var timeZone: String
    /// How long after an order completes both sides may review it (1 to 90 days; default 14).
    var reviewWindowDays: Int?
}

struct SpaceUpdate: Codable, Sendable {
    var id: String
    var name: String?
    var trade: String?
    var description: String?
    var location: Location?
    var serviceAreaKm: Double?
    var branding: Branding?
    var terms: String?
    var cancellation: CancellationPolicy?
    var timeZone: String?
    var reviewWindowDays: Int?
}

/// A Space as every method returns it.
struct Space: Codable, Sendable, Equatable {
    var id: String
    var name: String
    var trade: String
    var description: String
    var location: Location
    var serviceAreaKm: Double
    var branding: Branding
    var terms: String
    var cancellation: CancellationPolicy
    var timeZone: String
    var reviewWindowDays: Int
    var managers: [String]
    var createdMs: Int64
    var updatedMs: Int64
}

/// A price: `fixed` or `hourly` with an amount in minor units, or `quote` (priced per job).
struct Price: Codable, Sendable, Equatable {
    var model: String
    var amount: Int?
    var currency: String
}

struct CatalogItemInput: Codable, Sendable {
    var spaceId: String
    var id: String?
    var title: String
    var description: String
    var kind: String
    var durationMinutes: Int
    var price: Price
    /// Falls back to the Space's default policy.
    var cancellation: CancellationPolicy?
}

struct CatalogItem: Codable, Sendable, Equatable {
    var spaceId: String
    var id: String
    var title: String
    var description: String
    var kind: String
    var durationMinutes: Int
    var price: Price
    var cancellation: CancellationPolicy
    var updatedMs: Int64
}

struct CatalogRef: Codable, Sendable {
    var spaceId: String
    var id: String
}

struct SpaceItems: Codable, Sendable {
    var spaceId: String
    var items: [CatalogItem]
}

struct Removed: Codable, Sendable { var removed: Bool }
