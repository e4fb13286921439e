import Foundation
import SynGateway
import SynRuntime
import SynSodium
import Testing

/// The shape of every HomeServices method's input: each required field left out, each field null, and each field
/// of the wrong type gets 400 `bad_input` naming the field. The documents use made-up ids: a document is checked
/// before anything is looked up.
@Suite struct HomeServicesInputTests {
    typealias H = HomeServicesTests

    /// Every method, a valid document, and its required fields (JSON paths; `[0]` is an array's first element).
    static let methods: [(method: String, body: String, required: [String])] = [
        ("spaces.create", H.space,
         ["name", "trade", "description", "location", "location.city", "location.lat", "location.lon", "service_area_km",
          "terms", "cancellation", "cancellation.free_until_hours", "cancellation.fee_percent", "time_zone"]),
        ("spaces.update", ##"{"id":"s1","name":"N","trade":"t","description":"d","location":{"city":"Lyon","lat":1,"lon":2},"service_area_km":5,"branding":{"primary_color":"#000000","logo_url":"https://x","tagline":"t"},"terms":"t","cancellation":{"free_until_hours":1,"fee_percent":2},"time_zone":"UTC","review_window_days":14}"##,
         ["id", "location.city", "location.lat", "location.lon", "cancellation.free_until_hours", "cancellation.fee_percent"]),
        ("spaces.get", #"{"id":"s1"}"#, ["id"]),
        ("spaces.managers.add", #"{"space_id":"s1","manager":"m"}"#, ["space_id", "manager"]),
        ("spaces.managers.remove", #"{"space_id":"s1","manager":"m"}"#, ["space_id", "manager"]),
        ("catalog.upsert", #"{"space_id":"s1","id":"i1","title":"T","description":"D","kind":"slot","duration_minutes":60,"price":{"model":"fixed","amount":100,"currency":"EUR"},"cancellation":{"free_until_hours":1,"fee_percent":2}}"#,
         ["space_id", "title", "description", "kind", "duration_minutes", "price", "price.model", "price.currency",
          "cancellation.free_until_hours", "cancellation.fee_percent"]),
        ("catalog.remove", #"{"space_id":"s1","id":"i1"}"#, ["space_id", "id"]),
        ("catalog.list", #"{"id":"s1"}"#, ["id"]),
        ("availability.set", #"{"space_id":"s1","rules":{"weekly":[{"day":"mon","start":"09:00","end":"12:00"}],"breaks":[{"day":"mon","start":"10:00","end":"10:15"}],"exceptions":[{"date":"2030-01-01","hours":[{"start":"09:00","end":"10:00"}]}],"buffer_minutes":0,"min_notice_minutes":0,"horizon_days":30,"request_expiry_minutes":60}}"#,
         ["space_id", "rules", "rules.weekly", "rules.weekly[0].day", "rules.weekly[0].start", "rules.weekly[0].end",
          "rules.breaks[0].day", "rules.breaks[0].start", "rules.breaks[0].end", "rules.exceptions[0].date",
          "rules.exceptions[0].hours[0].start", "rules.exceptions[0].hours[0].end"]),
        ("slots.list", #"{"space_id":"s1","item_id":"i1","from":"2030-01-01","days":7}"#, ["space_id", "item_id"]),
        ("bookings.request", #"{"space_id":"s1","item_id":"i1","start_ms":1900000000000,"note":"n"}"#, ["space_id", "item_id", "start_ms"]),
        ("orders.transition", #"{"order_id":"o1","transition":"confirm"}"#, ["order_id", "transition"]),
        ("orders.get", #"{"order_id":"o1"}"#, ["order_id"]),
        ("orders.list", #"{"role":"consumer"}"#, ["role"]),
        ("orders.cancel_preview", #"{"order_id":"o1"}"#, ["order_id"]),
        ("jobs.request", #"{"space_id":"s1","item_id":"i1","description":"d","window":{"from_ms":1900000000000,"to_ms":1900000100000}}"#,
         ["space_id", "item_id", "description", "window", "window.from_ms", "window.to_ms"]),
        ("jobs.get", #"{"job_id":"j1"}"#, ["job_id"]),
        ("quotes.create", #"{"job_id":"j1","amount":100,"currency":"EUR","note":"n","valid_for_hours":24}"#,
         ["job_id", "amount", "currency", "valid_for_hours"]),
        ("quotes.accept", #"{"quote_id":"q1"}"#, ["quote_id"]),
        ("quotes.withdraw", #"{"quote_id":"q1"}"#, ["quote_id"]),
        ("jobs.cancel", #"{"job_id":"j1"}"#, ["job_id"]),
        ("reviews.create", #"{"order_id":"o1","rating":5,"text":"t"}"#, ["order_id", "rating", "text"]),
        ("reviews.list", #"{"id":"s1"}"#, ["id"]),
        ("vouch", #"{"space_id":"s1","text":"t"}"#, ["space_id"]),
        ("reputation.get", #"{"id":"s1"}"#, ["id"]),
        ("search", #"{"q":"leak","trade":"plumbing","city":"Lyon","price_min":1,"price_max":2,"rating_min":1,"near":{"lat":1,"lon":2,"km":3},"limit":5}"#,
         ["near.lat", "near.lon", "near.km"]),
        ("history", #"{"space_id":"s1","consumer":"c"}"#, ["space_id"]),
    ]

    /// Every value's path in a document, in the message's notation.
    static func paths(_ value: Any, _ prefix: String = "") -> [String] {
        switch value {
        case let object as [String: Any]:
            return object.keys.sorted().flatMap { key -> [String] in
                let path = prefix.isEmpty ? key : prefix + "." + key
                return [path] + paths(object[key] as Any, path)
            }
        case let array as [Any]:
            return array.indices.flatMap { i -> [String] in [prefix + "[\(i)]"] + paths(array[i], prefix + "[\(i)]") }
        default:
            return []
        }
    }

    /// `document` with the value at `path` replaced by `transform` of it (nil: removed).
    static func editing(_ document: Any, _ path: [PathStep], _ transform: (Any) -> Any?) -> Any {
        guard let step = path.first else { return transform(document) as Any }
        switch (step, document) {
        case (.key(let k), var object as [String: Any]):
            if path.count == 1 { object[k] = transform(object[k] as Any) } else { object[k] = editing(object[k] as Any, Array(path.dropFirst()), transform) }
            return object
        case (.index(let i), var array as [Any]):
            array[i] = path.count == 1 ? (transform(array[i]) ?? NSNull()) : editing(array[i], Array(path.dropFirst()), transform)
            return array
        default:
            return document
        }
    }

    enum PathStep { case key(String), index(Int) }

    static func steps(_ path: String) -> [PathStep] {
        var steps: [PathStep] = []
        for part in path.split(separator: ".") {
            var name = Substring(part)
            var indices: [Int] = []
            while let open = name.lastIndex(of: "["), name.hasSuffix("]"), let i = Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) {
                indices.insert(i, at: 0)
                name = name[..<open]
            }
            if !name.isEmpty { steps.append(.key(String(name))) }
            steps += indices.map { .index($0) }
        }
        return steps
    }

    /// A value of another JSON type than `value`.
    static func wrongType(_ value: Any) -> Any {
        switch value {
        case is String: return 7
        case is [Any]: return "x"
        case is [String: Any]: return "x"
        default: return "7"   // numbers and booleans
        }
    }

    static func json(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]), as: UTF8.self)
    }

    @Test func everyFieldOfEveryMethodIsChecked() async throws {
        try await LiveNode.with { node in
            let ada = try GatewayTests.key(node, "ada")
            var checked = 0
            func expect400(_ method: String, _ body: String, _ message: String) async throws {
                let r = try await H.call(node, method, body, as: ada)
                let error = r.json["error"] as? [String: Any]
                #expect(r.status == 400 && error?["code"] as? String == "bad_input" && (error?["message"] as? String)?.contains(message) == true,
                        "\(method) \(body) → \(r.status) \(r.text), wanted: \(message)")
                // The gateway adds the request id to the app's error, as to its own.
                #expect(r.json["request_id"] as? String == r.headers["x-request-id"] && r.headers["x-request-id"] != nil, "\(r.headers)")
                checked += 1
            }
            for (method, body, required) in Self.methods {
                let document = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)))
                let all = Self.paths(document)
                #expect(Set(required).isSubset(of: Set(all)), "\(method): the table names a field its document lacks")
                for top in ["[]", "\"text\"", "7", "null"] { try await expect400(method, top, "the body") }
                for path in all {
                    let steps = Self.steps(path)
                    try await expect400(method, try Self.json(Self.editing(document, steps) { Self.wrongType($0) }), "field \"\(path)\": expected")
                    guard required.contains(path) else { continue }
                    if case .key = steps.last {
                        try await expect400(method, try Self.json(Self.editing(document, steps) { _ in nil }), "field \"\(path)\" is required")
                    }
                    try await expect400(method, try Self.json(Self.editing(document, steps) { _ in NSNull() }), "field \"\(path)\"")
                }
            }
            #expect(checked > 300)
        }
    }

    @Test func everyFieldOfASpaceIsKept() async throws {
        try await LiveNode.with { node in
            let ada = try GatewayTests.key(node, "ada")
            let body = ##"{"name":"N","trade":"tiling","description":"d","location":{"city":"Lyon","lat":45.5,"lon":4.5},"service_area_km":12.5,"branding":{"primary_color":"#00aa11","logo_url":"https://example.org/logo.png","tagline":"Straight lines"},"terms":"T","cancellation":{"free_until_hours":6,"fee_percent":15},"time_zone":"Europe/Paris","review_window_days":30}"##
            let created = try await H.call(node, "spaces.create", body, as: ada)
            let id = try #require(created.json["id"] as? String, "\(created.text)")
            let got = try await H.call(node, "spaces.get", #"{"id":"\#(id)"}"#, as: nil).json
            // Every input field comes back as it was sent (a field the decoder silently skipped would not).
            let sent = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            for (key, value) in sent {
                #expect(try Self.json(got[key] as Any) == (try Self.json(value)), "\(key)")
            }
        }
    }

    @Test func everyRuleAnswers400WithItsMessage() async throws {
        try await LiveNode.with { node in
            let ada = try GatewayTests.key(node, "ada"), carl = try GatewayTests.key(node, "carl")
            let (space, slot) = try await HomeServicesBookingTests.setUp(node, ada)
            let job = #"{"space_id":"\#(space)","id":"refit","title":"Refit","description":"","kind":"job","duration_minutes":480,"price":{"model":"quote","currency":"EUR"}}"#
            #expect(try await H.call(node, "catalog.upsert", job, as: ada).status == 200)
            let now = Int(Date().timeIntervalSince1970 * 1000), week = 7 * 86_400_000
            let jobID = try #require(try await H.call(node, "jobs.request", #"{"space_id":"\#(space)","item_id":"refit","description":"Tiles","window":{"from_ms":\#(now + week),"to_ms":\#(now + 2 * week)}}"#, as: carl).json["id"] as? String)

            func item(_ fields: String) -> String {
                #"{"space_id":"\#(space)","title":"T","description":"","kind":"slot","duration_minutes":60,"price":{"model":"fixed","amount":1,"currency":"EUR"}\#(fields)}"#
            }
            func rules(_ rules: String) -> String { #"{"space_id":"\#(space)","rules":{\#(rules)}}"# }
            func spaceWith(_ key: String, _ value: String) throws -> String {
                var object = try #require(try JSONSerialization.jsonObject(with: Data(H.space.utf8)) as? [String: Any])
                object[key] = try JSONSerialization.jsonObject(with: Data(value.utf8), options: [.fragmentsAllowed])
                return try Self.json(object)
            }
            let monday = #"{"day":"mon","start":"09:00","end":"12:00"}"#
            let cases: [(String, String, String)] = [
                ("slots.list", #"{"space_id":"\#(space)","item_id":"refit"}"#, "is a job: ask for a quote"),
                ("bookings.request", #"{"space_id":"\#(space)","item_id":"refit","start_ms":\#(now + week)}"#, "is a job: ask for a quote"),
                ("slots.list", #"{"space_id":"\#(space)","item_id":"\#(slot)","days":91}"#, "days must be 1 to 90"),
                ("availability.set", rules(#""weekly":[\#(Array(repeating: monday, count: 57).joined(separator: ","))]"#), "rules.weekly has more than 56 entries"),
                ("availability.set", rules(#""weekly":[],"exceptions":[\#((0..<367).map { _ in #"{"date":"2030-01-01"}"# }.joined(separator: ","))]"#), "rules.exceptions has more than 366 entries"),
                ("availability.set", rules(#""weekly":[{"day":"funday","start":"09:00","end":"12:00"}]"#), "rules.weekly[0].day must be mon, tue"),
                ("availability.set", rules(#""weekly":[{"day":"mon","start":"9am","end":"12:00"}]"#), "must be a time"),
                ("availability.set", rules(#""weekly":[{"day":"mon","start":"12:00","end":"09:00"}]"#), "ends before it starts"),
                ("availability.set", rules(#""weekly":[],"exceptions":[{"date":"2030-13-45"}]"#), "must be a date"),
                ("availability.set", rules(#""weekly":[],"buffer_minutes":1441"#), "rules.buffer_minutes must be 0 to 1440"),
                ("availability.set", rules(#""weekly":[],"min_notice_minutes":-1"#), "min_notice_minutes must be 0 to 43200"),
                ("availability.set", rules(#""weekly":[],"horizon_days":0"#), "horizon_days must be 1 to 365"),
                ("availability.set", rules(#""weekly":[],"request_expiry_minutes":0"#), "request_expiry_minutes must be 1 to 10080"),
                ("catalog.upsert", item(#","kind":"gig""#).replacingOccurrences(of: #""kind":"slot","#, with: ""), "kind must be slot or job"),
                ("catalog.upsert", item("").replacingOccurrences(of: #""duration_minutes":60"#, with: #""duration_minutes":2"#), "duration_minutes must be 5 to 1440"),
                ("catalog.upsert", item("").replacingOccurrences(of: #""title":"T""#, with: #""title":"\#(String(repeating: "x", count: 201))""#), "title is longer than 200 bytes"),
                ("catalog.upsert", item("").replacingOccurrences(of: #""description":"""#, with: #""description":"a\u0001b""#), "description contains control characters"),
                ("catalog.upsert", item(#","cancellation":{"free_until_hours":9000,"fee_percent":1}"#), "cancellation.free_until_hours must be 0 to 8760"),
                ("catalog.upsert", item(#","id":"\#(String(repeating: "i", count: 65))""#), "id is longer than 64 bytes"),
                ("history", #"{"space_id":"\#(space)"}"#, "consumer is required when a manager asks"),
                ("jobs.request", #"{"space_id":"\#(space)","item_id":"\#(slot)","description":"x","window":{"from_ms":\#(now + week),"to_ms":\#(now + 2 * week)}}"#, "is booked by slot"),
                ("jobs.request", #"{"space_id":"\#(space)","item_id":"refit","description":"x","window":{"from_ms":\#(now + week),"to_ms":\#(now + 60 * week)}}"#, "at most a year"),
                ("quotes.create", #"{"job_id":"\#(jobID)","amount":100,"currency":"EUR","valid_for_hours":0}"#, "valid_for_hours must be 1 to 720"),
                ("quotes.create", #"{"job_id":"\#(jobID)","amount":-1,"currency":"EUR","valid_for_hours":24}"#, "amount must be 0 to"),
                ("quotes.create", #"{"job_id":"\#(jobID)","amount":1,"currency":"euro","valid_for_hours":24}"#, "currency must be an ISO 4217 code"),
                ("availability.set", rules(#""weekly":[\#(monday),{"day":"mon","start":"11:00","end":"13:00"}]"#), "rules.weekly[1] overlaps rules.weekly[0]"),
                ("availability.set", rules(#""weekly":[],"breaks":[\#(Array(repeating: monday, count: 57).joined(separator: ","))]"#), "rules.breaks has more than 56 entries"),
                ("availability.set", rules(#""weekly":[],"exceptions":[{"date":"2030-01-01","hours":[\#(Array(repeating: #"{"start":"09:00","end":"10:00"}"#, count: 9).joined(separator: ","))]}]"#), "rules.exceptions[0].hours has more than 8 entries"),
                ("catalog.upsert", item("").replacingOccurrences(of: #""price":{"model":"fixed","amount":1,"currency":"EUR"}"#, with: #""price":{"model":"quote","currency":"EUR"}"#), "price.model quote is only for job items"),
                ("search", #"{"near":{"lat":91,"lon":2,"km":3}}"#, "near.lat must be between -90 and 90"),
                ("reviews.create", #"{"order_id":"o1","rating":6,"text":""}"#, "rating must be 1 to 5"),
                ("reviews.create", #"{"order_id":"o1","rating":0,"text":""}"#, "rating must be 1 to 5"),
                ("spaces.managers.add", #"{"space_id":"\#(space)","manager":"not a key"}"#, "manager must be a key id"),
                ("spaces.create", try spaceWith("location", #"{"city":"Lyon","lat":45,"lon":200}"#), "location.lon must be between -180 and 180"),
                ("spaces.create", try spaceWith("location", #"{"city":"","lat":45,"lon":4}"#), "location.city must not be empty"),
                ("spaces.create", try spaceWith("branding", #"{"logo_url":"http://example.org/x.png"}"#), "branding.logo_url must be an https URL"),
                ("spaces.create", try spaceWith("branding", #"{"tagline":"\#(String(repeating: "t", count: 201))"}"#), "branding.tagline is longer than 200 bytes"),
                ("spaces.create", try spaceWith("trade", #""Plumbing""#), "trade must be lowercase words"),
                ("spaces.update", #"{"id":"\#(space)","service_area_km":0}"#, "service_area_km must be above 0"),
                ("spaces.update", #"{"id":"\#(space)","review_window_days":91}"#, "review_window_days must be 1 to 90"),
                ("search", #"{"near":{"lat":1,"lon":2,"km":0}}"#, "near.km must be above 0"),
                ("search", #"{"price_min":5,"price_max":1}"#, "price_min is above price_max"),
                ("search", #"{"rating_min":6}"#, "rating_min must be 0 to 5"),
                ("orders.list", #"{"role":"owner"}"#, "role must be consumer or provider"),
                ("vouch", #"{"space_id":"\#(space)","text":"\#(String(repeating: "v", count: 501))"}"#, "text is longer than 500 bytes"),
            ]
            for (method, body, message) in cases {
                let signer = ["jobs.request", "reviews.create", "vouch", "orders.list"].contains(method) ? carl : ada
                let r = try await H.call(node, method, body, as: signer)
                let error = r.json["error"] as? [String: Any]
                #expect(r.status == 400 && (error?["message"] as? String)?.contains(message) == true,
                        "\(method) \(body.prefix(300)) → \(r.status) \(r.text.prefix(300)), wanted: \(message)")
            }
        }
    }
}
