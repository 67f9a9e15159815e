package sqlite

import (
	"context"
	"errors"
	"time"

	"messaging/store"
)

// Placeholders until the keys and account-deletion work lands.
var errTODO = errors.New("not implemented yet")

func (s *Store) SetPasswordHash(ctx context.Context, account, hash string) error { return errTODO }
func (s *Store) DeleteAccount(ctx context.Context, account string, heldUntil time.Time) error {
	return errTODO
}
func (s *Store) AddKey(ctx context.Context, k store.Key, max int) error        { return errTODO }
func (s *Store) Keys(ctx context.Context, account string) ([]store.Key, error) { return nil, errTODO }
func (s *Store) KeyByFingerprint(ctx context.Context, fp string) (store.Key, error) {
	return store.Key{}, store.ErrNotFound
}
func (s *Store) RemoveKey(ctx context.Context, account, fp string) error    { return errTODO }
func (s *Store) KeyUsed(ctx context.Context, fp string, at time.Time) error { return errTODO }
func (s *Store) RecordLogin(ctx context.Context, account string, l store.Login) error {
	return errTODO
}
func (s *Store) Logins(ctx context.Context, account string) ([]store.Login, error) {
	return nil, errTODO
}
