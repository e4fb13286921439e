import CSynSQLite

/// The rules for app databases: which authorizer requests are refused, and why.
enum AppPolicy {
    /// Pragmas that only read, whatever their argument (a table, an index or a row count).
    static let readingPragmas: Set<String> = [
        "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list",
        "foreign_key_check", "integrity_check", "quick_check",
    ]
    /// Pragmas that may be queried but not set.
    static let queryOnlyPragmas: Set<String> = [
        "application_id", "page_count", "page_size", "freelist_count", "max_page_count",
        "data_version", // a change counter; FTS5 reads it to notice writes by other connections
    ]
    /// Pragmas that may be queried and set.
    static let writablePragmas: Set<String> = ["user_version"]

    /// Tables that belong to the host's code in the app's database, which app SQL may not touch.
    static let reservedTables: Set<String> = ["syn_outbox", "syn_meta", "syn_net_applied"]

    /// Why the authorizer request (`action` with its first two arguments) is refused, or nil if it is allowed.
    static func refusal(action: Int32, _ first: String?, _ second: String?) -> String? {
        for name in [first, second] {
            if let name, reservedTables.contains(name.lowercased()), action != SQLITE_FUNCTION, action != SQLITE_PRAGMA {
                return "the table \(name.lowercased()) belongs to the node (the outbox of events, timers and messages, and what was applied from peers)"
            }
        }
        switch action {
        case SQLITE_ATTACH:
            return "ATTACH is not allowed in app databases"
        case SQLITE_DETACH:
            return "DETACH is not allowed in app databases"
        case SQLITE_TRANSACTION:
            return "\((first ?? "BEGIN").uppercased()) is not allowed in app SQL: each call is one transaction, committed on a 2xx or 3xx answer (SAVEPOINT nests inside it)"
        case SQLITE_FUNCTION where second?.lowercased() == "load_extension":
            return "load_extension() is not allowed in app databases"
        case SQLITE_PRAGMA:
            return pragmaRefusal(name: first?.lowercased() ?? "", argument: second)
        default:
            return nil
        }
    }

    private static func pragmaRefusal(name: String, argument: String?) -> String? {
        if readingPragmas.contains(name) || writablePragmas.contains(name) { return nil }
        if queryOnlyPragmas.contains(name) {
            return argument == nil ? nil : "setting PRAGMA \(name) is not allowed in app databases"
        }
        return "PRAGMA \(name) is not allowed in app databases"
    }

    /// Why a statement starting with `words` (see `SQLScanner.leadingWords`) is refused. VACUUM never reaches the
    /// authorizer when prepared: it attaches its target only when run, so it is caught here by its keyword.
    static func statementRefusal(words: [String]) -> String? {
        guard words.first == "vacuum" else { return nil }
        return words.dropFirst().contains("into")
            ? "VACUUM INTO is not allowed in app databases"
            : "VACUUM is not allowed in app databases; the host compacts them with Database.vacuum()"
    }
}
