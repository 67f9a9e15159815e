-- Public keys registered to accounts (store.Key). The fingerprint
-- (ssh.FingerprintSHA256) is unique in the whole store: one key logs in to
-- one account. data is the key in SSH wire format; last_used is unix
-- milliseconds, NULL: never used to log in. Keys lists an account's keys
-- by added_at, then rowid.
CREATE TABLE keys (
	fingerprint TEXT    PRIMARY KEY NOT NULL,
	account_key TEXT    NOT NULL REFERENCES accounts (name_key),
	type        TEXT    NOT NULL,
	data        BLOB    NOT NULL,
	comment     TEXT    NOT NULL DEFAULT '',
	added_at    INTEGER NOT NULL, -- unix milliseconds
	last_used   INTEGER           -- unix milliseconds; NULL: never
) STRICT;
CREATE INDEX keys_account ON keys (account_key, added_at);

-- Successful logins, the store.KeepLogins newest of each account (RecordLogin
-- deletes the older ones).
CREATE TABLE logins (
	account_key TEXT    NOT NULL REFERENCES accounts (name_key),
	at          INTEGER NOT NULL, -- unix milliseconds
	address     TEXT    NOT NULL,
	method      TEXT    NOT NULL
) STRICT;
CREATE INDEX logins_account ON logins (account_key, at);

-- Names of deleted accounts, which no new account may take, nor a
-- look-alike of them (the same skeleton), before until (unix milliseconds).
-- Rows whose until has passed mean nothing; CreateAccount and DeleteAccount
-- delete them.
CREATE TABLE held_names (
	name_key TEXT    PRIMARY KEY NOT NULL,
	skeleton TEXT    NOT NULL,
	until    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX held_names_skeleton ON held_names (skeleton);

-- No change of schema, a new form of a value: a direct conversation with a
-- deleted account has dm_key '#' || id instead of the pair of name keys.
-- It has no space, so no pair of names ever finds it, and the id keeps it
-- unique.
