// Package chat is the transport-free core of Messaging: the room, its
// members and messages, commands and the sanitiser. It imports only the
// standard library; the SSH layer and the stores adapt to it.
package chat

import (
	"context"
	"time"
)

// Kind says what a message is, which decides how it is drawn.
type Kind uint8

const (
	KindText   Kind = iota + 1 // "name: text"
	KindAction                 // "/me waves" drawn as "* name waves"
	KindJoin                   // name joined the room
	KindLeave                  // name left the room
	KindSystem                 // a notice from the server
)

// Message is one entry in the room's single order.
type Message struct {
	ID     int64 // assigned by History.Append; strictly increasing
	Time   time.Time
	Author string // display name; empty for system notices
	Kind   Kind
	Body   string // plain text, already sanitised
}

// History is the room's durable log. Implementations live in store/...
type History interface {
	// Append commits msgs in order as one transaction and assigns each its
	// ID. It returns only after the commit is durable; on error nothing of
	// msgs was stored.
	Append(ctx context.Context, msgs []Message) error
	// Before returns up to limit messages with ID < before, oldest first.
	// before <= 0 means "the latest".
	Before(ctx context.Context, before int64, limit int) ([]Message, error)
}
