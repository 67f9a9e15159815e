package app

import (
	"context"

	"messaging/chat"
)

// post sends body as m in #lobby and waits for its commit.
func post(ctx context.Context, m *chat.Member, kind chat.Kind, body string) error {
	receipt, err := m.Send(m.Room().Lobby().ID, kind, body)
	if err != nil {
		return err
	}
	return receipt.Wait(ctx)
}
