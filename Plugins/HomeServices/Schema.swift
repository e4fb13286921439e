/// HomeServices' database, as SynAppKit migrations: append new scripts, never edit old ones.
enum Schema {
    static let migrations = [
        """
        CREATE TABLE spaces (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, trade TEXT NOT NULL, description TEXT NOT NULL,
            city TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL, service_area_km REAL NOT NULL,
            branding TEXT NOT NULL, terms TEXT NOT NULL, time_zone TEXT NOT NULL,
            cancel_free_hours INTEGER NOT NULL, cancel_fee_percent INTEGER NOT NULL,
            created_by TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
        );
        CREATE TABLE space_managers (
            space_id TEXT NOT NULL REFERENCES spaces(id), manager TEXT NOT NULL, added_by TEXT NOT NULL,
            added_ms INTEGER NOT NULL, PRIMARY KEY (space_id, manager)
        ) WITHOUT ROWID;
        CREATE INDEX space_managers_by_key ON space_managers(manager);
        CREATE TABLE catalog (
            space_id TEXT NOT NULL REFERENCES spaces(id), id TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('slot', 'job')), duration_minutes INTEGER NOT NULL,
            price_model TEXT NOT NULL CHECK (price_model IN ('fixed', 'hourly', 'quote')), amount INTEGER, currency TEXT NOT NULL,
            cancel_free_hours INTEGER, cancel_fee_percent INTEGER, updated_ms INTEGER NOT NULL,
            PRIMARY KEY (space_id, id)
        ) WITHOUT ROWID;
        """,
        """
        CREATE TABLE availability (
            space_id TEXT PRIMARY KEY REFERENCES spaces(id), rules TEXT NOT NULL, updated_ms INTEGER NOT NULL
        );
        CREATE TABLE bookings (
            order_id TEXT PRIMARY KEY, space_id TEXT NOT NULL, item_id TEXT NOT NULL, start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL, active INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX bookings_by_time ON bookings(space_id, active, start_ms);
        """,
        """
        CREATE TABLE reviews (
            order_id TEXT NOT NULL, author_role TEXT NOT NULL CHECK (author_role IN ('consumer', 'provider')),
            space_id TEXT NOT NULL, author TEXT NOT NULL, subject TEXT NOT NULL, rating INTEGER NOT NULL,
            text TEXT NOT NULL, created_ms INTEGER NOT NULL, published_ms INTEGER, receipt TEXT, signature TEXT,
            PRIMARY KEY (order_id, author_role)
        ) WITHOUT ROWID;
        CREATE INDEX reviews_by_space ON reviews(space_id, author_role, published_ms);
        CREATE TABLE completions (order_id TEXT PRIMARY KEY, space_id TEXT NOT NULL, consumer TEXT NOT NULL, completed_ms INTEGER NOT NULL);
        CREATE TABLE vouches (space_id TEXT NOT NULL, voucher TEXT NOT NULL, text TEXT NOT NULL, created_ms INTEGER NOT NULL,
                              PRIMARY KEY (space_id, voucher)) WITHOUT ROWID;
        """,
        """
        CREATE VIRTUAL TABLE spaces_fts USING fts5(space_id UNINDEXED, name, description, trade, city);
        ALTER TABLE spaces ADD COLUMN rating_sum INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE spaces ADD COLUMN rating_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE spaces ADD COLUMN min_price INTEGER;
        ALTER TABLE spaces ADD COLUMN max_price INTEGER;
        CREATE INDEX spaces_by_place ON spaces(lat, lon);
        CREATE INDEX spaces_by_trade ON spaces(trade, city);
        """,
        """
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY, space_id TEXT NOT NULL, item_id TEXT NOT NULL, consumer TEXT NOT NULL, description TEXT NOT NULL,
            from_ms INTEGER NOT NULL, to_ms INTEGER NOT NULL, state TEXT NOT NULL, created_ms INTEGER NOT NULL
        );
        CREATE TABLE quotes (
            id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id), author TEXT NOT NULL, amount INTEGER NOT NULL,
            currency TEXT NOT NULL, note TEXT NOT NULL, valid_until_ms INTEGER NOT NULL, state TEXT NOT NULL,
            order_id TEXT, created_ms INTEGER NOT NULL
        );
        CREATE INDEX quotes_by_job ON quotes(job_id);
        """,
        """
        ALTER TABLE spaces ADD COLUMN review_window_days INTEGER NOT NULL DEFAULT 14;
        ALTER TABLE completions ADD COLUMN window_ms INTEGER NOT NULL DEFAULT 1209600000;
        """,
        // When the window's timer closed it: from then on no review is taken, whatever the clock says.
        """
        ALTER TABLE completions ADD COLUMN closed_ms INTEGER;
        """,
        // A Space's search row was found by scanning every Space's (FTS5 does not index UNINDEXED columns): the rows
        // are made again under their Space's rowid, and found by it.
        """
        DELETE FROM spaces_fts;
        INSERT INTO spaces_fts(rowid, space_id, name, description, trade, city) SELECT rowid, id, name, description, trade, city FROM spaces;
        """,
        // A provider's quoted orders and a pair's history read every quote: quotes are found by order, jobs by Space.
        """
        CREATE INDEX quotes_by_order ON quotes(order_id) WHERE order_id IS NOT NULL;
        CREATE INDEX jobs_by_space ON jobs(space_id);
        """,
        // `jobs.list`: a consumer's jobs, newest first.
        """
        CREATE INDEX jobs_by_consumer ON jobs(consumer, created_ms);
        """,
    ]
}
