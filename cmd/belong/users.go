package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/belong-loyalty/belong/accounts"
)

// runUsers manages the people who sign in to the console:
//
//	belong users create --email ana@brand.example --name "Ana Lima" --role reviewer [--password-stdin]
//	belong users list
//	belong users set-password EMAIL [--password-stdin]
//	belong users role EMAIL reviewer|admin
//	belong users sign-out|disable|enable EMAIL
//
// Without --password-stdin a password is generated and printed once, on stdout.
func runUsers(ctx context.Context, e *env, args []string) error {
	usage := usagef("usage: belong users create --email EMAIL --name NAME --role reviewer|admin [--password-stdin] | list | " +
		"set-password EMAIL [--password-stdin] | role EMAIL ROLE | sign-out EMAIL | disable EMAIL | enable EMAIL")
	if len(args) == 0 {
		return usage
	}
	pool, err := e.openMigrated(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	password := func(fromStdin bool) (string, error) {
		if !fromStdin {
			return accounts.GeneratePassword(), nil
		}
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", fmt.Errorf("read the password from stdin: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	find := func(email string) (accounts.User, error) { return accounts.Find(ctx, pool, email) }
	switch args[0] {
	case "create":
		fs := newFlags("users create", e)
		email := fs.String("email", "", "their e-mail address, which they sign in with")
		name := fs.String("name", "", "their name, as the audit trail shows it")
		role := fs.String("role", accounts.RoleReviewer, "reviewer (content:review) or admin (every scope)")
		stdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of generating one")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		pw, err := password(*stdin)
		if err != nil {
			return err
		}
		u, err := accounts.Create(ctx, pool, *email, *name, *role, pw)
		if err != nil {
			return err
		}
		if !*stdin {
			fmt.Fprintln(e.stdout, pw) // the only place it is ever shown; never logged
		}
		e.logger.InfoContext(ctx, "console account created", "user_id", u.ID, "role", u.Role)
		return nil
	case "list":
		us, err := accounts.List(ctx, pool)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%-32s %-24s %-9s %-17s %-8s %s\n", "EMAIL", "NAME", "ROLE", "LAST SIGN-IN", "SESSIONS", "STATE")
		for _, u := range us {
			last, state := "-", "active"
			if u.LastSignInAt != nil {
				last = u.LastSignInAt.Format("2006-01-02 15:04")
			}
			if u.DisabledAt != nil {
				state = "disabled"
			}
			fmt.Fprintf(e.stdout, "%-32s %-24s %-9s %-17s %-8d %s\n", u.Email, u.Name, u.Role, last, u.Sessions, state)
		}
		return nil
	case "set-password":
		fs := newFlags("users set-password", e)
		stdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of generating one")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usage
		}
		u, err := find(fs.Arg(0))
		if err != nil {
			return err
		}
		pw, err := password(*stdin)
		if err != nil {
			return err
		}
		if err := accounts.SetPassword(ctx, pool, u.ID, pw); err != nil {
			return err
		}
		if !*stdin {
			fmt.Fprintln(e.stdout, pw)
		}
		return nil
	case "role", "sign-out", "disable", "enable":
		want := 2
		if args[0] == "role" {
			want = 3
		}
		if len(args) != want {
			return usage
		}
		u, err := find(args[1])
		if err != nil {
			return err
		}
		switch args[0] {
		case "role":
			err = accounts.SetRole(ctx, pool, u.ID, args[2])
		case "sign-out":
			_, err = accounts.EndSessions(ctx, pool, u.ID)
		default:
			err = accounts.SetDisabled(ctx, pool, u.ID, args[0] == "disable")
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "users: %s: %s done\n", u.Email, args[0])
		return nil
	}
	return usage
}
