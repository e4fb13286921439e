import SynSpaces

/// FoodMesh's database, as SynAppKit migrations: append new scripts, never edit old ones.
enum Schema {
    static let migrations = [
        """
        CREATE TABLE spaces (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, description TEXT NOT NULL,
            city TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL, time_zone TEXT NOT NULL, currency TEXT NOT NULL,
            terms TEXT NOT NULL, settings TEXT NOT NULL, created_by TEXT NOT NULL, created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL, rating_sum INTEGER NOT NULL DEFAULT 0, rating_count INTEGER NOT NULL DEFAULT 0,
            review_window_days INTEGER NOT NULL DEFAULT 14
        );
        CREATE INDEX spaces_by_place ON spaces(lat, lon);
        """ + SpaceManagers.schema + """
        CREATE TABLE products (
            store_id TEXT NOT NULL REFERENCES spaces(id), id TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL,
            unit TEXT NOT NULL, price INTEGER NOT NULL, tags TEXT NOT NULL, attributes TEXT NOT NULL,
            stock INTEGER CHECK (stock IS NULL OR stock >= 0), held INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
            available_from INTEGER, available_until INTEGER, sell_by_ms INTEGER, removed INTEGER NOT NULL DEFAULT 0,
            updated_ms INTEGER NOT NULL,
            PRIMARY KEY (store_id, id),
            CHECK (stock IS NULL OR held <= stock)
        ) WITHOUT ROWID;
        CREATE INDEX products_by_price ON products(price);
        CREATE VIRTUAL TABLE products_fts USING fts5(store_id UNINDEXED, product_id UNINDEXED, title, description, tags, store);
        CREATE TABLE quotes (
            id TEXT PRIMARY KEY, store_id TEXT NOT NULL, customer TEXT NOT NULL, body TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('held', 'placed', 'released')), expires_ms INTEGER NOT NULL,
            created_ms INTEGER NOT NULL
        );
        CREATE TABLE holds (
            quote_id TEXT NOT NULL REFERENCES quotes(id), store_id TEXT NOT NULL, product_id TEXT NOT NULL,
            quantity INTEGER NOT NULL CHECK (quantity > 0), PRIMARY KEY (quote_id, product_id)
        ) WITHOUT ROWID;
        CREATE TABLE orders (
            id TEXT PRIMARY KEY, store_id TEXT NOT NULL, customer TEXT NOT NULL, quote_id TEXT NOT NULL UNIQUE,
            created_ms INTEGER NOT NULL
        );
        CREATE INDEX orders_by_store ON orders(store_id, created_ms);
        CREATE INDEX orders_by_customer ON orders(customer, created_ms);
        CREATE TABLE missing_lines (order_id TEXT NOT NULL, product_id TEXT NOT NULL, amount INTEGER NOT NULL,
                                    marked_by TEXT NOT NULL, marked_ms INTEGER NOT NULL, PRIMARY KEY (order_id, product_id)) WITHOUT ROWID;
        CREATE TABLE payments (
            order_id TEXT NOT NULL, seq INTEGER NOT NULL, step TEXT NOT NULL, amount INTEGER NOT NULL,
            method TEXT NOT NULL, note TEXT NOT NULL, actor TEXT NOT NULL, at_ms INTEGER NOT NULL,
            PRIMARY KEY (order_id, seq)
        ) WITHOUT ROWID;
        """ + ReviewBook.schema,
        // Deliveries: the store's offers to couriers on other nodes, and a courier's jobs from stores' nodes.
        """
        CREATE TABLE deliveries (
            id TEXT PRIMARY KEY, order_id TEXT NOT NULL, store_id TEXT NOT NULL, courier_node TEXT NOT NULL,
            courier_space TEXT NOT NULL, state TEXT NOT NULL, attempt INTEGER NOT NULL, remaining TEXT NOT NULL,
            reason TEXT, offered_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
        );
        CREATE INDEX deliveries_by_order ON deliveries(order_id, offered_ms);
        CREATE TABLE courier_jobs (
            origin_node TEXT NOT NULL, delivery_id TEXT NOT NULL, job_id TEXT NOT NULL, space_id TEXT NOT NULL,
            created_ms INTEGER NOT NULL, PRIMARY KEY (origin_node, delivery_id)
        ) WITHOUT ROWID;
        CREATE INDEX courier_jobs_by_space ON courier_jobs(space_id, created_ms);
        """,
        // Every quote counted a customer's live quotes by scanning all quotes ever made: an index of the live ones.
        // (`holds` has no index by product: it holds only live quotes' lines, and is read by product once per
        // product's sell-by, while an index would cost every quote and every order a write.)
        // A product's search row was found by scanning every product's (FTS5 does not index UNINDEXED columns):
        // the product keeps its row's rowid.
        """
        CREATE INDEX quotes_held ON quotes(store_id, customer, expires_ms) WHERE state = 'held';
        ALTER TABLE products ADD COLUMN fts_rowid INTEGER;
        UPDATE products SET fts_rowid = f.rowid FROM products_fts f WHERE f.store_id = products.store_id AND f.product_id = products.id;
        """,
    ]
}
