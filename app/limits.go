package app

import (
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// Penalties and back-offs, after OpenSSH's PerSourcePenalties: an address
// that keeps failing to log in must wait, first penaltyMin, doubling up to
// penaltyMax; an account that keeps failing backs off from accountMin,
// doubling up to accountMax, so that guessing one password costs a few
// dozen real hash checks per thousand tries while its owner waits at most
// accountMax.
const (
	penaltyMin  = 5 * time.Second
	penaltyMax  = 10 * time.Minute
	penaltyCalm = time.Hour // a penalty level decays after this long without one
	accountMin  = time.Second
	accountMax  = 30 * time.Second
	accountCalm = 15 * time.Minute
	signupSpan  = time.Hour
	// maxTracked bounds each table of addresses or accounts. The tables
	// are LRU caches: a new entry in a full table pushes out the one
	// least recently used, in constant time, however many addresses an
	// attacker cycles through (the caps on connections still hold).
	maxTracked = 100_000
)

// limits enforces the abuse limits that act on addresses and accounts: the
// caps on connections and sessions, failure penalties and signup quotas.
// Every table is bounded, and every operation on one takes constant time.
// A zero limit in its Config switches it off.
type limits struct {
	cfg Config
	now func() time.Time

	mu           sync.Mutex
	unauth       slots // connections not yet logged in
	sessions     slots // chat sessions
	addressFails *lru.LRU[string, *penalty]
	accountFails *lru.LRU[string, *penalty]
	signupsByIP  *lru.LRU[string, []time.Time]
	takenByIP    *lru.LRU[string, *rate.Limiter] // signup's "taken" answers per address
}

// penalty counts failures and holds how long the next wait is.
type penalty struct {
	failures int
	level    time.Duration // the current wait; doubles each time it is imposed
	until    time.Time     // refused until then
	last     time.Time     // last failure
	checking chan struct{} // accounts: a password check is in flight; closed when it ends
}

// checked ends the password check in flight, waking those waiting for it.
func (p *penalty) checked() {
	if p.checking != nil {
		close(p.checking)
		p.checking = nil
	}
}

func newLimits(cfg Config, now func() time.Time) *limits {
	// An account pushed out of its table while a check is in flight must
	// still wake those waiting for the check.
	wake := func(_ string, p *penalty) { p.checked() }
	return &limits{
		cfg: cfg, now: now,
		unauth:       slots{byIP: map[string]int{}},
		sessions:     slots{byIP: map[string]int{}},
		addressFails: newTable[*penalty](nil),
		accountFails: newTable(wake),
		signupsByIP:  newTable[[]time.Time](nil),
		takenByIP:    newTable[*rate.Limiter](nil),
	}
}

// newTable is an LRU table of maxTracked entries.
func newTable[V any](onEvict lru.EvictCallback[string, V]) *lru.LRU[string, V] {
	t, err := lru.NewLRU(maxTracked, onEvict)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return t
}

// hostOf is the address part of a remote address: the unit of every
// per-address limit.
func hostOf(addr net.Addr) string {
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// admitConnection takes an unauthenticated slot for a new connection from
// ip, unless the address is penalised or a cap is reached. The caller MUST
// call release (idempotent) when the connection logs in or closes.
func (l *limits) admitConnection(ip string) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.addressFails.Peek(ip); ok && l.now().Before(p.until) {
		return nil, false
	}
	return l.take(&l.unauth, ip, l.cfg.MaxUnauth, l.cfg.MaxUnauthPerIP)
}

// admitSession takes a chat session slot for ip; release it when the
// session ends.
func (l *limits) admitSession(ip string) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.take(&l.sessions, ip, l.cfg.MaxSessions, l.cfg.MaxSessionsPerIP)
}

// slots counts the holders of something capped in all and per address.
type slots struct {
	total int
	byIP  map[string]int
}

// take holds one of s for ip unless a cap is reached; l.mu held. The
// release it returns is idempotent.
func (l *limits) take(s *slots, ip string, maxTotal, maxPerIP int) (release func(), ok bool) {
	if over(s.total, maxTotal) || over(s.byIP[ip], maxPerIP) {
		return nil, false
	}
	s.total++
	s.byIP[ip]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			s.total--
			if s.byIP[ip]--; s.byIP[ip] <= 0 {
				delete(s.byIP, ip)
			}
		})
	}, true
}

// mayTry reports whether a login attempt for account from ip deserves a
// real password check: not while the address is penalised or the account
// is backing off; then retryIn says how long that lasts.
//
// An account has at most one check in flight, so that parallel guesses
// cannot all slip through when a back-off expires: while one runs, mayTry
// returns a channel closed when it ends, and the caller waits for it and
// asks again. Waiting is not failing: several correct logins at once (a
// terminal multiplexer restoring its windows) queue up and all succeed. A
// true answer MUST be followed by failed or succeeded for the same account.
// Only names that could be accounts are tracked (account ""), so attackers
// cannot fill the table with long junk names.
func (l *limits) mayTry(ip, account string) (ok bool, wait <-chan struct{}, retryIn time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if p, found := l.addressFails.Peek(ip); found && now.Before(p.until) {
		return false, nil, p.until.Sub(now)
	}
	if l.cfg.AccountFailures <= 0 || account == "" {
		return true, nil, 0
	}
	p := track(l.accountFails, strings.ToLower(account))
	if p.checking != nil {
		return false, p.checking, 0
	}
	if now.Before(p.until) {
		return false, nil, p.until.Sub(now)
	}
	p.checking = make(chan struct{})
	return true, nil, 0
}

// failed records a failed login for account from ip; with account "" it
// counts against the address only (a guess refused unchecked, which must
// not stretch the account's back-off: its owner would wait longer). It
// returns the longest wait now in force for the address and the account
// (0: none), this failure's included.
func (l *limits) failed(ip, account string) (retryIn time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.cfg.PenaltyFailures > 0 {
		p := track(l.addressFails, ip)
		if p.record(now, l.cfg.PenaltyFailures, penaltyMin, penaltyMax, penaltyCalm) {
			// The whole address waits; start counting afresh after.
			p.failures = 0
		}
		retryIn = max(retryIn, p.until.Sub(now))
	}
	if l.cfg.AccountFailures > 0 && account != "" {
		p := track(l.accountFails, strings.ToLower(account))
		// Every failure past the threshold doubles the back-off.
		p.record(now, l.cfg.AccountFailures, accountMin, accountMax, accountCalm)
		p.checked()
		retryIn = max(retryIn, p.until.Sub(now))
	}
	return retryIn
}

// succeeded clears the failure counts of an address and an account.
func (l *limits) succeeded(ip, account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.addressFails.Peek(ip); ok {
		p.failures = 0
	}
	key := strings.ToLower(account)
	if p, ok := l.accountFails.Peek(key); ok {
		p.checked()
		l.accountFails.Remove(key)
	}
}

// maySignUp reports whether ip may create another account this hour.
func (l *limits) maySignUp(ip string) bool {
	if l.cfg.SignupsPerIPHour <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recentSignups(ip)) < l.cfg.SignupsPerIPHour
}

// reserveSignup counts an account about to be created from ip, if the
// hour's quota allows: checking and counting together, so parallel signups
// cannot all pass. undo gives the place back if the account was not made.
func (l *limits) reserveSignup(ip string) (undo func(), ok bool) {
	if l.cfg.SignupsPerIPHour <= 0 {
		return func() {}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.recentSignups(ip)
	if len(recent) >= l.cfg.SignupsPerIPHour {
		return nil, false
	}
	at := l.now()
	l.signupsByIP.Add(ip, append(recent, at))
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		times, _ := l.signupsByIP.Peek(ip)
		if i := slices.Index(times, at); i >= 0 {
			l.signupsByIP.Add(ip, slices.Delete(times, i, i+1))
		}
	}, true
}

// recentSignups is ip's signups within the span. l.mu held.
func (l *limits) recentSignups(ip string) []time.Time {
	times, _ := l.signupsByIP.Peek(ip)
	cutoff := l.now().Add(-signupSpan)
	for len(times) > 0 && times[0].Before(cutoff) {
		times = times[1:]
	}
	return times
}

// nameAnswerWait is how long ip must wait before signup tells it again
// whether a name is taken: each such answer says whether an account exists,
// so an address gets SignupNamesPerMin of them a minute. 0: answer now.
func (l *limits) nameAnswerWait(ip string) time.Duration {
	if l.cfg.SignupNamesPerMin <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.takenByIP.Peek(ip)
	if !ok {
		return 0
	}
	tokens := lim.TokensAt(l.now())
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(lim.Limit()) * float64(time.Second))
}

// answeredTaken counts a "taken" answer given to ip.
func (l *limits) answeredTaken(ip string) {
	if l.cfg.SignupNamesPerMin <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.takenByIP.Get(ip)
	if !ok {
		n := l.cfg.SignupNamesPerMin
		lim = rate.NewLimiter(rate.Limit(float64(n)/60), n)
		l.takenByIP.Add(ip, lim)
	}
	lim.AllowN(l.now(), 1)
}

// record counts a failure at now and, once failures reach threshold,
// imposes the next wait. It reports whether a wait was imposed.
func (p *penalty) record(now time.Time, threshold int, first, max, calm time.Duration) bool {
	if !p.last.IsZero() && now.Sub(p.last) > calm {
		p.failures, p.level = 0, 0 // calm for long enough: forgiven
	}
	p.failures++
	p.last = now
	if p.failures < threshold {
		return false
	}
	switch {
	case p.level == 0:
		p.level = first
	case p.level < max:
		p.level = p.level * 2
	}
	p.level = min(p.level, max)
	p.until = now.Add(p.level)
	return true
}

// track finds or adds key's entry. In a full table the entry least
// recently used makes room; an account's waiting logins are woken then
// (newLimits).
func track(table *lru.LRU[string, *penalty], key string) *penalty {
	if p, ok := table.Get(key); ok {
		return p
	}
	p := &penalty{}
	table.Add(key, p)
	return p
}

// over reports whether count has reached limit; a zero limit is no limit.
func over(count, limit int) bool { return limit > 0 && count >= limit }
