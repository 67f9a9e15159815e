package chat

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// memDirectory is the test seam for Directory (the real one, store/sqlite,
// imports chat). Each method does what Directory's doc comment says, as
// store/sqlite does it: names compare case-insensitively and are kept as
// their accounts spell them, channel names are stored lower case, and
// Memberships counts unread texts and actions in history, which must be
// the room's History. hook, if set (under mu), runs at the start of every
// method, with the method's name and account (if any), outside the
// directory's lock.
type memDirectory struct {
	history *memHistory
	hook    func(method, account string)

	mu       sync.Mutex
	lastID   int64
	convs    map[int64]Conversation
	accounts map[string]*memAccount     // by foldName
	members  map[int64]map[string]int64 // conv -> account key -> last read
	invites  map[int64]map[string]bool  // conv -> account key
	ignores  map[string]map[string]bool // account key -> ignored keys
	calls    map[string]int             // by method
}

type memAccount struct {
	name     string
	created  time.Time
	lastSeen time.Time
}

var _ Directory = (*memDirectory)(nil)

// memMaxUnread caps Membership.Unread as store/sqlite does.
const memMaxUnread = 999

// newMemDirectory returns a directory holding #lobby and the accounts
// names, over history h.
func newMemDirectory(h *memHistory, names ...string) *memDirectory {
	d := &memDirectory{
		history:  h,
		convs:    make(map[int64]Conversation),
		accounts: make(map[string]*memAccount),
		members:  make(map[int64]map[string]int64),
		invites:  make(map[int64]map[string]bool),
		ignores:  make(map[string]map[string]bool),
		calls:    make(map[string]int),
	}
	d.lastID = 1
	d.convs[1] = Conversation{ID: 1, Kind: Channel, Name: Lobby, Created: time.Now()}
	for _, name := range names {
		d.addAccount(name)
	}
	return d
}

// addAccount creates the account name unless one exists in any case.
func (d *memDirectory) addAccount(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.accounts[foldName(name)] == nil {
		d.accounts[foldName(name)] = &memAccount{name: name, created: time.Now()}
	}
}

// lock counts a call of method, runs the hook and locks d; it returns the
// unlock: a method starts with defer d.lock(name, account)().
func (d *memDirectory) lock(method, account string) (unlock func()) {
	d.mu.Lock()
	d.calls[method]++
	hook := d.hook
	d.mu.Unlock()
	if hook != nil {
		hook(method, account)
	}
	d.mu.Lock()
	return d.mu.Unlock
}

func (d *memDirectory) callCount(method string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[method]
}

func (d *memDirectory) Channel(ctx context.Context, name string) (Conversation, error) {
	defer d.lock("Channel", "")()
	if c, ok := d.channelLocked(name); ok {
		return c, nil
	}
	return Conversation{}, ErrNoConversation
}

func (d *memDirectory) channelLocked(name string) (Conversation, bool) {
	name = foldName(name)
	for _, c := range d.convs {
		if c.Kind == Channel && c.Name == name {
			return c, true
		}
	}
	return Conversation{}, false
}

func (d *memDirectory) CreateChannel(ctx context.Context, c Conversation, maxTotal int) (Conversation, error) {
	defer d.lock("CreateChannel", c.Owner)()
	name, err := ChannelName(c.Name)
	if err != nil {
		return Conversation{}, err
	}
	if _, ok := d.channelLocked(name); ok {
		return Conversation{}, ErrChannelExists
	}
	channels := 0
	for _, c := range d.convs {
		if c.Kind == Channel {
			channels++
		}
	}
	if maxTotal > 0 && channels >= maxTotal {
		return Conversation{}, ErrTooManyChannels
	}
	var owner *memAccount
	if c.Owner != "" {
		if owner = d.accounts[foldName(c.Owner)]; owner == nil {
			return Conversation{}, ErrNoAccount
		}
	}
	d.lastID++
	created := Conversation{ID: d.lastID, Kind: Channel, Name: name, Topic: c.Topic, Private: c.Private, Created: time.Now()}
	if owner != nil {
		created.Owner = owner.name
		d.members[created.ID] = map[string]int64{foldName(owner.name): 0}
	}
	d.convs[created.ID] = created
	return created, nil
}

func (d *memDirectory) Direct(ctx context.Context, a, b string) (Conversation, error) {
	defer d.lock("Direct", a)()
	ka, kb := foldName(a), foldName(b)
	if ka == kb {
		return Conversation{}, errors.New("an account has no direct conversation with itself")
	}
	pa, pb := d.accounts[ka], d.accounts[kb]
	if pa == nil || pb == nil {
		return Conversation{}, ErrNoAccount
	}
	if kb < ka {
		pa, pb = pb, pa
	}
	var c Conversation
	found := false
	for _, conv := range d.convs {
		if conv.Kind == Direct && foldName(conv.Peers[0]) == foldName(pa.name) && foldName(conv.Peers[1]) == foldName(pb.name) {
			c, found = conv, true
			break
		}
	}
	if !found {
		d.lastID++
		c = Conversation{ID: d.lastID, Kind: Direct, Peers: [2]string{pa.name, pb.name}, Created: time.Now()}
		d.convs[c.ID] = c
		d.members[c.ID] = make(map[string]int64)
	}
	for _, k := range []string{ka, kb} {
		if _, ok := d.members[c.ID][k]; !ok {
			d.members[c.ID][k] = 0
		}
	}
	return c, nil
}

func (d *memDirectory) Conversation(ctx context.Context, id int64) (Conversation, error) {
	defer d.lock("Conversation", "")()
	c, ok := d.convs[id]
	if !ok {
		return Conversation{}, ErrNoConversation
	}
	return c, nil
}

func (d *memDirectory) SetChannel(ctx context.Context, c Conversation) error {
	defer d.lock("SetChannel", "")()
	old, ok := d.convs[c.ID]
	if !ok || old.Kind != Channel {
		return ErrNoConversation
	}
	old.Topic, old.Private = c.Topic, c.Private
	d.convs[c.ID] = old
	return nil
}

func (d *memDirectory) Channels(ctx context.Context, viewer string, limit int) ([]ChannelInfo, error) {
	defer d.lock("Channels", viewer)()
	if limit <= 0 {
		return nil, nil
	}
	key := foldName(viewer)
	var list []ChannelInfo
	for id, c := range d.convs {
		if c.Kind != Channel {
			continue
		}
		_, member := d.members[id][key]
		if c.Private && !member && !d.invites[id][key] {
			continue
		}
		list = append(list, ChannelInfo{Conv: c, Members: len(d.members[id])})
	}
	slices.SortFunc(list, func(a, b ChannelInfo) int { return cmp.Compare(a.Conv.Name, b.Conv.Name) })
	return list[:min(len(list), limit)], nil
}

func (d *memDirectory) Memberships(ctx context.Context, account string) ([]Membership, error) {
	defer d.lock("Memberships", account)()
	key := foldName(account)
	msgs := d.history.all()
	newest := make(map[int64]int64) // conv -> its newest message ID
	for _, msg := range msgs {
		newest[msg.Conv] = max(newest[msg.Conv], msg.ID)
	}
	var list []Membership
	for id, members := range d.members {
		lastRead, ok := members[key]
		if !ok {
			continue
		}
		ms := Membership{Conv: d.convs[id], LastRead: lastRead}
		for _, msg := range msgs {
			if msg.Conv == id && msg.ID > lastRead && (msg.Kind == KindText || msg.Kind == KindAction) &&
				foldName(msg.Author) != key && ms.Unread < memMaxUnread {
				ms.Unread++
			}
		}
		list = append(list, ms)
	}
	slices.SortFunc(list, func(a, b Membership) int {
		if a.Conv.Kind != b.Conv.Kind {
			return cmp.Compare(a.Conv.Kind, b.Conv.Kind)
		}
		if a.Conv.Kind == Channel {
			return cmp.Compare(a.Conv.Name, b.Conv.Name)
		}
		// newest message first, those without one last (newest first)
		na, nb := newest[a.Conv.ID], newest[b.Conv.ID]
		return cmp.Or(cmp.Compare(nb, na), cmp.Compare(b.Conv.ID, a.Conv.ID))
	})
	return list, nil
}

func (d *memDirectory) AddMember(ctx context.Context, conv int64, account string, maxChannels int) error {
	defer d.lock("AddMember", account)()
	key := foldName(account)
	c, ok := d.convs[conv]
	if !ok {
		return ErrNoConversation
	}
	if _, member := d.members[conv][key]; member {
		return nil
	}
	if d.accounts[key] == nil {
		return ErrNoAccount
	}
	if c.Kind == Channel && maxChannels > 0 {
		channels := 0
		for id, members := range d.members {
			if _, in := members[key]; in && d.convs[id].Kind == Channel {
				channels++
			}
		}
		if channels >= maxChannels {
			return ErrTooManyChannels
		}
	}
	if d.members[conv] == nil {
		d.members[conv] = make(map[string]int64)
	}
	d.members[conv][key] = 0
	return nil
}

func (d *memDirectory) RemoveMember(ctx context.Context, conv int64, account string) error {
	defer d.lock("RemoveMember", account)()
	delete(d.members[conv], foldName(account))
	return nil
}

func (d *memDirectory) IsMember(ctx context.Context, conv int64, account string) (bool, error) {
	defer d.lock("IsMember", account)()
	_, ok := d.members[conv][foldName(account)]
	return ok, nil
}

func (d *memDirectory) SetInvited(ctx context.Context, conv int64, account string, invited bool) error {
	defer d.lock("SetInvited", account)()
	key := foldName(account)
	if !invited {
		delete(d.invites[conv], key)
		return nil
	}
	if _, ok := d.convs[conv]; !ok {
		return ErrNoConversation
	}
	if d.accounts[key] == nil {
		return ErrNoAccount
	}
	if d.invites[conv] == nil {
		d.invites[conv] = make(map[string]bool)
	}
	d.invites[conv][key] = true
	return nil
}

func (d *memDirectory) Invited(ctx context.Context, conv int64, account string) (bool, error) {
	defer d.lock("Invited", account)()
	return d.invites[conv][foldName(account)], nil
}

func (d *memDirectory) SetRead(ctx context.Context, reads []Read) error {
	defer d.lock("SetRead", "")()
	for _, rd := range reads {
		key := foldName(rd.Account)
		if last, ok := d.members[rd.Conv][key]; ok && rd.ID > last {
			d.members[rd.Conv][key] = rd.ID
		}
	}
	return nil
}

func (d *memDirectory) Ignored(ctx context.Context, account string) ([]string, error) {
	defer d.lock("Ignored", account)()
	var keys []string
	for k := range d.ignores[foldName(account)] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = d.accounts[k].name
	}
	return names, nil
}

func (d *memDirectory) SetIgnored(ctx context.Context, account, other string, ignored bool) error {
	defer d.lock("SetIgnored", account)()
	key, otherKey := foldName(account), foldName(other)
	if !ignored {
		delete(d.ignores[key], otherKey)
		return nil
	}
	if d.accounts[key] == nil || d.accounts[otherKey] == nil {
		return ErrNoAccount
	}
	if d.ignores[key] == nil {
		d.ignores[key] = make(map[string]bool)
	}
	d.ignores[key][otherKey] = true
	return nil
}

func (d *memDirectory) Profile(ctx context.Context, name string) (Profile, error) {
	defer d.lock("Profile", name)()
	a := d.accounts[foldName(name)]
	if a == nil {
		return Profile{}, ErrNoAccount
	}
	return Profile{Name: a.name, Created: a.created, LastSeen: a.lastSeen}, nil
}

func (d *memDirectory) SetLastSeen(ctx context.Context, account string, at time.Time) error {
	defer d.lock("SetLastSeen", account)()
	a := d.accounts[foldName(account)]
	if a == nil {
		return ErrNoAccount
	}
	a.lastSeen = at
	return nil
}

// lastRead returns account's stored read pointer in conv, and whether it
// is a member there.
func (d *memDirectory) lastRead(conv int64, account string) (int64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id, ok := d.members[conv][foldName(account)]
	return id, ok
}

// lastSeen returns account's stored last-seen time.
func (d *memDirectory) lastSeen(account string) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if a := d.accounts[foldName(account)]; a != nil {
		return a.lastSeen
	}
	return time.Time{}
}
