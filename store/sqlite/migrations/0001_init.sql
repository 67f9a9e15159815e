-- Accounts. name keeps the case the user chose; name_key = lower(name) makes
-- lookups and uniqueness case-insensitive. Names are ASCII, so Go's
-- strings.ToLower and SQLite's lower() agree.
CREATE TABLE accounts (
	name          TEXT    NOT NULL,
	name_key      TEXT    NOT NULL UNIQUE,
	password_hash TEXT    NOT NULL,
	created_at    INTEGER NOT NULL -- unix milliseconds
) STRICT;

-- The room's history in its single order. AUTOINCREMENT: an id is never
-- reused, even after the newest rows are deleted, so ids only ever grow.
CREATE TABLE messages (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	at     INTEGER NOT NULL, -- unix milliseconds
	author TEXT    NOT NULL,
	kind   INTEGER NOT NULL,
	body   TEXT    NOT NULL
) STRICT;
