-- Moderation (issue 17). role is a chat.Role (0 member, 1 moderator,
-- 2 admin); no CHECK, so that a new role needs no rebuilt table: SetRole
-- refuses values chat does not know. must_change: an admin reset the
-- password and the next login must set a new one (SetPasswordHash clears
-- it).
ALTER TABLE accounts ADD COLUMN role INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0 CHECK (must_change IN (0, 1));

-- Bans and mutes (store.Sanction), one of each kind per account at most:
-- Sanction replaces. by_name is who set it, as given; until is unix
-- milliseconds, NULL: until lifted. Rows whose until has passed mean
-- nothing; Sanctions skips them and the next Sanction of that kind
-- replaces them. address: a ban's last login address ('' if none). kind is
-- checked by Sanction, not here, for the same reason as role.
CREATE TABLE sanctions (
	account_key TEXT    NOT NULL REFERENCES accounts (name_key),
	kind        TEXT    NOT NULL,
	by_name     TEXT    NOT NULL,
	reason      TEXT    NOT NULL DEFAULT '',
	at          INTEGER NOT NULL, -- unix milliseconds
	until       INTEGER,          -- unix milliseconds; NULL: until lifted
	address     TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (account_key, kind)
) STRICT;

-- Settings of the whole server, one row each; the message of the day is
-- key 'motd' (no row: none).
CREATE TABLE settings (
	key   TEXT PRIMARY KEY NOT NULL,
	value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- Moderation actions and role changes (store.AuditEntry), never deleted.
-- AUTOINCREMENT: an id is never reused, so the server's poll of the
-- newest id (LastAudit) sees every change.
CREATE TABLE audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	at     INTEGER NOT NULL, -- unix milliseconds
	actor  TEXT    NOT NULL,
	action TEXT    NOT NULL,
	target TEXT    NOT NULL DEFAULT '',
	reason TEXT    NOT NULL DEFAULT ''
) STRICT;

-- removed: a moderator purged the message (Purge also empties its body).
-- since: a KindPurge notice's chat.Message.Since, unix milliseconds; NULL
-- for every other message.
ALTER TABLE messages ADD COLUMN removed INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1));
ALTER TABLE messages ADD COLUMN since INTEGER;
