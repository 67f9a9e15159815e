package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"messaging/chat"
	"messaging/store"
)

// cliActor is who the audit log says acted for the command line.
const cliActor = "cli"

// Bounds of the command line's arguments.
const (
	defaultAuditLines = 20
	maxAuditLines     = 10000
	maxReason         = 200 // runes of a ban's reason
	// oneTimeLength is the length of a reset password, within
	// PASSWORD_MIN and PASSWORD_MAX.
	oneTimeLength = 16
)

// oneTimeAlphabet leaves out the characters read one for another (0 O o,
// 1 l I): an admin may have to dictate the password.
const oneTimeAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// cliCommand is one command of the admin command line: its words, the
// arguments its usage shows, what it does, and the handler. The table
// cliCommands is both the help and the dispatch.
type cliCommand struct {
	words string // "users list"
	args  string // "[--json]"
	about string
	run   func(c *cli, cmd *cliCommand, args []string) error
}

var cliCommands = []cliCommand{
	{"users list", "[--json]", "list the accounts: name, role, signed up, last seen, keys", (*cli).usersList},
	{"users show", "NAME", "show an account, its last logins, its keys and any ban or mute", (*cli).usersShow},
	{"users delete", "NAME", "delete an account and end its sessions; its name is held for 30 days", (*cli).usersDelete},
	{"users reset-password", "NAME", "print a one-time password that must be changed at the next login", (*cli).usersResetPassword},
	{"users role", "NAME member|moderator|admin", "give an account a role", (*cli).usersRole},
	{"bans list", "", "list the bans and mutes in force", (*cli).bansList},
	{"bans add", "NAME [--for 2h] [--reason TEXT]", "ban an account (and its last address), until lifted or for a time", (*cli).bansAdd},
	{"bans remove", "NAME", "lift an account's ban", (*cli).bansRemove},
	{"audit", "[--last N]", fmt.Sprintf("print the audit log, newest first (the last %d entries by default)", defaultAuditLines), (*cli).audit},
}

// cli is one run of the admin command line.
type cli struct {
	ctx    context.Context
	store  store.Store
	cfg    Config
	stdout io.Writer
	stderr io.Writer
	now    time.Time
}

// usageError is a command line that does not make sense: exit status 2,
// with the usage.
type usageError struct {
	cmd *cliCommand // nil: the whole command line's usage
	err error
}

func (e usageError) Error() string { return e.err.Error() }

func usagef(cmd *cliCommand, format string, args ...any) error {
	return usageError{cmd, fmt.Errorf(format, args...)}
}

// Command is the admin command line, the binary run with arguments (args
// without the program's name): it works on the server's DATABASE, which is
// safe while the server runs (SQLite in WAL mode; the server sees changes
// through the audit log). It returns the exit status: 0, 1 when the
// command failed (no such account, a database error), 2 for a command line
// that makes no sense or an invalid configuration.
func Command(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		writeUsage(stdout, nil)
		return 0
	}
	cmd, rest := findCommand(args)
	if cmd == nil {
		fmt.Fprintf(stderr, "messaging: unknown command %q\n\n", strings.Join(args, " "))
		writeUsage(stderr, nil)
		return 2
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "messaging: invalid configuration:\n%v\n", err)
		return 2
	}
	c := &cli{ctx: ctx, cfg: cfg, stdout: stdout, stderr: stderr, now: time.Now()}
	err = cmd.run(c, cmd, rest)
	if c.store != nil {
		if cerr := c.store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close the database: %w", cerr)
		}
	}
	var usage usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "messaging %s: %v\n\n", cmd.words, usage.err)
		writeUsage(stderr, usage.cmd)
		return 2
	default:
		fmt.Fprintf(stderr, "messaging %s: %v\n", cmd.words, err)
		return 1
	}
}

// findCommand finds the command args start with, and the arguments after
// its words.
func findCommand(args []string) (*cliCommand, []string) {
	for i := range cliCommands {
		words := strings.Fields(cliCommands[i].words)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == cliCommands[i].words {
			return &cliCommands[i], args[len(words):]
		}
	}
	return nil, nil
}

// writeUsage writes cmd's usage line, or the whole list of commands.
func writeUsage(w io.Writer, cmd *cliCommand) {
	if cmd != nil {
		fmt.Fprintf(w, "usage: messaging %s %s\n  %s\n", cmd.words, cmd.args, cmd.about)
		return
	}
	fmt.Fprint(w, `usage: messaging                 run the server
       messaging COMMAND ...     administer it, on its DATABASE (safe while it runs)

commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range cliCommands {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.words, c.args, c.about)
	}
	fmt.Fprintf(tw, "  help\tthis list\n")
	_ = tw.Flush()
}

// open opens the server's database. It must exist: a mistyped DATABASE
// would otherwise create an empty one and show nobody.
func (c *cli) open() error {
	if _, err := os.Stat(c.cfg.Database); !isPostgres(c.cfg.Database) && errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no database at %s: set DATABASE to the server's", c.cfg.Database)
	}
	st, err := openStore(c.ctx, c.cfg.Database, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	c.store = st
	return nil
}

// parseArgs parses flags anywhere among args (flag stops at the first
// argument that is not one) and checks that want positional arguments
// remain.
func parseArgs(cmd *cliCommand, fs *flag.FlagSet, args []string, want int) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{cmd, err}
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(positional) < want:
		return nil, usageError{cmd, errors.New("missing arguments")}
	case len(positional) > want:
		return nil, usagef(cmd, "unexpected argument %q", positional[want])
	}
	return positional, nil
}

// account opens the database and finds the account called name.
func (c *cli) account(name string) (store.Account, error) {
	if err := c.open(); err != nil {
		return store.Account{}, err
	}
	acct, err := c.store.Account(c.ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, fmt.Errorf("no account is called %q", name)
	}
	return acct, err
}

// accountArg is the account a command's one argument, NAME, names.
func (c *cli) accountArg(cmd *cliCommand, args []string) (store.Account, error) {
	pos, err := parseArgs(cmd, flag.NewFlagSet(cmd.words, flag.ContinueOnError), args, 1)
	if err != nil {
		return store.Account{}, err
	}
	return c.account(pos[0])
}

// record writes what the command line did to the audit log: the server polls the audit log
// and acts on it (ends a deleted or banned account's sessions).
func (c *cli) record(action, target, reason string) error {
	err := c.store.Audit(c.ctx, store.AuditEntry{At: c.now, Actor: cliActor, Action: action, Target: target, Reason: reason})
	if err != nil {
		return fmt.Errorf("record in the audit log (the change is made, but a running server may not notice it): %w", err)
	}
	return nil
}

// when is a time as the command line shows it: local, to the minute.
func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func (c *cli) usersList(cmd *cliCommand, args []string) error {
	fs := flag.NewFlagSet(cmd.words, flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "one JSON object a line")
	if _, err := parseArgs(cmd, fs, args, 0); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	accounts, err := c.store.Accounts(c.ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		type row struct {
			Name     string     `json:"name"`
			Role     string     `json:"role"`
			SignedUp time.Time  `json:"signed_up"`
			LastSeen *time.Time `json:"last_seen"` // null: never
			Keys     int        `json:"keys"`
		}
		enc := json.NewEncoder(c.stdout)
		for _, a := range accounts {
			r := row{Name: a.Name, Role: a.Role.String(), SignedUp: a.Created.UTC(), Keys: a.Keys}
			if !a.LastSeen.IsZero() {
				seen := a.LastSeen.UTC()
				r.LastSeen = &seen
			}
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSIGNED UP\tLAST SEEN\tKEYS")
	for _, a := range accounts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", a.Name, a.Role, when(a.Created), when(a.LastSeen), a.Keys)
	}
	return tw.Flush()
}

func (c *cli) usersShow(cmd *cliCommand, args []string) error {
	acct, err := c.accountArg(cmd, args)
	if err != nil {
		return err
	}
	// Role and last seen as users list shows them (the store has no
	// lookup of one summary; a list of accounts is cheap here).
	accounts, err := c.store.Accounts(c.ctx)
	if err != nil {
		return err
	}
	var summary store.AccountSummary
	for _, a := range accounts {
		if strings.EqualFold(a.Name, acct.Name) {
			summary = a
		}
	}
	logins, err := c.store.Logins(c.ctx, acct.Name)
	if err != nil {
		return err
	}
	keys, err := c.store.Keys(c.ctx, acct.Name)
	if err != nil {
		return err
	}
	sanctions, err := c.store.Sanctions(c.ctx, c.now)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "name:\t%s\n", acct.Name)
	fmt.Fprintf(tw, "role:\t%s\n", summary.Role)
	fmt.Fprintf(tw, "signed up:\t%s\n", when(acct.CreatedAt))
	fmt.Fprintf(tw, "last seen:\t%s\n", when(summary.LastSeen))
	if acct.MustChangePassword {
		fmt.Fprintf(tw, "password:\treset: to be changed at the next login\n")
	}
	for _, s := range sanctions {
		if strings.EqualFold(s.Account, acct.Name) {
			fmt.Fprintf(tw, "%s:\t%s\n", s.Kind, sanctionText(s))
		}
	}
	fmt.Fprintf(tw, "keys:\t%d\n", len(keys))
	for _, k := range keys {
		used := "never used"
		if !k.LastUsed.IsZero() {
			used = "last used " + when(k.LastUsed)
		}
		fmt.Fprintf(tw, "  %s %s %s\t(added %s, %s)\n", k.Fingerprint, k.Type, chat.Sanitize(k.Comment, 100), when(k.Added), used)
	}
	fmt.Fprintf(tw, "last logins:\t%d\n", len(logins))
	for _, l := range logins {
		fmt.Fprintf(tw, "  %s\t%s by %s\n", when(l.At), l.Address, l.Method)
	}
	return tw.Flush()
}

// sanctionText describes a ban or mute: by whom, when, until when, why.
func sanctionText(s store.Sanction) string {
	until := "until lifted"
	if !s.Until.IsZero() {
		until = "until " + when(s.Until)
	}
	text := fmt.Sprintf("by %s on %s, %s", s.By, when(s.At), until)
	if r := chat.Sanitize(s.Reason, maxReason); r != "" {
		text += ": " + r
	}
	return text
}

func (c *cli) usersDelete(cmd *cliCommand, args []string) error {
	acct, err := c.accountArg(cmd, args)
	if err != nil {
		return err
	}
	held := c.now.Add(nameHold)
	if err := c.store.DeleteAccount(c.ctx, acct.Name, held); err != nil {
		return err
	}
	if err := c.record("delete", acct.Name, ""); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Deleted %s; the name is held until %s.\n", acct.Name, when(held))
	return nil
}

func (c *cli) usersResetPassword(cmd *cliCommand, args []string) error {
	acct, err := c.accountArg(cmd, args)
	if err != nil {
		return err
	}
	password, err := oneTimePassword(min(max(oneTimeLength, c.cfg.PasswordMin), c.cfg.PasswordMax))
	if err != nil {
		return err
	}
	hash, err := store.HashPassword(password)
	if err != nil {
		return err
	}
	// The hash first: setting it clears the mark.
	if err := c.store.SetPasswordHash(c.ctx, acct.Name, hash); err != nil {
		return err
	}
	if err := c.store.SetMustChangePassword(c.ctx, acct.Name, true); err != nil {
		return fmt.Errorf("the password is replaced but not marked to be changed, run the command again: %w", err)
	}
	if err := c.record("reset-password", acct.Name, ""); err != nil {
		return err
	}
	// The password alone on stdout, for a pipe; the explanation aside.
	fmt.Fprintf(c.stderr, "One-time password of %s; they must choose a new one when they next log in with it:\n", acct.Name)
	fmt.Fprintln(c.stdout, password)
	return nil
}

// oneTimePassword is n random characters of oneTimeAlphabet.
func oneTimePassword(n int) (string, error) {
	b := make([]byte, n)
	size := big.NewInt(int64(len(oneTimeAlphabet)))
	for i := range b {
		j, err := rand.Int(rand.Reader, size)
		if err != nil {
			return "", fmt.Errorf("make a password: %w", err)
		}
		b[i] = oneTimeAlphabet[j.Int64()]
	}
	return string(b), nil
}

func (c *cli) usersRole(cmd *cliCommand, args []string) error {
	pos, err := parseArgs(cmd, flag.NewFlagSet(cmd.words, flag.ContinueOnError), args, 2)
	if err != nil {
		return err
	}
	role, ok := chat.ParseRole(pos[1])
	if !ok {
		return usagef(cmd, "unknown role %q: use member, moderator or admin", pos[1])
	}
	acct, err := c.account(pos[0])
	if err != nil {
		return err
	}
	if err := c.store.SetRole(c.ctx, acct.Name, role); err != nil {
		return err
	}
	if err := c.record("role", acct.Name, role.String()); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s is now %s.\n", acct.Name, role)
	return nil
}

func (c *cli) bansList(cmd *cliCommand, args []string) error {
	if _, err := parseArgs(cmd, flag.NewFlagSet(cmd.words, flag.ContinueOnError), args, 0); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	sanctions, err := c.store.Sanctions(c.ctx, c.now)
	if err != nil {
		return err
	}
	if len(sanctions) == 0 {
		fmt.Fprintln(c.stdout, "No bans or mutes in force.")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tBY\tWHEN\tUNTIL\tWHY")
	for _, s := range sanctions {
		until := "lifted"
		if !s.Until.IsZero() {
			until = when(s.Until)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Kind, s.Account, s.By, when(s.At), until, chat.Sanitize(s.Reason, maxReason))
	}
	return tw.Flush()
}

func (c *cli) bansAdd(cmd *cliCommand, args []string) error {
	fs := flag.NewFlagSet(cmd.words, flag.ContinueOnError)
	forText := fs.String("for", "", "how long, like 2h or 90m (default: until lifted)")
	reason := fs.String("reason", "", "why, shown to the account")
	pos, err := parseArgs(cmd, fs, args, 1)
	if err != nil {
		return err
	}
	var until time.Time
	if *forText != "" {
		d, err := chat.ParseDuration(*forText) // as the chat's /ban: 10m, 2h, 7d, 1w
		if err != nil {
			return usagef(cmd, "--for %v, or leave --for out for a ban until lifted", err)
		}
		until = c.now.Add(d)
	}
	why := chat.Sanitize(*reason, maxReason)
	acct, err := c.account(pos[0])
	if err != nil {
		return err
	}
	logins, err := c.store.Logins(c.ctx, acct.Name)
	if err != nil {
		return err
	}
	var address string
	if len(logins) > 0 {
		address = logins[0].Address
	}
	err = c.store.Sanction(c.ctx, store.Sanction{Kind: store.Ban, Account: acct.Name, By: cliActor,
		Reason: why, At: c.now, Until: until, Address: address})
	if err != nil {
		return err
	}
	detail := why
	if *forText != "" {
		detail = strings.TrimSuffix(*forText+": "+why, ": ")
	}
	if err := c.record("ban", acct.Name, detail); err != nil {
		return err
	}
	s := store.Sanction{By: cliActor, At: c.now, Until: until, Reason: why}
	fmt.Fprintf(c.stdout, "Banned %s %s.\n", acct.Name, sanctionText(s))
	return nil
}

func (c *cli) bansRemove(cmd *cliCommand, args []string) error {
	acct, err := c.accountArg(cmd, args)
	if err != nil {
		return err
	}
	err = c.store.Lift(c.ctx, acct.Name, store.Ban)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s is not banned", acct.Name)
	}
	if err != nil {
		return err
	}
	if err := c.record("unban", acct.Name, ""); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Lifted the ban of %s.\n", acct.Name)
	return nil
}

func (c *cli) audit(cmd *cliCommand, args []string) error {
	fs := flag.NewFlagSet(cmd.words, flag.ContinueOnError)
	last := fs.Int("last", defaultAuditLines, "entries to print")
	if _, err := parseArgs(cmd, fs, args, 0); err != nil {
		return err
	}
	if *last < 1 || *last > maxAuditLines {
		return usagef(cmd, "--last %d is out of range: use 1 to %d", *last, maxAuditLines)
	}
	if err := c.open(); err != nil {
		return err
	}
	entries, err := c.store.AuditLog(c.ctx, *last)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	for _, e := range entries {
		line := fmt.Sprintf("%s\t%s\t%s\t%s", e.At.Local().Format("2006-01-02 15:04:05"), e.Actor, e.Action, e.Target)
		if r := chat.Sanitize(e.Reason, maxReason); r != "" {
			line += "\t" + r
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}
