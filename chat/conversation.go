package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ConvKind says whether a conversation is a channel or a direct one.
type ConvKind uint8

const (
	// Channel: named ("#lobby"), anyone may join a public one, the invited
	// may join an invite-only one.
	Channel ConvKind = iota + 1
	// Direct: exactly two accounts, nobody else ever reads it.
	Direct
)

// Lobby is the channel every account is in and cannot leave: the
// original's one shared channel.
const Lobby = "#lobby"

// Conversation is a channel or a direct conversation. Each has its own
// history; every message belongs to exactly one (Message.Conv).
type Conversation struct {
	ID      int64
	Kind    ConvKind
	Name    string    // channels: "#name", lower case; direct: ""
	Peers   [2]string // direct: the two accounts as they spell their names; channels: empty
	Topic   string    // channels; sanitised
	Private bool      // channels: invite-only
	Owner   string    // channels: the account that created it ("" for #lobby)
	Created time.Time
}

// Title is how a viewer sees the conversation named: "#name" for a
// channel, "@peer" for a direct one.
func (c Conversation) Title(viewer string) string {
	if c.Kind == Direct {
		return "@" + c.Peer(viewer)
	}
	return c.Name
}

// Peer is, for a direct conversation, the account that is not viewer.
func (c Conversation) Peer(viewer string) string {
	if foldName(c.Peers[0]) == foldName(viewer) {
		return c.Peers[1]
	}
	return c.Peers[0]
}

// IsOwner reports whether name owns the channel.
func (c Conversation) IsOwner(name string) bool {
	return c.Kind == Channel && c.Owner != "" && foldName(c.Owner) == foldName(name)
}

// Membership is one account's place in one conversation, as stored.
type Membership struct {
	Conv     Conversation
	LastRead int64 // the newest message ID the account has seen there (0: none)
	Unread   int   // texts and actions after LastRead by others, not by those the account ignores (capped by the store, at least at 999)
}

// ChannelInfo is one line of /list.
type ChannelInfo struct {
	Conv    Conversation
	Members int
}

// Profile is what the store keeps of an account that others may see.
type Profile struct {
	Name     string // as its owner spells it
	Created  time.Time
	LastSeen time.Time // zero: never recorded
}

// Errors of conversations. Their texts are written for the user.
var (
	// ErrNoConversation: no such channel, or one the asker may not know of.
	ErrNoConversation = errors.New("no such conversation")
	// ErrNoAccount: no account has that name.
	ErrNoAccount = errors.New("no such account")
	// ErrChannelExists: CreateChannel lost a race, or the name is taken.
	ErrChannelExists = errors.New("channel exists")
	// ErrTooManyChannels: a limit on channels (in all or per account).
	ErrTooManyChannels = errors.New("too many channels")
)

// Directory is the durable state of conversations, memberships and what
// each account keeps between sessions. Implementations live in store/...
// and are checked by storetest. Names of accounts compare
// case-insensitively; channel names are stored lower case.
type Directory interface {
	// Channel finds a channel by name ("#name", any case);
	// ErrNoConversation if none.
	Channel(ctx context.Context, name string) (Conversation, error)
	// CreateChannel creates the channel c (Name, Owner, Private, Topic) and
	// returns it with its ID and Created set. The owner, if any, becomes a
	// member. ErrChannelExists if the name exists; ErrTooManyChannels if
	// maxTotal channels (> 0) with members exist already (#lobby counts; a
	// channel everyone left does not). Decided atomically.
	CreateChannel(ctx context.Context, c Conversation, maxTotal int) (Conversation, error)
	// Direct returns the direct conversation between accounts a and b
	// (in either order), creating it if needed, and makes both members of
	// it (again, if one had left it). ErrNoAccount if either account does
	// not exist. A member added (back) starts with what was said before
	// read.
	Direct(ctx context.Context, a, b string) (Conversation, error)
	// Conversation finds one by ID; ErrNoConversation if none.
	Conversation(ctx context.Context, id int64) (Conversation, error)
	// SetChannel stores a channel's Topic and Private.
	SetChannel(ctx context.Context, c Conversation) error
	// Channels lists the public channels and the private ones viewer is a
	// member of or invited to, by name, with their member counts; at most
	// limit of them.
	Channels(ctx context.Context, viewer string, limit int) ([]ChannelInfo, error)
	// Memberships lists account's conversations: channels by name, then
	// direct ones by their newest message, newest first.
	Memberships(ctx context.Context, account string) ([]Membership, error)
	// AddMember makes account a member of conv (no effect if it is one),
	// with what was said before read: only later messages are unread.
	// For a channel, ErrTooManyChannels if account is already in
	// maxChannels (> 0) channels.
	AddMember(ctx context.Context, conv int64, account string, maxChannels int) error
	// RemoveMember ends account's membership of conv (no effect if none).
	RemoveMember(ctx context.Context, conv int64, account string) error
	// IsMember reports whether account is a member of conv.
	IsMember(ctx context.Context, conv int64, account string) (bool, error)
	// SetInvited invites account to conv, or takes the invitation back.
	SetInvited(ctx context.Context, conv int64, account string, invited bool) error
	// Invited reports whether account is invited to conv.
	Invited(ctx context.Context, conv int64, account string) (bool, error)
	// SetRead records, per account, the newest message read in each
	// conversation. A pointer only moves forward.
	SetRead(ctx context.Context, reads []Read) error
	// Ignored lists the accounts account ignores, as they spell their names.
	Ignored(ctx context.Context, account string) ([]string, error)
	// SetIgnored makes account ignore other, or stop ignoring it.
	SetIgnored(ctx context.Context, account, other string, ignored bool) error
	// Profile returns what others may see of an account; ErrNoAccount if
	// none has that name.
	Profile(ctx context.Context, name string) (Profile, error)
	// SetLastSeen records when account was last online.
	SetLastSeen(ctx context.Context, account string, at time.Time) error
}

// Read is one read pointer: account has seen conv up to message ID.
type Read struct {
	Account string
	Conv    int64
	ID      int64
}

// ChannelName checks and normalises a channel name: "#" and 2 to 30 of
// a-z, 0-9, "-" and "_", in any case; it returns the name in lower case.
// A name without its "#" is taken with one.
func ChannelName(name string) (string, error) {
	name = strings.TrimSpace(name)
	name = "#" + strings.TrimPrefix(name, "#")
	body := name[1:]
	if n := len(body); n < 2 || n > 30 {
		return "", fmt.Errorf("a channel name is # and 2 to 30 letters, digits, - or _")
	}
	for _, r := range body {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return "", fmt.Errorf("a channel name is # and 2 to 30 letters, digits, - or _; %q is not allowed", r)
		}
	}
	return strings.ToLower(name), nil
}
