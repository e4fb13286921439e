/// Free until `freeUntilHours` before the start, then `feePercent` of the price.
public struct CancellationPolicy: Codable, Sendable, Equatable {
    public var freeUntilHours: Int
    public var feePercent: Int

    public init(freeUntilHours: Int, feePercent: Int) {
        self.freeUntilHours = freeUntilHours
        self.feePercent = feePercent
    }
}
