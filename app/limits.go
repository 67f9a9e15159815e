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
// penaltyMax. Guesses at one account from one address back off from
// accountMin, doubling up to accountMax, so that guessing one password costs
// a few dozen real hash checks per thousand tries; the back-off is per
// (account, address), so that a guesser never makes the account's owner,
// elsewhere, wait. What many addresses together may try against one account
// is bounded by an hourly budget (Config.AccountFailuresHour).
const (
	penaltyMin  = 5 * time.Second
	penaltyMax  = 10 * time.Minute
	penaltyCalm = time.Hour // a penalty level decays after this long without one
	accountMin  = time.Second
	accountMax  = 30 * time.Second
	accountCalm = 15 * time.Minute
	signupSpan  = time.Hour
	// An account's failures are counted for an hour in one-minute slots:
	// a failure leaves the count 60 to 61 minutes after it happened, and
	// an account's count takes budgetSlots numbers, however many failures.
	budgetSlot  = time.Minute
	budgetSlots = 61
	// maxTracked bounds each table of addresses, accounts or (account,
	// address) pairs. The tables are LRU caches: a new entry in a full
	// table pushes out the one least recently used, in constant time,
	// however many addresses or names an attacker cycles through (the
	// caps on connections still hold).
	maxTracked = 100_000
)

// limits enforces the abuse limits that act on addresses and accounts: the
// caps on connections and sessions, failure penalties, the password back-off
// and budget, and signup quotas. Every table is bounded, and every operation
// on one takes constant time. A zero limit in its Config switches it off.
//
// Failed password checks are counted three ways:
//   - per address (addressFails): an address failing too often waits,
//     whatever the names it tries (PenaltyFailures);
//   - per (account, address) (pairFails): guesses at one account from one
//     address back off, and only them (AccountFailures);
//   - per account over a rolling hour (accountHour): once the account has
//     AccountFailuresHour failures in the hour from all addresses together
//     (only a distributed attack gets there), its password is checked from
//     no address until the hour's count falls under the budget.
//
// Only names that could be accounts (see mayTry) are counted per account.
type limits struct {
	cfg Config
	now func() time.Time

	mu           sync.Mutex
	unauth       slots // connections not yet logged in
	sessions     slots // chat sessions
	addressFails *lru.LRU[string, *penalty]
	pairFails    *lru.LRU[pair, *penalty]
	accountHour  *lru.LRU[string, *hourly]
	signupsByIP  *lru.LRU[string, []time.Time]
	takenByIP    *lru.LRU[string, *rate.Limiter] // signup's "taken" answers per address

	metrics *metrics // counts the waits imposed; nil: none
}

// pair is an account (in lower case) and an address: the key of the
// password back-off. Both parts are short (a valid account name, an IP
// address), and the table holding pairs is bounded like the others, so
// an attacker cycling through names or addresses only pushes out older
// pairs.
type pair struct{ account, ip string }

// penalty counts failures and holds how long the next wait is.
type penalty struct {
	failures int
	level    time.Duration // the current wait; doubles each time it is imposed
	until    time.Time     // refused until then
	last     time.Time     // last failure
	checking chan struct{} // pairs: a password check is in flight; closed when it ends
}

// checked ends the password check in flight, waking those waiting for it.
func (p *penalty) checked() {
	if p.checking != nil {
		close(p.checking)
		p.checking = nil
	}
}

// hourly is an account's failed password checks over the last hour, from
// every address, and its checks in flight, which count toward the budget
// until they end so that parallel guesses from many addresses cannot
// overrun it.
type hourly struct {
	slots    [budgetSlots]int32 // failures per minute: minute m is in slots[m%budgetSlots]
	minute   int64              // the latest minute counted (minutes since 1970)
	total    int                // failures in slots
	inFlight int                // checks begun (mayTry) and not yet ended
	settled  chan struct{}      // closed when a check in flight ends; nil if nobody waits
}

func newLimits(cfg Config, now func() time.Time) *limits {
	// An entry pushed out of its table while a check is in flight must
	// still wake those waiting for the check.
	wakePair := func(_ pair, p *penalty) { p.checked() }
	wakeAccount := func(_ string, h *hourly) { h.wake() }
	return &limits{
		cfg: cfg, now: now,
		unauth:       slots{byIP: map[string]int{}},
		sessions:     slots{byIP: map[string]int{}},
		addressFails: newTable[*penalty](nil),
		pairFails:    newTableOf(wakePair),
		accountHour:  newTable(wakeAccount),
		signupsByIP:  newTable[[]time.Time](nil),
		takenByIP:    newTable[*rate.Limiter](nil),
	}
}

// newTable is an LRU table of maxTracked entries keyed by string.
func newTable[V any](onEvict lru.EvictCallback[string, V]) *lru.LRU[string, V] {
	return newTableOf(onEvict)
}

// newTableOf is an LRU table of maxTracked entries keyed by K.
func newTableOf[K comparable, V any](onEvict lru.EvictCallback[K, V]) *lru.LRU[K, V] {
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
// real password check: not while the address is penalised, the pair
// (account, address) is backing off, or the account has used its hourly
// budget of failures (from every address); then retryIn says how long that
// lasts. The back-off of one address never delays another: the account's
// owner logs in from elsewhere while a guesser waits.
//
// A pair has at most one check in flight, so that parallel guesses cannot
// all slip through when a back-off expires: while one runs, mayTry returns
// a channel closed when it ends, and the caller waits for it and asks
// again. Checks in flight count toward the account's budget until they end,
// and a login that only they keep over it waits the same way. Waiting is
// not failing: several correct logins at once (a terminal multiplexer
// restoring its windows) queue up and all succeed. A true answer MUST be
// followed by failed or succeeded for the same ip and account.
//
// Only names that could be accounts are tracked (account "" counts against
// the address alone), so attackers cannot fill the tables with long junk
// names. Public-key logins do not come here: neither the back-off nor the
// budget applies to them, and an account under attack is always open to its
// owner's key.
func (l *limits) mayTry(ip, account string) (ok bool, wait <-chan struct{}, retryIn time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if p, found := l.addressFails.Peek(ip); found && now.Before(p.until) {
		return false, nil, p.until.Sub(now)
	}
	if account == "" {
		return true, nil, 0
	}
	key := strings.ToLower(account)
	var (
		p *penalty
		h *hourly
	)
	if l.cfg.AccountFailures > 0 {
		p = track(l.pairFails, pair{key, ip})
		if p.checking != nil {
			return false, p.checking, 0
		}
		retryIn = max(retryIn, p.until.Sub(now))
	}
	budget := l.cfg.AccountFailuresHour
	if budget > 0 {
		h = track(l.accountHour, key)
		h.advance(now)
		retryIn = max(retryIn, h.underBudgetIn(now, budget))
	}
	if retryIn > 0 { // the longest wait in force, to say when to come back
		return false, nil, retryIn
	}
	if h != nil {
		if h.total+h.inFlight >= budget {
			if h.settled == nil {
				h.settled = make(chan struct{})
			}
			return false, h.settled, 0
		}
		h.inFlight++
	}
	if p != nil {
		p.checking = make(chan struct{})
	}
	return true, nil, 0
}

// failed records a failed login for account from ip; with account "" it
// counts against the address only (a guess refused unchecked, which must
// not stretch the back-off or spend the account's budget: its owner would
// wait longer). It returns the longest wait now in force for the address,
// the pair and the account (0: none), this failure's included.
func (l *limits) failed(ip, account string) (retryIn time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.cfg.PenaltyFailures > 0 {
		p := track(l.addressFails, ip)
		if p.record(now, l.cfg.PenaltyFailures, penaltyMin, penaltyMax, penaltyCalm) {
			// The whole address waits; start counting afresh after.
			p.failures = 0
			l.metrics.addressPenalty()
		}
		retryIn = max(retryIn, p.until.Sub(now))
	}
	if account == "" {
		return retryIn
	}
	key := strings.ToLower(account)
	if l.cfg.AccountFailures > 0 {
		p := track(l.pairFails, pair{key, ip})
		// Every failure past the threshold doubles the back-off.
		if p.record(now, l.cfg.AccountFailures, accountMin, accountMax, accountCalm) {
			l.metrics.loginBackoff()
		}
		p.checked()
		retryIn = max(retryIn, p.until.Sub(now))
	}
	if budget := l.cfg.AccountFailuresHour; budget > 0 {
		h := track(l.accountHour, key)
		h.advance(now)
		h.slots[h.minute%budgetSlots]++
		h.total++
		h.settle()
		retryIn = max(retryIn, h.underBudgetIn(now, budget))
	}
	return retryIn
}

// succeeded clears the failure count of an address and the back-off of the
// pair (account, address), and ends the check in flight. The account's
// hourly count stays: a login by its owner does not refund what guessers
// spent.
func (l *limits) succeeded(ip, account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.addressFails.Peek(ip); ok {
		p.failures = 0
	}
	key := strings.ToLower(account)
	if p, ok := l.pairFails.Peek(pair{key, ip}); ok {
		p.checked()
		l.pairFails.Remove(pair{key, ip})
	}
	if h, ok := l.accountHour.Peek(key); ok {
		h.settle()
		if h.advance(l.now()); h.total == 0 && h.inFlight == 0 {
			l.accountHour.Remove(key)
		}
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
// recently used makes room; the logins waiting on it are woken then
// (newLimits).
func track[K comparable, V any](table *lru.LRU[K, *V], key K) *V {
	if v, ok := table.Get(key); ok {
		return v
	}
	v := new(V)
	table.Add(key, v)
	return v
}

// advance moves h's count to now's minute: the failures of the minutes
// that left the hour leave the count. At most budgetSlots steps.
func (h *hourly) advance(now time.Time) {
	m := now.UnixNano() / int64(budgetSlot)
	switch {
	case m <= h.minute:
		return // the same minute, or a clock set back: count in the latest
	case m-h.minute >= budgetSlots:
		h.slots, h.total = [budgetSlots]int32{}, 0
	default:
		for k := h.minute + 1; k <= m; k++ {
			h.total -= int(h.slots[k%budgetSlots])
			h.slots[k%budgetSlots] = 0
		}
	}
	h.minute = m
}

// underBudgetIn is how long until h's failures fall under budget as the
// oldest minutes leave the hour; 0 if they are under it. h is advanced to
// now. At most budgetSlots steps.
func (h *hourly) underBudgetIn(now time.Time, budget int) time.Duration {
	left := h.total
	for k := h.minute - budgetSlots + 1; k <= h.minute && left >= budget; k++ {
		if left -= int(h.slots[k%budgetSlots]); left < budget {
			// Minute k leaves when minute k+budgetSlots begins.
			return time.Unix(0, (k+budgetSlots)*int64(budgetSlot)).Sub(now)
		}
	}
	return 0
}

// settle ends one check in flight, waking those waiting for it.
func (h *hourly) settle() {
	if h.inFlight > 0 {
		h.inFlight--
	}
	h.wake()
}

// wake wakes the logins waiting for a check in flight to end.
func (h *hourly) wake() {
	if h.settled != nil {
		close(h.settled)
		h.settled = nil
	}
}

// over reports whether count has reached limit; a zero limit is no limit.
func over(count, limit int) bool { return limit > 0 && count >= limit }
