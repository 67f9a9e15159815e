package chat

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The commands of a user's own account: /key, /passwd, /account. What
// they do is the server's (Accounts); they ask, and say what happened.

// KeyAddHint tells a user who typed a password how to stop typing it.
const KeyAddHint = "Log in without a password next time: /key add followed by the contents of ~/.ssh/id_ed25519.pub"

// accountsOf is the room's account self-service, or nil after telling the
// user it is not available here.
func accountsOf(s Session) Accounts {
	a := s.Member().Room().Accounts()
	if a == nil {
		s.Keep()
		s.Notice("Account commands are not available on this server.")
	}
	return a
}

// tellAccount shows why an account command failed: a Refusal as written,
// anything else as the server's trouble, without its details (they may
// name the store or a file). The line stays with the user.
func tellAccount(s Session, what string, err error) {
	var refusal Refusal
	if errors.As(err, &refusal) {
		s.Keep()
		s.Notice(string(refusal))
		return
	}
	if errors.Is(err, ErrRoomClosed) || errors.As(err, new(*SlowDownError)) {
		tell(s, what, err)
		return
	}
	s.Keep()
	s.Notice("Cannot " + what + " now: the server had a problem. Try again in a moment.")
}

func key(s Session, arg string) {
	accounts := accountsOf(s)
	if accounts == nil {
		return
	}
	verb, rest, _ := strings.Cut(arg, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(verb) {
	case "", "list":
		listKeys(s, accounts)
	case "add":
		if rest == "" {
			s.Keep()
			s.Notice("Usage: /key add KEY: paste the whole line of your public key, e.g. the contents of ~/.ssh/id_ed25519.pub")
			return
		}
		k, err := accounts.AddKey(s.Context(), s.Member().Name(), rest)
		if err != nil {
			tellAccount(s, "add the key", err)
			return
		}
		s.Notice(fmt.Sprintf("Key added: %s %s%s. Log in with it and no password is asked.", k.Type, k.Fingerprint, suffix(" ", k.Comment)))
	case "remove", "rm", "delete":
		if rest == "" {
			s.Keep()
			s.Notice("Usage: /key remove FINGERPRINT|N (N as /key list numbers them)")
			return
		}
		k, err := accounts.RemoveKey(s.Context(), s.Member().Name(), rest)
		if err != nil {
			tellAccount(s, "remove the key", err)
			return
		}
		s.Notice(fmt.Sprintf("Key removed: %s %s%s.", k.Type, k.Fingerprint, suffix(" ", k.Comment)))
	default:
		s.Keep()
		s.Notice("Usage: /key [list] | /key add KEY | /key remove FINGERPRINT|N")
	}
}

func listKeys(s Session, accounts Accounts) {
	keys, err := accounts.Keys(s.Context(), s.Member().Name())
	if err != nil {
		tellAccount(s, "list your keys", err)
		return
	}
	if len(keys) == 0 {
		s.Notice("You have no keys. " + strings.TrimPrefix(KeyAddHint, "Log in without a password next time: ") + " to log in without a password.")
		return
	}
	now := time.Now()
	s.Notice(fmt.Sprintf("Your keys (%d):", len(keys)))
	for i, k := range keys {
		used := "never used"
		if !k.LastUsed.IsZero() {
			used = "last used " + Since(now, k.LastUsed)
		}
		s.Notice(fmt.Sprintf("  %d. %s %s%s, added %s, %s", i+1, k.Type, k.Fingerprint,
			suffix(" ", Sanitize(k.Comment, 100)), k.Added.Local().Format("2 Jan 2006"), used))
	}
	s.Notice("/key remove N removes one.")
}

// passwd asks the current password, checked at once, then the new one,
// checked against the rules at once, then the new one again: each wrong
// answer is said and asked again (Question.Check).
func passwd(s Session, arg string) {
	if arg != "" {
		// The line may hold passwords: the user interfaces neither keep
		// nor recall it (Sensitive).
		s.Notice("/passwd takes nothing after it: it asks for each password in turn, where nobody sees it. That line is not kept.")
		return
	}
	accounts := accountsOf(s)
	if accounts == nil {
		return
	}
	name := s.Member().Name()
	var next string
	s.Ask([]Question{
		{Prompt: "Current password: ", Secret: true, Check: func(answer string) string {
			return problem(accounts.CheckPassword(s.Context(), name, answer), "The password is wrong.")
		}},
		{Prompt: "New password: ", Secret: true, Check: func(answer string) string {
			next = answer
			return problem(accounts.PasswordRules(answer), "")
		}},
		{Prompt: "New password again: ", Secret: true, Check: func(answer string) string {
			if answer != next {
				return "That is not the new password typed before."
			}
			return ""
		}},
	}, func(answers []string) {
		if len(answers) != 3 {
			return
		}
		if err := accounts.ChangePassword(s.Context(), name, answers[0], answers[1], answers[2]); err != nil {
			tellAccount(s, "change your password", err)
			return
		}
		s.Notice("Password changed. Your other sessions stay logged in; use the new password from now on.")
	})
}

// problem is what a Question.Check says of err: "" for nil, a Refusal's
// text, wrong for ErrWrongPassword, else the server's trouble.
func problem(err error, wrong string) string {
	var refusal Refusal
	switch {
	case err == nil:
		return ""
	case errors.As(err, &refusal):
		return string(refusal)
	case wrong != "" && errors.Is(err, ErrWrongPassword):
		return wrong
	}
	return "The server had a problem checking that. Try again in a moment."
}

func accountCommand(s Session, arg string) {
	accounts := accountsOf(s)
	if accounts == nil {
		return
	}
	switch strings.ToLower(arg) {
	case "":
		showAccount(s, accounts)
	case "delete":
		deleteAccount(s, accounts)
	default:
		s.Keep()
		s.Notice("Usage: /account shows your account; /account delete deletes it.")
	}
}

func showAccount(s Session, accounts Accounts) {
	info, err := accounts.About(s.Context(), s.Member().Name())
	if err != nil {
		tellAccount(s, "show your account", err)
		return
	}
	s.Notice(fmt.Sprintf("Account %s: signed up %s; %s (/key list).",
		info.Name, info.Created.Local().Format("2 Jan 2006"), plural(info.Keys, "key")))
	if len(info.Logins) == 0 {
		return
	}
	s.Notice("Last logins (scripts count too):")
	for i, l := range info.Logins {
		s.Notice(fmt.Sprintf("  %d. %s from %s by %s", i+1, l.At.Local().Format("2 Jan 2006 15:04:05"), Sanitize(l.Address, 64), l.Method))
	}
}

// deleteAccount asks for the password, then for the name typed out: a
// deletion cannot be undone. Each answer is checked as it is given.
func deleteAccount(s Session, accounts Accounts) {
	name := s.Member().Name()
	s.Notice("Deleting your account removes it, your keys and your channel memberships for good; your messages stay, marked as from a deleted account, and the name stays unavailable for 30 days.")
	s.Ask([]Question{
		{Prompt: "Password: ", Secret: true, Check: func(answer string) string {
			return problem(accounts.CheckPassword(s.Context(), name, answer), "The password is wrong.")
		}},
		{Prompt: "Type your username to confirm: ", Check: func(answer string) string {
			if !strings.EqualFold(strings.TrimSpace(answer), name) {
				return "The name typed is not " + name + ": your account is not deleted."
			}
			return ""
		}},
	}, func(answers []string) {
		if len(answers) != 2 {
			return
		}
		if err := accounts.Delete(s.Context(), name, answers[0]); err != nil {
			tellAccount(s, "delete your account", err)
			return
		}
		// Delete ends this session too (the room removes the account's
		// members); the screen then says why.
	})
}
