package app

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// newKey makes a key pair of kind "ed25519" or "rsa" (bits for RSA) and
// returns its signer and its line as ~/.ssh/id_*.pub holds it, with
// comment.
func newKey(t testing.TB, kind string, bits int, comment string) (gossh.Signer, string) {
	t.Helper()
	var private any
	switch kind {
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		private = k
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		private = k
	default:
		t.Fatalf("no key kind %q", kind)
	}
	signer, err := gossh.NewSignerFromKey(private)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey())))
	if comment != "" {
		line += " " + comment
	}
	return signer, line
}

// addKey types /key add with line in tm's chat and waits for the answer.
func addKey(tm *terminal, line string) {
	tm.t.Helper()
	tm.paste("/key add " + line)
	tm.send("\r")
	tm.waitText("Key added: ")
}

// A key added in the chat logs its account in with no prompt; /key list
// shows it; once removed it logs in no more. For ed25519 and RSA keys.
func TestAKeyAddedInTheChatLogsInWithoutAPassword(t *testing.T) {
	for _, tt := range []struct {
		kind string
		bits int
	}{{"ed25519", 0}, {"rsa", 2048}} {
		t.Run(tt.kind, func(t *testing.T) {
			ts := startServer(t, testConfig(t))
			tm := ts.chatter(t, "alice", 200, 30)
			tm.waitText("Log in without a password next time: /key add followed by the contents of ~/.ssh/id_ed25519.pub")
			signer, line := newKey(t, tt.kind, tt.bits, "laptop")
			fingerprint := gossh.FingerprintSHA256(signer.PublicKey())
			addKey(tm, line)
			tm.waitText("Key added: " + signer.PublicKey().Type() + " " + fingerprint + " laptop.")
			tm.say("/key list")
			tm.waitText("1. " + signer.PublicKey().Type() + " " + fingerprint + " laptop, added ")
			tm.waitText("never used")

			asked := false
			noPrompt := gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
				asked = true
				return nil, io.EOF
			})
			c, err := ts.dial("alice", gossh.PublicKeys(signer), noPrompt)
			if err != nil || asked {
				t.Fatalf("key login: %v (a prompt shown: %v)", err, asked)
			}
			byKey := openTerminal(t, c, 200, 30)
			byKey.waitText("signed in as alice")
			byKey.say("/key list")
			byKey.waitText("last used just now")
			if strings.Contains(byKey.screen(), "/key add followed by") {
				t.Error("a key login is told how to add a key")
			}

			tm.say("/key remove 1")
			tm.waitText("Key removed: " + signer.PublicKey().Type() + " " + fingerprint)
			if c, err := ts.dial("alice", gossh.PublicKeys(signer)); err == nil {
				c.Close()
				t.Fatal("a removed key still logs in")
			}
		})
	}
}

// forgedSigner offers a public key it does not hold: its signatures are
// made by another key.
type forgedSigner struct {
	public gossh.PublicKey
	other  gossh.Signer
}

func (f forgedSigner) PublicKey() gossh.PublicKey { return f.public }
func (f forgedSigner) Sign(r io.Reader, data []byte) (*gossh.Signature, error) {
	return f.other.Sign(r, data)
}

// The regression test of identity, with a registered key: a client that
// offers alice's registered public key without its private key never
// becomes alice, and can still log in by password as itself on the same
// connection.
func TestARegisteredKeyOfferedWithoutItsPrivateKeyIsNotALogin(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 200, 30)
	signer, line := newKey(t, "ed25519", 0, "")
	addKey(alice, line)
	ts.signup(t, "mallory", "password2")

	other, _ := newKey(t, "ed25519", 0, "")
	forged := forgedSigner{public: signer.PublicKey(), other: other}
	if c, err := ts.dial("alice", gossh.PublicKeys(forged)); err == nil {
		c.Close()
		t.Fatal("alice's public key without its private key logged in as alice")
	}
	if c, err := ts.dial("alice", gossh.PublicKeys(forged), gossh.Password("password2")); err == nil {
		c.Close()
		t.Fatal("alice's public key plus mallory's password logged in as alice")
	}
	// As mallory, alice's key (forged, or even real) is no login; mallory's
	// password then is, as mallory.
	for _, key := range []gossh.Signer{forged, signer} {
		c, err := ts.dial("mallory", gossh.PublicKeys(key), gossh.Password("password2"))
		if err != nil {
			t.Fatalf("mallory offering alice's key, then her own password: %v", err)
		}
		tm := openTerminal(t, c, 200, 30)
		tm.waitText("signed in as mallory")
		c.Close()
	}
}

// A key that is not registered does not stop a password login: the client
// goes on to the next method, keyboard-interactive or password.
func TestAnUnregisteredKeyFallsBackToThePassword(t *testing.T) {
	ts := startServer(t, testConfig(t))
	alice := ts.chatter(t, "alice", 200, 30)
	_, line := newKey(t, "ed25519", 0, "")
	addKey(alice, line)
	stranger, _ := newKey(t, "ed25519", 0, "")

	c, err := ts.dial("alice", gossh.PublicKeys(stranger), gossh.Password("password1"))
	if err != nil {
		t.Fatalf("password after an unregistered key: %v", err)
	}
	tm := openTerminal(t, c, 200, 30)
	tm.waitText("signed in as alice")
	tm.say("/key")
	tm.waitText("Your keys (1):")
	if strings.Contains(tm.screen(), "/key add followed by") {
		t.Error("a password login of an account with a key is told how to add one")
	}

	k := &scriptedKeyboard{answers: [][]string{{"password1"}}}
	c, err = ts.dial("alice", gossh.PublicKeys(stranger), gossh.KeyboardInteractive(k.challenge))
	if err != nil {
		t.Fatalf("keyboard-interactive after an unregistered key: %v", err)
	}
	c.Close()
}
