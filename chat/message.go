// Package chat is the transport-free core of Messaging: the room with its
// conversations (channels and direct ones), its members and messages,
// commands and the sanitiser, and the interfaces it consumes (History,
// Directory). It imports only the standard library; the SSH layer and the
// stores adapt to it.
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
	KindJoin                   // Author came online, or joined the channel Conv
	KindLeave                  // Author went offline, or (To set) left the channel Conv or was removed (Body says by whom)
	KindSystem                 // a notice from the server or a channel's owner (an invitation: To set)
	KindTopic                  // Author set the channel's topic to Body
	KindAway                   // Author went away; Body is the reason
	KindBack                   // Author is back
	// KindPurge: Author's messages in Conv with IDs below this one's and
	// a Time at or after Since were removed by a moderator (Body: the
	// moderator's name). Screens mark those they show as removed
	// ("[removed by a moderator]") and show this notice as "bob's recent
	// messages were removed by a moderator".
	KindPurge
	// KindRole: Author's role changed; Body says how, as a sentence
	// ("alice made bob a moderator"). Screens redraw the member column.
	KindRole
	// KindPresence: who is online in Conv, or how one of them shows,
	// changed (Room.Online). Never stored, ID 0: an event that tells
	// screens to redraw their member column, sent at most once per
	// conversation per presence tick (presence.go). Those that show no
	// member column ignore it.
	KindPresence
)

// Message is one entry in the room's single order. It belongs to one
// conversation, whose members (and To) receive it.
type Message struct {
	ID     int64 // assigned by History.Append; strictly increasing
	Conv   int64 // the conversation (Conversation.ID)
	Time   time.Time
	Author string // display name; empty for system notices
	Kind   Kind
	Body   string // plain text, already sanitised
	// To is an account the message is also for though it is not a member
	// of Conv: the one invited, or removed, or leaving. "" for most.
	To string
	// Removed: a moderator purged it; Body is empty and screens show
	// "[removed by a moderator]".
	Removed bool
	// Since is a KindPurge's start: the time of the first message it
	// removes.
	Since time.Time
	// Prev is the ID of the conversation's message before this one, 0 if
	// it is the first, as set by a History that several nodes share
	// (PostgreSQL): a node that receives it from another tells from Prev
	// whether it missed one. SQLite, alone on its node, leaves it 0.
	Prev int64
}

// History is the room's durable log, every conversation's messages in one
// order. Implementations live in store/...
type History interface {
	// Append commits msgs in order as one transaction and assigns each its
	// ID. It returns only after the commit is durable; on error nothing of
	// msgs was stored.
	Append(ctx context.Context, msgs []Message) error
	// Before returns up to limit messages of conversation conv with
	// ID < before, oldest first. before <= 0 means "the latest".
	Before(ctx context.Context, conv, before int64, limit int) ([]Message, error)
}
