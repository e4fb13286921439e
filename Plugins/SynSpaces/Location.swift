/// Where a Space is.
public struct Location: Codable, Sendable, Equatable {
    public var city: String
    public var lat: Double
    public var lon: Double

    public init(city: String, lat: Double, lon: Double) {
        self.city = city
        self.lat = lat
        self.lon = lon
    }
}
