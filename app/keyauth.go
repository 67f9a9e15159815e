package app

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"messaging/chat"
	"messaging/store"
)

// Login by public key. The SSH library calls the public-key handler for
// every key a client offers, signed or merely offered (a query), and the
// verified-key callback only once a signature by that key has been
// checked. So keyHandler answers "is this key name's?" with no side effect
// but the identity in the attempt's Permissions, which the library keeps
// only if the signature verifies; keyVerified does what a login does.
// Neither calls argon2id, and key logins never meet the password
// back-offs: an owner with a key always gets in.

// keyExtension carries, beside identityKey, the fingerprint of the key a
// connection logged in with.
const keyExtension = "messaging-key"

// keyHandler serves the SSH "publickey" method: the key must be registered
// to the account the client names (any letter case).
func (a *authenticator) keyHandler(ctx ssh.Context, key ssh.PublicKey) bool {
	name := ctx.User()
	if strings.EqualFold(name, signupUser) || len(name) > 64 {
		return false
	}
	fingerprint := gossh.FingerprintSHA256(key)
	k, err := a.store.KeyByFingerprint(ctx, fingerprint)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false
	case err != nil:
		a.log.Error("look up key", "user", name, "err", err)
		return false
	case !strings.EqualFold(k.Account, name) || !bytes.Equal(k.Data, key.Marshal()):
		return false
	}
	p := ctx.Permissions()
	if p.Extensions == nil {
		p.Extensions = map[string]string{}
	}
	p.Extensions[identityKey] = k.Account
	p.Extensions[keyExtension] = fingerprint
	return true
}

// keyVerified runs once a key login's signature is verified: the
// connection is logged in (it leaves the unauthenticated count) and the
// login and the key's use are recorded.
func (a *authenticator) keyVerified(ctx ssh.Context, conn gossh.ConnMetadata, perms *gossh.Permissions) (*gossh.Permissions, error) {
	if perms == nil || perms.Extensions[identityKey] == "" {
		return nil, errors.New("key login without an identity") // cannot happen: keyHandler accepted the key
	}
	name, fingerprint := perms.Extensions[identityKey], perms.Extensions[keyExtension]
	if why := a.banned(ctx, name); why != "" {
		// A key login has no prompt: the reason goes in an SSH banner
		// (OpenSSH prints it on stderr, scripts included), and again in
		// the next method's prompt if the client falls through.
		a.log.Info("key login refused: banned", "user", name, "remote", conn.RemoteAddr().String())
		ctx.SetValue(loginProblemKey{}, why)
		return nil, &gossh.BannerError{Err: errors.New("banned"), Message: why + "\r\n"}
	}
	if c := connOf(ctx); c != nil {
		c.loggedIn()
	}
	a.recordLogin(ctx, name, hostOf(conn.RemoteAddr()), "key")
	a.metrics.login("key", true)
	a.loggedIn()
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeWriteTimeout)
	defer cancel()
	if err := a.store.KeyUsed(bg, fingerprint, time.Now()); err != nil {
		a.log.Error("record key use", "user", name, "err", err)
	}
	return perms, nil
}

// storeWriteTimeout bounds the small writes a login makes.
const storeWriteTimeout = 5 * time.Second

// recordLogin keeps the login for /account's "last logins". A failure is
// logged, never a reason to refuse the login.
func (a *authenticator) recordLogin(ctx context.Context, name, ip, method string) {
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeWriteTimeout)
	defer cancel()
	if err := a.store.RecordLogin(bg, name, store.Login{At: time.Now(), Address: ip, Method: method}); err != nil {
		a.log.Error("record login", "user", name, "err", err)
	}
}

// loginNotices are the lines a chat shows its user as it opens: the
// message of the day, if any, then how to stop typing a password, after a
// signup or a password login of an account with no key yet.
func (s *Server) loginNotices(ctx ssh.Context) []string {
	var notices []string
	if motd := s.motd(ctx); motd != "" {
		notices = append(notices, "Message of the day: "+motd)
	}
	m := loginMethod(ctx)
	if m == "signup" || m == "password" && ctx.Permissions().Extensions[hasKeysExtension] == "" {
		notices = append(notices, chat.KeyAddHint)
	}
	return notices
}
