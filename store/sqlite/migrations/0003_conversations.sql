-- Conversations: channels and direct ones (chat.Conversation). A channel
-- has a name ("#name", lower case) and no dm_key; a direct conversation has
-- a dm_key (the two accounts' name_keys sorted, joined by a space, so that
-- (a, b) and (b, a) are one) and no name. Both are UNIQUE; NULLs do not
-- collide. peer_a and peer_b are the two accounts as they spell their names,
-- peer_a's key sorting first; owner is an account's name as spelled, '' for
-- none. AUTOINCREMENT: an id is never reused.
CREATE TABLE conversations (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	kind       INTEGER NOT NULL CHECK (kind IN (1, 2)), -- chat.ConvKind: 1 channel, 2 direct
	name       TEXT    UNIQUE,
	dm_key     TEXT    UNIQUE,
	peer_a     TEXT    NOT NULL DEFAULT '',
	peer_b     TEXT    NOT NULL DEFAULT '',
	topic      TEXT    NOT NULL DEFAULT '',
	private    INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
	owner      TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL, -- unix milliseconds
	CHECK ((kind = 1) = (name IS NOT NULL) AND (kind = 2) = (dm_key IS NOT NULL))
) STRICT;

-- #lobby, the original's one room, is conversation 1: the default of
-- messages.conv below. It is as old as the oldest account.
INSERT INTO conversations (id, kind, name, created_at)
VALUES (1, 1, '#lobby', coalesce(
	(SELECT min(created_at) FROM accounts),
	CAST(unixepoch('subsec') * 1000 AS INTEGER)));

-- Every message belongs to one conversation; those from before are the
-- lobby's. No REFERENCES: SQLite adds a column with one only if its default
-- is NULL; Append refuses a message without a conversation. recipient is
-- chat.Message.To, an account that is not a member but gets the message.
ALTER TABLE messages ADD COLUMN conv INTEGER NOT NULL DEFAULT 1;
ALTER TABLE messages ADD COLUMN recipient TEXT NOT NULL DEFAULT '';
CREATE INDEX messages_conv ON messages (conv, id);

-- Who is in which conversation, and the newest message each has read
-- there. The accounts of the old single room are not added here: the chat
-- core adds an account to #lobby when it logs in.
CREATE TABLE members (
	conv        INTEGER NOT NULL REFERENCES conversations (id),
	account_key TEXT    NOT NULL REFERENCES accounts (name_key),
	last_read   INTEGER NOT NULL DEFAULT 0, -- a message id; 0: none
	joined_at   INTEGER NOT NULL,           -- unix milliseconds
	PRIMARY KEY (conv, account_key)
) STRICT, WITHOUT ROWID;
CREATE INDEX members_account ON members (account_key);

-- Invitations to (invite-only) channels.
CREATE TABLE invites (
	conv        INTEGER NOT NULL REFERENCES conversations (id),
	account_key TEXT    NOT NULL REFERENCES accounts (name_key),
	PRIMARY KEY (conv, account_key)
) STRICT, WITHOUT ROWID;

-- account_key ignores other_key.
CREATE TABLE ignores (
	account_key TEXT NOT NULL REFERENCES accounts (name_key),
	other_key   TEXT NOT NULL REFERENCES accounts (name_key),
	PRIMARY KEY (account_key, other_key)
) STRICT, WITHOUT ROWID;

-- When the account was last online, unix milliseconds; NULL: never recorded.
ALTER TABLE accounts ADD COLUMN last_seen INTEGER;
