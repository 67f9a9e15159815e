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
	// signupRounds bounds the re-asks inside one keyboard-interactive
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
	store     store.Store
	log       *slog.Logger
	limits    *limits
	checks    atomic.Int64 // password hashes checked: what guessing costs us
	hashSlots chan struct{}
	// freeHashMemory returns the hashes' scratch memory to the system
	// once hashing pauses: a login storm would otherwise leave the
	// process holding hundreds of MiB it no longer uses.
	freeHashMemory *time.Timer
	memoryFreedAt  atomic.Int64 // unix ns of the last time it did
	dummyHash      string       // checked for unknown users so they cost as much as known ones
	passwordMin    int
	passwordMax    int
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
		hashSlots:   make(chan struct{}, runtime.NumCPU()),
		dummyHash:   dummy,
		passwordMin: cfg.PasswordMin,
		passwordMax: cfg.PasswordMax,
	}
	// Stopped until the first hash; each hash postpones it.
	a.freeHashMemory = time.AfterFunc(time.Hour, a.freeMemory)
	a.freeHashMemory.Stop()
	return a, nil
}

// freeMemory gives the hashes' scratch memory back to the system, at most
// once per hashFreeEvery: it forces a full collection, whose cost grows
// with the heap, and a steady trickle of logins must not force one each.
func (a *authenticator) freeMemory() {
	last := time.Unix(0, a.memoryFreedAt.Load())
	if wait := time.Until(last.Add(hashFreeEvery)); wait > 0 {
		a.freeHashMemory.Reset(wait)
		return
	}
	a.memoryFreedAt.Store(time.Now().UnixNano())
	debug.FreeOSMemory()
}

// identity is the account a session authenticated as, or "" if none.
func identity(ctx ssh.Context) string {
	p := ctx.Permissions()
	if p == nil || p.Permissions == nil {
		return ""
	}
	return p.Extensions[identityKey]
}

// setIdentity records a successful login: the account, and that the
// connection no longer counts as unauthenticated.
func setIdentity(ctx ssh.Context, name string) {
	p := ctx.Permissions()
	if p.Extensions == nil {
		p.Extensions = map[string]string{}
	}
	p.Extensions[identityKey] = name
	if c := connOf(ctx); c != nil {
		c.loggedIn()
	}
}

// passwordHandler serves the SSH "password" method.
func (a *authenticator) passwordHandler(ctx ssh.Context, password string) bool {
	if strings.EqualFold(ctx.User(), signupUser) {
		return false // signup needs the keyboard-interactive dialogue
	}
	return a.login(ctx, ctx.User(), password)
}

// keyboardInteractiveHandler serves "keyboard-interactive", which OpenSSH
// tries before "password": ordinary logins arrive here as well as signups.
func (a *authenticator) keyboardInteractiveHandler(ctx ssh.Context, challenge gossh.KeyboardInteractiveChallenge) bool {
	if strings.EqualFold(ctx.User(), signupUser) {
		return a.signup(ctx, challenge)
	}
	// Why the connection's last try failed: a client shows nothing for a
	// refused attempt, so the next prompt says it.
	problem, _ := ctx.Value(loginProblemKey{}).(string)
	answers, err := challenge("", problem, []string{"Password: "}, []bool{false})
	if err != nil || len(answers) != 1 {
		return false
	}
	return a.login(ctx, ctx.User(), answers[0])
}

// loginProblemKey holds, in a connection's context, why its last login
// failed, for keyboardInteractiveHandler's next prompt.
type loginProblemKey struct{}

const (
	wrongLogin    = "Wrong username or password. Please try again."
	loginsTooFast = "Login refused for now: too many failed logins. Please wait, then try again."
)

// login checks name and password and, on success, records the identity.
// Unknown names are checked against a dummy hash so that they fail the same
// way and in about the same time as a wrong password.
func (a *authenticator) login(ctx ssh.Context, name, password string) bool {
	ip := hostOf(ctx.RemoteAddr())
	account := name
	if store.ValidateUsername(name) != nil {
		account = "" // cannot be an account: counts against the address only
	}
	for {
		ok, wait := a.limits.mayTry(ip, account)
		if wait != nil { // another login for this account is being checked
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return false
			}
		}
		if !ok {
			// Penalised address or backing-off account: no hash spent,
			// but the guess still counts against the address.
			a.limits.failed(ip, "")
			ctx.SetValue(loginProblemKey{}, loginsTooFast)
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
		a.limits.failed(ip, account)
		ctx.SetValue(loginProblemKey{}, wrongLogin)
		return false
	}
	a.limits.succeeded(ip, account)
	setIdentity(ctx, acct.Name)
	return true
}

// checkPassword runs one argon2id check under the hashing semaphore.
func (a *authenticator) checkPassword(ctx context.Context, hash, password string) (bool, error) {
	release, err := a.acquireHashSlot(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	a.checks.Add(1)
	return store.CheckPassword(hash, password)
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
			a.freeHashMemory.Reset(hashQuiet)
		}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hashQuiet is how long hashing must pause before its scratch memory is
// given back: one full garbage collection after a burst of logins, and at
// most one per hashFreeEvery.
const (
	hashQuiet     = time.Second
	hashFreeEvery = 10 * time.Second
)

// signup runs the account-creation dialogue: username, password, repeat. A
// bad answer is explained in the next round's instruction, for at most
// signupRounds rounds. On success the connection continues as the new user.
func (a *authenticator) signup(ctx ssh.Context, challenge gossh.KeyboardInteractiveChallenge) bool {
	ip := hostOf(ctx.RemoteAddr())
	if !a.limits.maySignUp(ip) { // say so before asking anything
		return endSignup(ctx, challenge, quotaMessage)
	}
	rules := fmt.Sprintf("Username: letters and digits, 2 to 20, starting with a letter.\n"+
		"Password: %d to %d characters.", a.passwordMin, a.passwordMax)
	instruction := "Create your Messaging account.\n" + rules
	var problem error
	for round := 1; round <= signupRounds; round++ {
		answers, err := challenge("Messaging signup", instruction,
			[]string{"Username: ", "Password: ", "Repeat password: "}, []bool{true, false, false})
		if err != nil || len(answers) != 3 {
			return false
		}
		name := strings.TrimSpace(answers[0])
		problem = a.createAccount(ctx, ip, name, answers[1], answers[2])
		if problem == nil {
			a.log.Info("signup", "user", name, "remote", ctx.RemoteAddr().String())
			_, _ = challenge("", fmt.Sprintf("Welcome to Messaging, %s! Next time, log in with: ssh%s %s@<this host>",
				name, portFlag(ctx.LocalAddr()), name), nil, nil)
			setIdentity(ctx, name)
			return true
		}
		if errors.Is(problem, errServer) {
			return endSignup(ctx, challenge, "Sorry, the server could not create your account. Please try again later.")
		}
		if errors.Is(problem, errQuota) {
			return endSignup(ctx, challenge, quotaMessage)
		}
		if errors.Is(problem, errNamesTooFast) {
			return endSignup(ctx, challenge, capitalise(problem.Error())+".")
		}
		instruction = fmt.Sprintf("%s. Please try again (attempt %d of %d).\n%s",
			capitalise(problem.Error()), round+1, signupRounds, rules)
	}
	return endSignup(ctx, challenge, capitalise(problem.Error())+". Too many attempts. Connect again to start over.")
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

const quotaMessage = "Too many accounts were created from your address in the last hour. Please try again later."

// createAccount validates the answers and creates the account. It returns a
// user-facing problem, or an error wrapping errServer.
func (a *authenticator) createAccount(ctx context.Context, ip, name, password, repeat string) error {
	if err := store.ValidateUsername(name); err != nil {
		return err
	}
	if err := store.ValidatePassword(password, a.passwordMin, a.passwordMax); err != nil {
		return err
	}
	if password != repeat {
		return errors.New("the two passwords differ")
	}
	if wait := a.limits.nameAnswerWait(ip); wait > 0 {
		return fmt.Errorf("%w: please wait %s, then try again", errNamesTooFast, wait.Truncate(time.Second)+time.Second)
	}
	taken := fmt.Errorf("the username %q is taken; choose another", name)
	similar := fmt.Errorf("the username %q is too similar to an existing name; choose another", name)
	switch _, err := a.store.Account(ctx, name); {
	case err == nil:
		a.limits.answeredTaken(ip)
		return taken
	case !errors.Is(err, store.ErrNotFound):
		a.log.Error("look up account", "user", name, "err", err)
		return errServer
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
	switch {
	case errors.Is(err, store.ErrNameTaken):
		undo()
		a.limits.answeredTaken(ip)
		return taken
	case errors.Is(err, store.ErrNameSimilar):
		undo()
		a.limits.answeredTaken(ip)
		return similar
	case err != nil:
		undo()
		a.log.Error("create account", "user", name, "err", err)
		return errServer
	}
	return nil
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
