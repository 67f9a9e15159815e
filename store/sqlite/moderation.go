package sqlite

import (
	"context"
	"errors"
	"time"

	"messaging/chat"
	"messaging/store"
)

// Placeholders until the moderation store lands.
var errTODO = errors.New("not implemented yet")

func (s *Store) SetRole(context.Context, string, chat.Role) error         { return errTODO }
func (s *Store) Role(context.Context, string) (chat.Role, error)          { return chat.RoleMember, nil }
func (s *Store) Accounts(context.Context) ([]store.AccountSummary, error) { return nil, errTODO }
func (s *Store) SetMustChangePassword(context.Context, string, bool) error {
	return errTODO
}
func (s *Store) Sanction(context.Context, store.Sanction) error { return errTODO }
func (s *Store) Lift(context.Context, string, string) error     { return errTODO }
func (s *Store) Sanctions(context.Context, time.Time) ([]store.Sanction, error) {
	return nil, nil
}
func (s *Store) SetMOTD(context.Context, string) error                     { return errTODO }
func (s *Store) MOTD(context.Context) (string, error)                      { return "", nil }
func (s *Store) Audit(context.Context, store.AuditEntry) error             { return errTODO }
func (s *Store) AuditLog(context.Context, int) ([]store.AuditEntry, error) { return nil, errTODO }
func (s *Store) LastAudit(context.Context) (int64, error)                  { return 0, nil }
func (s *Store) Purge(context.Context, string, time.Time) (int, error)     { return 0, errTODO }
