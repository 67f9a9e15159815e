package app

import (
	"context"

	"messaging/chat"
)

// post sends body as m and waits for its commit.
func post(ctx context.Context, m *chat.Member, kind chat.Kind, body string) error {
	receipt, err := m.Send(kind, body)
	if err != nil {
		return err
	}
	return receipt.Wait(ctx)
}
