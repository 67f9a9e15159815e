-- Look-alike names: skeleton = store.Skeleton(name), so that "B0B" cannot
-- sign up beside "bob". The index is not UNIQUE because databases from
-- before this migration may hold accounts that already share a skeleton, and
-- those must keep working; CreateAccount checks and inserts in one immediate
-- transaction instead. The skeleton is Go code, so this script leaves it NULL
-- and Open fills it in (fillSkeletons). A change to store.Skeleton's rule
-- needs a migration that sets it back to NULL.
ALTER TABLE accounts ADD COLUMN skeleton TEXT;
CREATE INDEX accounts_skeleton ON accounts (skeleton);
