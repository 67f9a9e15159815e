package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"messaging/store"
)

const (
	// signupUser is the account name that runs the signup dialogue.
	signupUser = "signup"
	// signupRounds bounds the rounds of one signup dialogue (the name's,
	// the passwords' and every re-ask), all inside one keyboard-interactive
	// attempt: they do not count toward MaxAuthTries.
	signupRounds = 5
	// identityKey is the Permissions extension that carries the account a
	// connection authenticated as. charm.land/ssh resets Permissions before
	// every attempt, so only the successful method's value survives.
	identityKey = "messaging-account"
)

// authenticator checks passwords and runs the signup dialogue. Password
// hashing is memory-hard (19 MiB each), so at most one hash per CPU runs at a
// time: a login storm queues instead of exhausting memory.
type authenticator struct {
	store  store.Store
	log    *slog.Logger
	limits *limits
	// verify is store.CheckPassword: one argon2id check. Tests that count
	// what guessing costs wrap it before the server starts.
	verify    func(hash, password string) (bool, error)
	hashSlots chan struct{}
	// freeHashMemory returns the logins' scratch memory to the system
	// once logins pause (see freeMemory): a login storm would otherwise
	// leave the process holding hundreds of MiB it no longer uses.
	freeHashMemory *time.Timer
	memoryFreedAt  atomic.Int64 // unix ns of the last time it did
	dummyHash      string       // checked for unknown users so they cost as much as known ones
	passwordMin    int
	passwordMax    int
	publicHost     string   // the host name in the hints that show an ssh command
	metrics        *metrics // counts logins and signups; nil: none
}

func newAuthenticator(st store.Store, log *slog.Logger, cfg Config, lim *limits) (*authenticator, error) {
	dummy, err := store.HashPassword("dummy password for unknown users")
	if err != nil {
		return nil, fmt.Errorf("hash dummy password: %w", err)
	}
	a := &authenticator{
		store:       st,
		log:         log,
		limits:      lim,
		verify:      store.CheckPassword,
		hashSlots:   make(chan struct{}, runtime.NumCPU()),
		dummyHash:   dummy,
		passwordMin: cfg.PasswordMin,
		passwordMax: cfg.PasswordMax,
		publicHost:  cfg.PublicHost,
	}
	// Stopped until the first hash; each hash postpones it.
	a.freeHashMemory = time.AfterFunc(time.Hour, a.freeMemory)
	a.freeHashMemory.Stop()
	return a, nil
}

// freeMemory gives the logins' scratch memory back to the system, at most
// once per hashFreeEvery: it forces a full collection, whose cost grows
// with the heap, and a steady trickle of logins must not force one each.
// A password login leaves its hash's 19 MiB; any login leaves what the
// handshake and the first screen allocated.
func (a *authenticator) freeMemory() {
	last := time.Unix(0, a.memoryFreedAt.Load())
	if wait := time.Until(last.Add(hashFreeEvery)); wait > 0 {
		a.freeHashMemory.Reset(wait)
		return
	}
	a.memoryFreedAt.Store(time.Now().UnixNano())
	debug.FreeOSMemory()
}

// loggedIn postpones freeMemory to hashQuiet after this login.
func (a *authenticator) loggedIn() { a.freeHashMemory.Reset(hashQuiet) }

// identity is the account a session authenticated as, or "" if none.
func identity(ctx ssh.Context) string {
	p := ctx.Permissions()
	if p == nil || p.Permissions == nil {
		return ""
	}
	return p.Extensions[identityKey]
}

// methodExtension says how the connection logged in: "password",
// "signup" or "key" (a Permissions extension, like identityKey).
const methodExtension = "messaging-method"

// loginMethod is how a session's connection logged in.
func loginMethod(ctx ssh.Context) string {
	p := ctx.Permissions()
	if p == nil || p.Permissions == nil {
		return ""
	}
	if p.Extensions[keyExtension] != "" {
		return "key"
	}
	return p.Extensions[methodExtension]
}

// setIdentity records a successful password login or signup: the account,
// how, that the connection no longer counts as unauthenticated, and the
// login for /account. (Key logins: keyVerified.)
func (a *authenticator) setIdentity(ctx ssh.Context, name string) {
	p := ctx.Permissions()
	if p.Extensions == nil {
		p.Extensions = map[string]string{}
	}
	method := "password"
	if strings.EqualFold(ctx.User(), signupUser) {
		method = "signup"
	}
	p.Extensions[identityKey] = name
	p.Extensions[methodExtension] = method
	if method == "password" {
		// Whether to tell this user how to add a key (loginNotices).
		if keys, err := a.store.Keys(ctx, name); err == nil && len(keys) > 0 {
			p.Extensions[hasKeysExtension] = "yes"
		}
	}
	if c := connOf(ctx); c != nil {
		c.loggedIn()
	}
	a.recordLogin(ctx, name, hostOf(ctx.RemoteAddr()), method)
}

// hasKeysExtension marks a password login of an account that has keys.
const hasKeysExtension = "messaging-has-keys"

// passwordHandler serves the SSH "password" method.
func (a *authenticator) passwordHandler(ctx ssh.Context, password string) bool {
	if strings.EqualFold(ctx.User(), signupUser) {
		return false // signup needs the keyboard-interactive dialogue
	}
	ok := a.login(ctx, ctx.User(), password, nil)
	a.metrics.login("password", ok)
	return ok
}

// keyboardInteractiveHandler serves "keyboard-interactive", which OpenSSH
// tries before "password": ordinary logins arrive here as well as signups.
func (a *authenticator) keyboardInteractiveHandler(ctx ssh.Context, challenge gossh.KeyboardInteractiveChallenge) bool {
	if strings.EqualFold(ctx.User(), signupUser) {
		ok := a.signup(ctx, challenge)
		a.metrics.login("signup", ok)
		return ok
	}
	// Why the connection's last try failed: a client shows nothing for a
	// refused attempt, so the next prompt says it.
	problem, _ := ctx.Value(loginProblemKey{}).(string)
	answers, err := challenge("", problem, []string{"Password: "}, []bool{false})
	if err != nil || len(answers) != 1 {
		return false
	}
	ok := a.login(ctx, ctx.User(), answers[0], challenge)
	a.metrics.login("keyboard-interactive", ok)
	return ok
}

// loginProblemKey holds, in a connection's context, why its last login
// failed, for keyboardInteractiveHandler's next prompt.
type loginProblemKey struct{}

const wrongLogin = "Wrong username or password. Please try again."

// loginRefused explains a login refused unchecked, the address being
// penalised or the account backing off: it says when to try again, or
// only to wait when that is unknown (wait 0).
func loginRefused(wait time.Duration) string {
	const refused = "Login refused for now: too many failed logins."
	if wait <= 0 {
		return refused + " Please wait, then try again."
	}
	return refused + " Try again in " + waitText(wait) + "."
}

// loginFailed explains a wrong password. When that failure made the
// address or the account wait (wait > 0), it says so: the next try would
// be refused, and OpenSSH's last keyboard-interactive prompt is the last
// place the user can read why before its password prompt.
func loginFailed(wait time.Duration) string {
	if wait <= 0 {
		return wrongLogin
	}
	return "Wrong username or password. Too many failed logins: try again in " + waitText(wait) + "."
}

// waitText says how long d is to someone waiting, rounded up: "25 s",
// "4 min".
func waitText(d time.Duration) string {
	if d <= 2*time.Minute {
		return fmt.Sprintf("%d s", (d+time.Second-1)/time.Second)
	}
	return fmt.Sprintf("%d min", (d+time.Minute-1)/time.Minute)
}

// login checks name and password and, on success, records the identity.
// Unknown names are checked against a dummy hash so that they fail the same
// way and in about the same time as a wrong password. The limits decide
// first whether the password is checked at all (limits.mayTry): not from a
// penalised address, nor while this address backs off from this account,
// nor once the account has spent its hourly budget of failures from every
// address; a refusal says when to try again. An account whose password an
// admin reset must choose a new one first (changeResetPassword), through
// challenge: nil for the "password" method, which cannot ask.
func (a *authenticator) login(ctx ssh.Context, name, password string, challenge gossh.KeyboardInteractiveChallenge) bool {
	ip := hostOf(ctx.RemoteAddr())
	account := name
	if store.ValidateUsername(name) != nil {
		account = "" // cannot be an account: counts against the address only
	}
	for {
		ok, wait, retryIn := a.limits.mayTry(ip, account)
		if wait != nil { // a check this one must wait for is in flight (limits.mayTry)
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return false
			}
		}
		if !ok {
			// Penalised address, backing-off pair or spent account
			// budget: no hash spent, but the guess still counts against
			// the address.
			ctx.SetValue(loginProblemKey{}, loginRefused(max(retryIn, a.limits.failed(ip, ""))))
			return false
		}
		break
	}
	hash, known := a.dummyHash, false
	acct, err := a.store.Account(ctx, name)
	switch {
	case err == nil:
		hash, known = acct.PasswordHash, true
	case !errors.Is(err, store.ErrNotFound):
		a.log.Error("look up account", "user", name, "err", err)
	}
	if len(password) > 4*a.passwordMax+64 {
		password = "" // never hash an absurd input; still spend the time below
	}
	ok, err := a.checkPassword(ctx, hash, password)
	if err != nil {
		a.log.Error("check password", "user", name, "err", err)
	}
	if !known || !ok || password == "" {
		ctx.SetValue(loginProblemKey{}, loginFailed(a.limits.failed(ip, account)))
		return false
	}
	a.limits.succeeded(ip, account)
	if why := a.banned(ctx, acct.Name); why != "" {
		a.log.Info("login refused: banned", "user", acct.Name, "remote", ctx.RemoteAddr().String())
		ctx.SetValue(loginProblemKey{}, why)
		if challenge != nil {
			endSignup(ctx, challenge, why) // shown; no answer can help, so the connection ends
		}
		return false
	}
	if acct.MustChangePassword && !a.changeResetPassword(ctx, challenge, acct.Name, password) {
		return false
	}
	a.setIdentity(ctx, acct.Name)
	return true
}

// resetRounds bounds the rounds of choosing a new password after an
// admin's reset, all inside the keyboard-interactive attempt that checked
// the one-time password.
const resetRounds = 3

// changeResetPassword has the user of name, whose password an admin reset
// (store.Account.MustChangePassword) and who has just given the one-time
// password oneTime, choose a new one with signup's rules, asking through
// challenge; a wrong answer is explained in the next round's instruction.
// It reports whether the new password is set (which clears the mark): the
// login proceeds only then. With no challenge (the "password" method) it
// cannot ask, and refuses.
func (a *authenticator) changeResetPassword(ctx ssh.Context, challenge gossh.KeyboardInteractiveChallenge, name, oneTime string) bool {
	remote := ctx.RemoteAddr().String()
	if challenge == nil {
		a.log.Info("login refused: the password was reset and the password method cannot change it", "user", name, "remote", remote)
		ctx.SetValue(loginProblemKey{}, "Your password was reset by an admin: log in with keyboard-interactive authentication to choose a new one.")
		return false
	}
	rule := fmt.Sprintf("Password: %d to %d characters.", a.passwordMin, a.passwordMax)
	intro := "Your password was reset by an admin: choose a new one."
	var problem error
	for round := 1; round <= resetRounds; round++ {
		if problem != nil {
			intro = fmt.Sprintf("%s. Please try again (attempt %d of %d).", capitalise(problem.Error()), round, resetRounds)
		}
		answers, err := challenge("Messaging", intro+"\n"+rule,
			[]string{"New password: ", "Repeat new password: "}, []bool{false, false})
		if err != nil || len(answers) != 2 {
			return false
		}
		next, repeat := answers[0], answers[1]
		switch problem = store.ValidatePassword(next, a.passwordMin, a.passwordMax); {
		case problem != nil:
		case next != repeat:
			problem = errors.New("the two passwords differ")
		case next == oneTime:
			problem = errors.New("the new password must not be the one-time password")
		}
		if problem != nil {
			continue
		}
		hash, err := a.hashPassword(ctx, next)
		if err == nil {
			err = a.store.SetPasswordHash(ctx, name, hash)
		}
		if err != nil {
			a.log.Error("set password after reset", "user", name, "err", err)
			ctx.SetValue(loginProblemKey{}, "Sorry, the server could not change your password. Please try again later.")
			return false
		}
		a.log.Info("password changed after reset", "user", name, "remote", remote)
		return true
	}
	ctx.SetValue(loginProblemKey{}, capitalise(problem.Error())+". Too many attempts: your password is unchanged. Log in with the one-time password to try again.")
	return false
}

// checkPassword runs one argon2id check under the hashing semaphore.
func (a *authenticator) checkPassword(ctx context.Context, hash, password string) (bool, error) {
	release, err := a.acquireHashSlot(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return a.verify(hash, password)
}

func (a *authenticator) hashPassword(ctx context.Context, password string) (string, error) {
	release, err := a.acquireHashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return store.HashPassword(password)
}

func (a *authenticator) acquireHashSlot(ctx context.Context) (release func(), err error) {
	select {
	case a.hashSlots <- struct{}{}:
		return func() {
			<-a.hashSlots
			a.loggedIn()
		}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hashQuiet is how long logins (hashes and key logins) must pause before
// their memory is given back (freeMemory), at most once per hashFreeEvery.
const (
	hashQuiet     = time.Second
	hashFreeEvery = 10 * time.Second
)

// signup runs the account-creation dialogue: first the username, checked
// at once, then the password and its repeat. A bad answer is explained in
// the next round's instruction, which asks that question again; a name
// someone took meanwhile (or one too like it, which only the store can
// tell) sends the dialogue back to the name. signupRounds rounds at most,
// in all. On success the connection continues as the new user.
func (a *authenticator) signup(ctx ssh.Context, challenge gossh.KeyboardInteractiveChallenge) bool {
	ip := hostOf(ctx.RemoteAddr())
	if !a.limits.maySignUp(ip) { // say so before asking anything
		return endSignup(ctx, challenge, quotaMessage)
	}
	if why := a.bannedAddress(ctx, ip); why != "" { // a banned account's address
		a.log.Info("signup refused: banned address", "remote", ctx.RemoteAddr().String())
		return endSignup(ctx, challenge, why)
	}
	nameRule := "Username: letters and digits, 2 to 20, starting with a letter."
	passwordRule := fmt.Sprintf("Password: %d to %d characters.", a.passwordMin, a.passwordMax)
	var (
		name    string // the free name chosen; "" while asking for one
		problem error  // what was wrong with the last answers
	)
	for round := 1; round <= signupRounds; round++ {
		var intro string
		switch {
		case problem != nil:
			intro = fmt.Sprintf("%s. Please try again (attempt %d of %d).", capitalise(problem.Error()), round, signupRounds)
		case name != "":
			intro = fmt.Sprintf("The username %s is free.", name)
		default:
			intro = "Create your Messaging account."
		}
		if name == "" {
			answers, err := challenge("Messaging signup", intro+"\n"+nameRule+"\n"+passwordRule,
				[]string{"Username: "}, []bool{true})
			if err != nil || len(answers) != 1 {
				return false
			}
			candidate := strings.TrimSpace(answers[0])
			if problem = a.checkName(ctx, ip, candidate); problem == nil {
				name = candidate
			}
		} else {
			answers, err := challenge("Messaging signup", intro+"\n"+passwordRule,
				[]string{"Password: ", "Repeat password: "}, []bool{false, false})
			if err != nil || len(answers) != 2 {
				return false
			}
			problem = a.createAccount(ctx, ip, name, answers[0], answers[1])
			if problem == nil {
				a.log.Info("signup", "user", name, "remote", ctx.RemoteAddr().String())
				a.metrics.signup()
				_, _ = challenge("", fmt.Sprintf("Welcome to Messaging, %s! Next time, log in with: ssh%s %s@%s",
					name, portFlag(ctx.LocalAddr()), name, a.publicHost), nil, nil)
				a.setIdentity(ctx, name)
				return true
			}
			if errors.As(problem, new(nameGone)) {
				name = ""
			}
		}
		switch {
		case errors.Is(problem, errServer):
			return endSignup(ctx, challenge, "Sorry, the server could not create your account. Please try again later.")
		case errors.Is(problem, errQuota):
			return endSignup(ctx, challenge, quotaMessage)
		case errors.Is(problem, errNamesTooFast):
			return endSignup(ctx, challenge, capitalise(problem.Error())+".")
		}
	}
	why := "Too many attempts. Connect again to start over."
	if problem != nil {
		why = capitalise(problem.Error()) + ". " + why
	}
	return endSignup(ctx, challenge, why)
}

// endSignup shows why the signup dialogue ended and closes the connection.
// A client told only "failed" tries again: OpenSSH shows the same refusal
// up to three times, then asks for signup's password, which no answer can
// satisfy. It returns false, the failed login.
func endSignup(ctx ssh.Context, challenge gossh.KeyboardInteractiveChallenge, why string) bool {
	_, _ = challenge("", why, nil, nil) // returns once the client has it
	if c := connOf(ctx); c != nil {
		_ = c.conn.Close()
	}
	return false
}

// Signup failures that end the dialogue: not the user's fault, or over the
// address's hourly quota.
var (
	errServer = errors.New("server error")
	errQuota  = errors.New("signup quota reached")
	// errNamesTooFast: the address asked about too many taken names.
	errNamesTooFast = errors.New("too many names were tried from your address")
)

// nameGone is a problem with the chosen name found only as the account was
// created: someone took it, or a name too like it, meanwhile. Signup asks
// for another name.
type nameGone struct{ error }

const quotaMessage = "Too many accounts were created from your address in the last hour. Please try again later."

// checkName tells at once whether name may be a new account's: the rules,
// reserved names and their look-alikes, and whether an account has it.
// Each "taken" tells whether an account exists, so an address gets a
// budget of them. The store decides for good only when the account is
// created (createAccount). It returns a user-facing problem, or an error
// wrapping errServer or errNamesTooFast.
func (a *authenticator) checkName(ctx context.Context, ip, name string) error {
	if err := store.ValidateUsername(name); err != nil {
		return err
	}
	if wait := a.limits.nameAnswerWait(ip); wait > 0 {
		return fmt.Errorf("%w: please wait %s, then try again", errNamesTooFast, waitText(wait))
	}
	if err := a.store.NameAvailable(ctx, name); err != nil {
		if problem := a.nameRefused(ip, name, err); problem != nil {
			return problem
		}
		a.log.Error("check name", "user", name, "err", err)
		return errServer
	}
	return nil
}

// nameRefused is the user-facing problem when the store says name is
// taken or too similar, counted against ip's budget of such answers; nil
// for any other error.
func (a *authenticator) nameRefused(ip, name string, err error) error {
	switch {
	case errors.Is(err, store.ErrNameTaken):
		a.limits.answeredTaken(ip)
		return fmt.Errorf("the username %q is taken; choose another", name)
	case errors.Is(err, store.ErrNameSimilar):
		a.limits.answeredTaken(ip)
		return fmt.Errorf("the username %q is too similar to an existing name; choose another", name)
	}
	return nil
}

// createAccount checks the passwords and creates the account named name,
// which checkName accepted. It returns a user-facing problem (a nameGone
// when the name was taken meanwhile), or an error wrapping errServer or
// errQuota.
func (a *authenticator) createAccount(ctx context.Context, ip, name, password, repeat string) error {
	if err := store.ValidatePassword(password, a.passwordMin, a.passwordMax); err != nil {
		return err
	}
	if password != repeat {
		return errors.New("the two passwords differ")
	}
	undo, ok := a.limits.reserveSignup(ip)
	if !ok {
		return errQuota
	}
	hash, err := a.hashPassword(ctx, password)
	if err != nil {
		undo()
		a.log.Error("hash password", "user", name, "err", err)
		return errServer
	}
	err = a.store.CreateAccount(ctx, store.Account{Name: name, PasswordHash: hash, CreatedAt: time.Now()})
	if err == nil {
		return nil
	}
	undo()
	if problem := a.nameRefused(ip, name, err); problem != nil {
		return nameGone{problem}
	}
	a.log.Error("create account", "user", name, "err", err)
	return errServer
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// portFlag is the ssh option a user needs to reach addr's port again.
func portFlag(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.Port == 22 {
		return ""
	}
	return fmt.Sprintf(" -p %d", tcp.Port)
}
