/// Messaging's database, as SynAppKit migrations: append new scripts, never edit old ones.
///
/// A conversation is the ordered log of its signed envelopes (`messages`); who is in it, with which role, and its
/// title follow from applying them in order, and are kept in `conversations` and `members`.
enum Schema {
    static let migrations = [
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('direct', 'group')), title TEXT NOT NULL,
            created_by TEXT NOT NULL, created_ms INTEGER NOT NULL, last_ord TEXT NOT NULL DEFAULT ''
        ) WITHOUT ROWID;
        CREATE TABLE members (
            conversation_id TEXT NOT NULL, member TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
            joined_ord TEXT NOT NULL, left_ord TEXT, read_ord TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (conversation_id, member)
        ) WITHOUT ROWID;
        CREATE INDEX members_current ON members(member, conversation_id) WHERE left_ord IS NULL;
        CREATE TABLE messages (
            conversation_id TEXT NOT NULL, author TEXT NOT NULL, seq INTEGER NOT NULL, hlc INTEGER NOT NULL,
            ord TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL, signature TEXT NOT NULL,
            received_ms INTEGER NOT NULL, fts_rowid INTEGER,
            PRIMARY KEY (conversation_id, author, seq)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX messages_in_order ON messages(conversation_id, ord);
        CREATE INDEX messages_by_fts ON messages(fts_rowid) WHERE fts_rowid IS NOT NULL;
        CREATE VIRTUAL TABLE messages_fts USING fts5(conversation_id UNINDEXED, body);
        """,
        // Across nodes: each member's home node (where their envelopes come from and go to), and envelopes that
        // arrived before what they build on (their conversation's create, their author's member_add).
        """
        ALTER TABLE members ADD COLUMN home TEXT NOT NULL DEFAULT '';
        CREATE TABLE pending (
            conversation_id TEXT NOT NULL, author TEXT NOT NULL, seq INTEGER NOT NULL, ord TEXT NOT NULL, envelope TEXT NOT NULL,
            from_node TEXT NOT NULL, received_ms INTEGER NOT NULL, PRIMARY KEY (conversation_id, author, seq)
        ) WITHOUT ROWID;
        CREATE INDEX pending_by_node ON pending(from_node);
        """,
        // Delivered receipts: how far each member's home node has the conversation.
        """
        ALTER TABLE members ADD COLUMN delivered_ord TEXT NOT NULL DEFAULT '';
        """,
        // Edits and deletions, signed by the author as envelopes of their own: the text a message shows now (the
        // edit latest in the log wins, whatever order they arrived in), and whether it was deleted.
        """
        ALTER TABLE messages ADD COLUMN edited_text TEXT;
        ALTER TABLE messages ADD COLUMN edited_ord TEXT NOT NULL DEFAULT '';
        ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
        """,
        // Attachments, stored once by content address in the pieces they arrived in (at most 512 KiB a row: an app's
        // SQL parameters and rows are at most 1 MiB), which conversations may read each, pieces of unfinished
        // uploads (by a person, or from a peer node), and which nodes were sent which file.
        """
        CREATE TABLE attachments (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, mime TEXT NOT NULL, created_ms INTEGER NOT NULL)
            WITHOUT ROWID;
        CREATE TABLE attachment_pieces (sha256 TEXT NOT NULL, offset INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (sha256, offset));
        CREATE TABLE attachment_refs (
            conversation_id TEXT NOT NULL, sha256 TEXT NOT NULL, added_by TEXT NOT NULL, added_ms INTEGER NOT NULL,
            PRIMARY KEY (conversation_id, sha256)
        ) WITHOUT ROWID;
        CREATE TABLE attachment_parts (
            sha256 TEXT NOT NULL, source TEXT NOT NULL, offset INTEGER NOT NULL, size INTEGER NOT NULL, mime TEXT NOT NULL,
            data BLOB NOT NULL, received_ms INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX attachment_parts_by_upload ON attachment_parts(source, sha256, offset);
        CREATE INDEX attachment_parts_by_age ON attachment_parts(received_ms);
        CREATE TABLE attachment_sent (
            sha256 TEXT NOT NULL, node TEXT NOT NULL, conversation_id TEXT NOT NULL, next_offset INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (sha256, node, conversation_id)
        ) WITHOUT ROWID;
        """,
    ]
}
