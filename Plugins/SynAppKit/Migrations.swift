import FoundationEssentials

/// Per-app schema migrations: numbered SQL scripts applied once each, in order, recorded in `syn_migrations`.
enum Migrations {
    static func apply(_ scripts: [String], _ context: Context) throws {
        guard !scripts.isEmpty else { return }
        let sql = context.sql
        try sql.exec("CREATE TABLE IF NOT EXISTS syn_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)")
        let done = try sql.first("SELECT coalesce(max(version), 0) FROM syn_migrations")?.int(0) ?? 0
        guard done <= scripts.count else {
            throw AppError(status: 500, code: "schema_newer",
                           "the database is at migration \(done) but this version of the app knows only \(scripts.count): refusing to run an older app on newer data")
        }
        for (index, script) in scripts.enumerated() where index + 1 > done {
            for statement in Self.statements(script) { try sql.exec(statement) }
            try sql.exec("INSERT INTO syn_migrations(version, applied_ms) VALUES (?, ?)", [.integer(Int64(index + 1)), .integer(context.nowMs)])
        }
    }

    /// A script split at top-level semicolons (not inside quotes or BEGIN...END trigger bodies).
    static func statements(_ script: String) -> [String] {
        var out: [String] = [], current = "", quote: Character? = nil, depth = 0
        var word = ""
        for ch in script {
            current.append(ch)
            if let q = quote {
                if ch == q { quote = nil }
                continue
            }
            if ch == "'" || ch == "\"" { quote = ch; continue }
            if ch.isLetter { word.append(ch); continue }
            switch word.uppercased() {
            case "BEGIN", "CASE": depth += 1
            case "END": depth = max(0, depth - 1)
            default: break
            }
            word = ""
            if ch == ";" && depth == 0 {
                let s = trim(String(current.dropLast()))
                if !s.isEmpty { out.append(s) }
                current = ""
            }
        }
        let rest = trim(current)
        if !rest.isEmpty { out.append(rest) }
        return out
    }

    static func trim(_ s: String) -> String {
        String(s.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
