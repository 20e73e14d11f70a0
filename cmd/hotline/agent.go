package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"hotline/accounts"
	"hotline/agentdesk/auth"
	"hotline/audit"
)

const agentUsage = `hotline agent add -login L -name N -role agent|supervisor|admin [-skills zh:5,complaint:3] [-password-stdin]
hotline agent passwd -login L [-password-stdin]
hotline agent disable -login L
hotline agent enable -login L
hotline agent list`

// runAgent manages agent, supervisor and admin accounts. Passwords come from stdin
// (-password-stdin, one line) or, at a terminal, from a prompt without echo; never from the
// command line, where other users can read them in the process list.
func runAgent(ctx context.Context, out io.Writer, args []string) error {
	a := agentIO{in: os.Stdin, out: out}
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
		a.readSecret = func(prompt string) (string, error) {
			fmt.Fprint(os.Stderr, prompt)
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(os.Stderr)
			return string(b), err
		}
	}
	return a.run(ctx, args)
}

// agentIO is where the agent command reads passwords and writes its results.
type agentIO struct {
	in  io.Reader
	out io.Writer
	// readSecret prompts at the terminal without echo; nil when stdin is not a terminal.
	readSecret func(prompt string) (string, error)
}

func (a agentIO) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w:\n%s", errUsage, agentUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("agent "+sub, flag.ContinueOnError)
	path := configFlag(fs)
	login := fs.String("login", "", "the account's login (a-z, 0-9, '.', '_', '-')")
	var (
		name, role, skills *string
		fromStdin          *bool
	)
	switch sub {
	case "add":
		name = fs.String("name", "", "display name")
		role = fs.String("role", "", "agent, supervisor or admin")
		skills = fs.String("skills", "", "skills with levels 1-5, e.g. zh:5,complaint:3")
		fromStdin = fs.Bool("password-stdin", false, "read the password from stdin (one line)")
	case "passwd":
		fromStdin = fs.Bool("password-stdin", false, "read the password from stdin (one line)")
	case "disable", "enable", "list":
	default:
		return fmt.Errorf("%w: unknown agent command %q:\n%s", errUsage, sub, agentUsage)
	}
	if err := parseFlags(fs, args); err != nil {
		return fmt.Errorf("%w\n%s", err, agentUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q (passwords are never taken from the command line):\n%s", errUsage, fs.Args(), agentUsage)
	}
	if sub != "list" && *login == "" {
		return fmt.Errorf("%w: -login is required:\n%s", errUsage, agentUsage)
	}

	// Parse and check everything the command line says before touching the database or
	// asking for a password.
	var n accounts.NewAccount
	if sub == "add" {
		sk, err := accounts.ParseSkills(*skills)
		if err != nil {
			return err
		}
		n = accounts.NewAccount{Login: *login, DisplayName: *name, Role: accounts.Role(*role), Skills: sk}
		if err := n.Check(); err != nil {
			return err
		}
	}
	var password string
	if sub == "passwd" || (sub == "add" && *fromStdin) {
		var err error
		if password, err = a.password(*login, *fromStdin); err != nil {
			return err
		}
	}

	pool, err := openConfigPool(ctx, *path)
	if err != nil {
		return err
	}
	defer pool.Close()
	hasher, err := accounts.NewHasher(accounts.DefaultParams, 0)
	if err != nil {
		return err
	}
	auditLog := audit.New(pool)
	store := accounts.NewStore(pool, hasher, auditLog)
	actor := cliActor()
	// Sessions are ended through the auth service, which owns them.
	signOut := func(id accounts.AgentID) (int64, error) {
		svc, err := auth.New(pool, store, auditLog, auth.DefaultConfig(), slog.New(slog.DiscardHandler))
		if err != nil {
			return 0, err
		}
		return svc.RevokeAgent(ctx, id)
	}

	switch sub {
	case "add":
		n.Password = password
		acct, err := store.Create(ctx, actor, n)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.out, "created %s %s (id %d)\n", acct.Role, acct.Login, acct.ID)
		if !acct.HasPassword {
			fmt.Fprintf(a.out, "no password yet: set one with hotline agent passwd -login %s\n", acct.Login)
		}
	case "passwd":
		if err := store.SetPassword(ctx, actor, *login, password); err != nil {
			return err
		}
		acct, err := store.Get(ctx, *login)
		if err != nil {
			return err
		}
		ended, err := signOut(acct.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.out, "password of %s changed; %d session(s) signed out\n", *login, ended)
	case "disable", "enable":
		acct, err := store.SetDisabled(ctx, actor, *login, sub == "disable")
		if err != nil {
			return err
		}
		if sub == "enable" {
			fmt.Fprintf(a.out, "%s enabled\n", acct.Login)
			break
		}
		ended, err := signOut(acct.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.out, "%s disabled; %d session(s) signed out\n", acct.Login, ended)
	case "list":
		list, err := store.List(ctx)
		if err != nil {
			return err
		}
		return writeAccounts(a.out, list)
	}
	return nil
}

// password reads the new password of login from stdin or the terminal and checks it.
func (a agentIO) password(login string, fromStdin bool) (string, error) {
	var pw string
	switch {
	case fromStdin:
		r := bufio.NewReader(io.LimitReader(a.in, accounts.MaxPasswordLen+3))
		line, err := r.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the password from stdin: %w", err)
		}
		pw = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if rest, _ := r.ReadString(0); strings.TrimSpace(rest) != "" {
			return "", errors.New("stdin holds more than one line: give the password alone")
		}
	case a.readSecret != nil:
		first, err := a.readSecret("New password for " + login + ": ")
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		again, err := a.readSecret("Again: ")
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		if first != again {
			return "", errors.New("the two passwords differ")
		}
		pw = first
	default:
		return "", fmt.Errorf("%w: stdin is not a terminal: pipe the password in with -password-stdin", errUsage)
	}
	if err := accounts.CheckPassword(login, pw); err != nil {
		return "", err
	}
	return pw, nil
}

func writeAccounts(out io.Writer, list []accounts.Account) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLOGIN\tROLE\tSTATUS\tPASSWORD\tSKILLS\tNAME")
	for _, a := range list {
		status, pw := "enabled", "set"
		if a.Disabled {
			status = "disabled"
		}
		if !a.HasPassword {
			pw = "none"
		}
		skills := make([]string, len(a.Skills))
		for i, s := range a.Skills {
			skills[i] = fmt.Sprintf("%s:%d", s.Name, s.Level)
		}
		sk := strings.Join(skills, ",")
		if sk == "" {
			sk = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Login, a.Role, status, pw, sk, a.DisplayName)
	}
	return tw.Flush()
}

// cliActor names the operator in the audit log: the command line and the OS account.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}
