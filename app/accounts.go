package app

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2/simplelru"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/time/rate"

	"messaging/chat"
	"messaging/store"
)

const (
	// nameHold is how long a deleted account's name stays unavailable, so
	// that nobody takes it and passes for its owner in old history.
	nameHold = 30 * 24 * time.Hour
	// maxKeyText bounds a pasted public key line: an RSA key of 16384 bits
	// is about 2,800 characters.
	maxKeyText = 8192
	minRSABits = 2048
	// Password checks from a logged-in session (/passwd, /account delete)
	// are argon2id hashes: each account gets passwordChecksBurst at once,
	// then one every passwordCheckEvery, so that neither guessing nor
	// burning the server's CPU is cheap from an unattended terminal.
	passwordChecksBurst = 6 // a /passwd checks twice: its first answer, then the change
	passwordCheckEvery  = 12 * time.Second
)

// accountService is the self-service of signed-in users (chat.Accounts):
// their keys, their password, their account. The room hands it to the
// commands /key, /passwd and /account.
type accountService struct {
	store   store.Store
	auth    *authenticator // password checks and hashes, under its semaphore
	log     *slog.Logger
	maxKeys int
	// disconnect ends every session of an account, with the reason its
	// user reads (the room's Disconnect, set once the room exists).
	disconnect func(account, reason string)

	mu     sync.Mutex
	checks *lru.LRU[string, *rate.Limiter] // password checks per account
}

var _ chat.Accounts = (*accountService)(nil)

func newAccountService(st store.Store, auth *authenticator, log *slog.Logger, maxKeys int) *accountService {
	return &accountService{store: st, auth: auth, log: log, maxKeys: maxKeys, checks: newTable[*rate.Limiter](nil)}
}

// keyTypes are the public key types a key login accepts: what OpenSSH
// generates today, security keys included (x/crypto verifies them), and
// neither DSA nor certificates.
var keyTypes = map[string]bool{
	gossh.KeyAlgoED25519:    true,
	gossh.KeyAlgoECDSA256:   true,
	gossh.KeyAlgoECDSA384:   true,
	gossh.KeyAlgoECDSA521:   true,
	gossh.KeyAlgoRSA:        true, // signed with rsa-sha2-256/512; SHA-1 is not among the server's algorithms
	gossh.KeyAlgoSKED25519:  true,
	gossh.KeyAlgoSKECDSA256: true,
}

// parseKey reads a public key line as ~/.ssh/id_ed25519.pub holds it
// (type, base64, comment), with a user-facing refusal for every wrong form.
func parseKey(text string) (gossh.PublicKey, string, error) {
	if len(text) > maxKeyText {
		return nil, "", chat.Refusal("That is too long for a public key: paste one line, the contents of ~/.ssh/id_ed25519.pub.")
	}
	key, comment, options, rest, err := gossh.ParseAuthorizedKey([]byte(text))
	switch {
	case err != nil:
		if kind, _, _ := strings.Cut(strings.TrimSpace(text), " "); kind == "ssh-dss" {
			return nil, "", chat.Refusal("DSA keys (ssh-dss) are not accepted: they are no longer safe. Make an ssh-ed25519 key (ssh-keygen -t ed25519) and paste its .pub line.")
		}
		if strings.Contains(text, "PRIVATE KEY") {
			return nil, "", chat.Refusal("That is a PRIVATE key: never paste it anywhere. Paste the public one, ~/.ssh/id_ed25519.pub (ending in .pub).")
		}
		return nil, "", chat.Refusal("That is not a public key: paste the whole line of ~/.ssh/id_ed25519.pub, starting with ssh-ed25519.")
	case len(options) > 0:
		return nil, "", chat.Refusal("Paste the key without options: the line from its type (ssh-ed25519...) on.")
	case len(strings.TrimSpace(string(rest))) > 0 || holdsAKey(comment):
		return nil, "", chat.Refusal("Paste one key at a time.")
	}
	if _, isCert := key.(*gossh.Certificate); isCert || !keyTypes[key.Type()] {
		return nil, "", chat.Refusal(fmt.Sprintf("Keys of type %s are not accepted: use ssh-ed25519 (ssh-keygen -t ed25519), ECDSA or RSA of %d bits or more.",
			chat.Sanitize(key.Type(), 60), minRSABits))
	}
	if key.Type() == gossh.KeyAlgoRSA {
		crypto, ok := key.(gossh.CryptoPublicKey)
		pub, isRSA := crypto.CryptoPublicKey().(*rsa.PublicKey)
		if !ok || !isRSA || pub.N.BitLen() < minRSABits {
			return nil, "", chat.Refusal(fmt.Sprintf("That RSA key is too short: use one of %d bits or more, or ssh-ed25519.", minRSABits))
		}
	}
	return key, chat.Sanitize(comment, 100), nil
}

// holdsAKey reports whether a key's comment holds another key: two keys
// pasted on one line (a paste's line breaks become spaces) parse as the
// first with the second as its comment.
func holdsAKey(comment string) bool {
	for _, word := range strings.Fields(comment) {
		if keyTypes[word] || word == "ssh-dss" || strings.HasSuffix(word, "-cert-v01@openssh.com") {
			return true
		}
	}
	return false
}

func (a *accountService) AddKey(ctx context.Context, account, text string) (chat.KeyInfo, error) {
	key, comment, err := parseKey(strings.TrimSpace(text))
	if err != nil {
		return chat.KeyInfo{}, err
	}
	k := store.Key{
		Fingerprint: gossh.FingerprintSHA256(key), Account: account, Type: key.Type(),
		Data: key.Marshal(), Comment: comment, Added: time.Now(),
	}
	err = a.store.AddKey(ctx, k, a.maxKeys)
	switch {
	case errors.Is(err, store.ErrKeyTaken):
		if owner, err := a.store.KeyByFingerprint(ctx, k.Fingerprint); err == nil && strings.EqualFold(owner.Account, account) {
			return chat.KeyInfo{}, chat.Refusal("You added that key already (/key list).")
		}
		// Whose it is stays unsaid.
		return chat.KeyInfo{}, chat.Refusal("That key belongs to another account: a key logs in to one account only.")
	case errors.Is(err, store.ErrTooManyKeys):
		return chat.KeyInfo{}, chat.Refusal(fmt.Sprintf("You have %d keys, the most an account may have: /key remove one first.", a.maxKeys))
	case err != nil:
		a.log.Error("add key", "user", account, "err", err)
		return chat.KeyInfo{}, err
	}
	a.log.Info("key added", "user", account, "fingerprint", k.Fingerprint)
	return keyInfo(k), nil
}

func keyInfo(k store.Key) chat.KeyInfo {
	return chat.KeyInfo{Type: k.Type, Fingerprint: k.Fingerprint, Comment: k.Comment, Added: k.Added, LastUsed: k.LastUsed}
}

func (a *accountService) Keys(ctx context.Context, account string) ([]chat.KeyInfo, error) {
	keys, err := a.store.Keys(ctx, account)
	if err != nil {
		a.log.Error("list keys", "user", account, "err", err)
		return nil, err
	}
	infos := make([]chat.KeyInfo, len(keys))
	for i, k := range keys {
		infos[i] = keyInfo(k)
	}
	return infos, nil
}

// RemoveKey finds the key by its number in /key list or by its
// fingerprint, with or without "SHA256:".
func (a *accountService) RemoveKey(ctx context.Context, account, which string) (chat.KeyInfo, error) {
	keys, err := a.store.Keys(ctx, account)
	if err != nil {
		a.log.Error("list keys", "user", account, "err", err)
		return chat.KeyInfo{}, err
	}
	var found *store.Key
	if n, err := strconv.Atoi(which); err == nil {
		if n >= 1 && n <= len(keys) {
			found = &keys[n-1]
		}
	} else {
		fp := "SHA256:" + strings.TrimPrefix(which, "SHA256:")
		for i := range keys {
			if keys[i].Fingerprint == fp {
				found = &keys[i]
			}
		}
	}
	if found == nil {
		return chat.KeyInfo{}, chat.Refusal(fmt.Sprintf("You have no key %s: /key list shows them, numbered.", chat.Sanitize(which, 60)))
	}
	if err := a.store.RemoveKey(ctx, account, found.Fingerprint); err != nil && !errors.Is(err, store.ErrNotFound) {
		a.log.Error("remove key", "user", account, "err", err)
		return chat.KeyInfo{}, err
	}
	a.log.Info("key removed", "user", account, "fingerprint", found.Fingerprint)
	return keyInfo(*found), nil
}

// checkPassword checks account's password for a command, within the
// account's budget of such checks.
func (a *accountService) checkPassword(ctx context.Context, account, password string) error {
	a.mu.Lock()
	lim, ok := a.checks.Get(strings.ToLower(account))
	if !ok {
		lim = rate.NewLimiter(rate.Every(passwordCheckEvery), passwordChecksBurst)
		a.checks.Add(strings.ToLower(account), lim)
	}
	r := lim.Reserve()
	wait := r.Delay()
	if wait > 0 {
		r.Cancel()
	}
	a.mu.Unlock()
	if wait > 0 {
		return chat.Refusal("Too many password checks: try again in " + waitText(wait) + ".")
	}
	acct, err := a.store.Account(ctx, account)
	if err != nil {
		a.log.Error("look up account", "user", account, "err", err)
		return err
	}
	ok, err = a.auth.checkPassword(ctx, acct.PasswordHash, password)
	if err != nil {
		a.log.Error("check password", "user", account, "err", err)
		return err
	}
	if !ok {
		return chat.ErrWrongPassword
	}
	return nil
}

// CheckPassword checks account's password for a command's question.
func (a *accountService) CheckPassword(ctx context.Context, account, password string) error {
	return a.checkPassword(ctx, account, password)
}

// PasswordRules are signup's.
func (a *accountService) PasswordRules(password string) error {
	if err := store.ValidatePassword(password, a.auth.passwordMin, a.auth.passwordMax); err != nil {
		return chat.Refusal(capitalise(err.Error()) + ".")
	}
	return nil
}

func (a *accountService) ChangePassword(ctx context.Context, account, current, next, repeat string) error {
	if err := store.ValidatePassword(next, a.auth.passwordMin, a.auth.passwordMax); err != nil {
		return chat.Refusal("The new " + err.Error() + ". Your password is unchanged.")
	}
	if next != repeat {
		return chat.Refusal("The two new passwords differ. Your password is unchanged.")
	}
	if err := a.checkPassword(ctx, account, current); err != nil {
		if errors.Is(err, chat.ErrWrongPassword) {
			return chat.Refusal("The current password is wrong. Your password is unchanged.")
		}
		return err
	}
	if next == current {
		return chat.Refusal("The new password is the one you have. Your password is unchanged.")
	}
	hash, err := a.auth.hashPassword(ctx, next)
	if err != nil {
		a.log.Error("hash password", "user", account, "err", err)
		return err
	}
	if err := a.store.SetPasswordHash(ctx, account, hash); err != nil {
		a.log.Error("set password", "user", account, "err", err)
		return err
	}
	a.log.Info("password changed", "user", account)
	return nil
}

func (a *accountService) Delete(ctx context.Context, account, password string) error {
	if err := a.checkPassword(ctx, account, password); err != nil {
		if errors.Is(err, chat.ErrWrongPassword) {
			return chat.Refusal("The password is wrong. Your account is not deleted.")
		}
		return err
	}
	// Its sessions end first, so that none posts under the name once its
	// messages are renamed.
	if a.disconnect != nil {
		a.disconnect(account, "Your account "+account+" is deleted. Goodbye.")
	}
	if err := a.store.DeleteAccount(ctx, account, time.Now().Add(nameHold)); err != nil {
		a.log.Error("delete account", "user", account, "err", err)
		return err
	}
	a.log.Info("account deleted", "user", account)
	return nil
}

func (a *accountService) About(ctx context.Context, account string) (chat.AccountInfo, error) {
	acct, err := a.store.Account(ctx, account)
	if err != nil {
		a.log.Error("look up account", "user", account, "err", err)
		return chat.AccountInfo{}, err
	}
	keys, err := a.store.Keys(ctx, account)
	if err != nil {
		a.log.Error("list keys", "user", account, "err", err)
		return chat.AccountInfo{}, err
	}
	logins, err := a.store.Logins(ctx, account)
	if err != nil {
		a.log.Error("list logins", "user", account, "err", err)
		return chat.AccountInfo{}, err
	}
	info := chat.AccountInfo{Name: acct.Name, Created: acct.CreatedAt, Keys: len(keys)}
	for _, l := range logins {
		info.Logins = append(info.Logins, chat.LoginInfo{At: l.At, Address: l.Address, Method: l.Method})
	}
	return info, nil
}
