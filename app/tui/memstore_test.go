package tui

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"messaging/chat"
)

// memStore is chat's History and Directory in memory, for the screen's
// tests: a room needs both, and the screen's tests are about the screen.
// (The stores run chat's conformance suite; this double only does what
// the methods' contracts say, simply.)
//
// Conversations are numbered from 0, #lobby first: the tests written
// before conversations existed deliver messages without a Conv, which
// makes them #lobby's, as they were.
type memStore struct {
	mu       sync.Mutex
	msgs     []chat.Message
	convs    []chat.Conversation        // by ID
	members  map[int64]map[string]int64 // conv -> account key -> last read
	invited  map[int64]map[string]bool
	accounts map[string]chat.Profile // by key
	ignored  map[string]map[string]string
}

func newMemStore() *memStore {
	s := &memStore{
		members:  map[int64]map[string]int64{},
		invited:  map[int64]map[string]bool{},
		accounts: map[string]chat.Profile{},
		ignored:  map[string]map[string]string{},
	}
	s.convs = append(s.convs, chat.Conversation{ID: 0, Kind: chat.Channel, Name: chat.Lobby})
	return s
}

func nameKey(name string) string { return strings.ToLower(name) }

// account makes sure an account called name exists.
func (s *memStore) account(name string) {
	if _, ok := s.accounts[nameKey(name)]; !ok {
		s.accounts[nameKey(name)] = chat.Profile{Name: name, Created: time.Now()}
	}
}

func (s *memStore) Append(_ context.Context, msgs []chat.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range msgs {
		msgs[i].ID = int64(len(s.msgs) + 1)
		s.msgs = append(s.msgs, msgs[i])
	}
	return nil
}

func (s *memStore) Before(_ context.Context, conv, before int64, limit int) ([]chat.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var page []chat.Message
	for i := len(s.msgs) - 1; i >= 0 && len(page) < limit; i-- {
		if m := s.msgs[i]; m.Conv == conv && (before <= 0 || m.ID < before) {
			page = append(page, m)
		}
	}
	slices.Reverse(page)
	return page, nil
}

func (s *memStore) Channel(_ context.Context, name string) (chat.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.convs {
		if c.Kind == chat.Channel && c.Name == strings.ToLower(name) {
			return c, nil
		}
	}
	return chat.Conversation{}, chat.ErrNoConversation
}

func (s *memStore) CreateChannel(_ context.Context, c chat.Conversation, maxTotal int) (chat.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	channels := 0
	for _, x := range s.convs {
		if x.Kind == chat.Channel {
			channels++
			if x.Name == c.Name {
				return chat.Conversation{}, chat.ErrChannelExists
			}
		}
	}
	if maxTotal > 0 && channels >= maxTotal {
		return chat.Conversation{}, chat.ErrTooManyChannels
	}
	c.ID, c.Kind, c.Created = int64(len(s.convs)), chat.Channel, time.Now()
	s.convs = append(s.convs, c)
	if c.Owner != "" {
		s.join(c.ID, c.Owner)
	}
	return c, nil
}

// join makes account a member of conv. s.mu held.
func (s *memStore) join(conv int64, account string) {
	if s.members[conv] == nil {
		s.members[conv] = map[string]int64{}
	}
	if _, ok := s.members[conv][nameKey(account)]; !ok {
		s.members[conv][nameKey(account)] = 0
	}
}

func (s *memStore) Direct(_ context.Context, a, b string) (chat.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pa, oka := s.accounts[nameKey(a)]
	pb, okb := s.accounts[nameKey(b)]
	if !oka || !okb {
		return chat.Conversation{}, chat.ErrNoAccount
	}
	var c chat.Conversation
	for _, x := range s.convs {
		if x.Kind == chat.Direct && (nameKey(x.Peers[0]) == nameKey(a) && nameKey(x.Peers[1]) == nameKey(b) || nameKey(x.Peers[0]) == nameKey(b) && nameKey(x.Peers[1]) == nameKey(a)) {
			c = x
		}
	}
	if c.Kind == 0 {
		c = chat.Conversation{ID: int64(len(s.convs)), Kind: chat.Direct, Peers: [2]string{pa.Name, pb.Name}, Created: time.Now()}
		s.convs = append(s.convs, c)
	}
	s.join(c.ID, a)
	s.join(c.ID, b)
	return c, nil
}

func (s *memStore) Conversation(_ context.Context, id int64) (chat.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 0 || id >= int64(len(s.convs)) {
		return chat.Conversation{}, chat.ErrNoConversation
	}
	return s.convs[id], nil
}

func (s *memStore) SetChannel(_ context.Context, c chat.Conversation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.convs[c.ID].Topic, s.convs[c.ID].Private = c.Topic, c.Private
	return nil
}

func (s *memStore) Channels(_ context.Context, viewer string, limit int) ([]chat.ChannelInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []chat.ChannelInfo
	for _, c := range s.convs {
		_, member := s.members[c.ID][nameKey(viewer)]
		if c.Kind == chat.Channel && (!c.Private || member || s.invited[c.ID][nameKey(viewer)]) {
			list = append(list, chat.ChannelInfo{Conv: c, Members: len(s.members[c.ID])})
		}
	}
	slices.SortFunc(list, func(a, b chat.ChannelInfo) int { return cmp.Compare(a.Conv.Name, b.Conv.Name) })
	return list[:min(len(list), limit)], nil
}

func (s *memStore) Memberships(_ context.Context, account string) ([]chat.Membership, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []chat.Membership
	newest := map[int64]int64{}
	for _, m := range s.msgs {
		newest[m.Conv] = m.ID
	}
	for _, c := range s.convs {
		lastRead, ok := s.members[c.ID][nameKey(account)]
		if !ok {
			continue
		}
		ms := chat.Membership{Conv: c, LastRead: lastRead}
		for _, m := range s.msgs {
			if m.Conv == c.ID && m.ID > lastRead && (m.Kind == chat.KindText || m.Kind == chat.KindAction) && nameKey(m.Author) != nameKey(account) {
				ms.Unread++
			}
		}
		list = append(list, ms)
	}
	slices.SortStableFunc(list, func(a, b chat.Membership) int {
		if a.Conv.Kind != b.Conv.Kind {
			return cmp.Compare(a.Conv.Kind, b.Conv.Kind)
		}
		if a.Conv.Kind == chat.Channel {
			return cmp.Compare(a.Conv.Name, b.Conv.Name)
		}
		return cmp.Compare(newest[b.Conv.ID], newest[a.Conv.ID])
	})
	return list, nil
}

func (s *memStore) AddMember(_ context.Context, conv int64, account string, _ int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.account(account)
	s.join(conv, account)
	return nil
}

func (s *memStore) RemoveMember(_ context.Context, conv int64, account string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.members[conv], nameKey(account))
	return nil
}

func (s *memStore) IsMember(_ context.Context, conv int64, account string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.members[conv][nameKey(account)]
	return ok, nil
}

func (s *memStore) SetInvited(_ context.Context, conv int64, account string, invited bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.invited[conv] == nil {
		s.invited[conv] = map[string]bool{}
	}
	s.invited[conv][nameKey(account)] = invited
	return nil
}

func (s *memStore) Invited(_ context.Context, conv int64, account string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.invited[conv][nameKey(account)], nil
}

func (s *memStore) SetRead(_ context.Context, reads []chat.Read) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range reads {
		if last, ok := s.members[r.Conv][nameKey(r.Account)]; ok && r.ID > last {
			s.members[r.Conv][nameKey(r.Account)] = r.ID
		}
	}
	return nil
}

// lastRead is account's read pointer in conv.
func (s *memStore) lastRead(conv int64, account string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.members[conv][nameKey(account)]
}

func (s *memStore) Ignored(_ context.Context, account string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, name := range s.ignored[nameKey(account)] {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

func (s *memStore) SetIgnored(_ context.Context, account, other string, ignored bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ignored[nameKey(account)] == nil {
		s.ignored[nameKey(account)] = map[string]string{}
	}
	if ignored {
		s.ignored[nameKey(account)][nameKey(other)] = other
	} else {
		delete(s.ignored[nameKey(account)], nameKey(other))
	}
	return nil
}

func (s *memStore) Profile(_ context.Context, name string) (chat.Profile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.accounts[nameKey(name)]
	if !ok {
		return chat.Profile{}, chat.ErrNoAccount
	}
	return p, nil
}

func (s *memStore) SetLastSeen(_ context.Context, account string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.accounts[nameKey(account)]; ok {
		p.LastSeen = at
		s.accounts[nameKey(account)] = p
	}
	return nil
}
