package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/belong-loyalty/belong/apikey"
)

// runKeys manages API keys:
//
//	belong keys create --name braze --scopes match:read[,members:write] [--expires 90d]
//	belong keys list
//	belong keys revoke PREFIX
func runKeys(ctx context.Context, e *env, args []string) error {
	usage := usagef("usage: belong keys create --name NAME --scopes SCOPE[,SCOPE] [--expires 90d|2027-03-01|720h] | list | revoke PREFIX")
	if len(args) == 0 {
		return usage
	}
	pool, err := e.openMigrated(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch args[0] {
	case "create":
		fs := newFlags("keys create", e)
		name := fs.String("name", "", "who the key is for, such as braze")
		scopes := fs.String("scopes", "", "comma-separated: "+strings.Join(apikey.Scopes, ", "))
		expires := fs.String("expires", "", "when it stops working: a date (2027-03-01), days (90d) or a duration (720h); never when empty")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		at, err := parseExpiry(*expires, time.Now())
		if err != nil {
			return usagef("keys create: %v", err)
		}
		k, secret, err := apikey.CreateExpiring(ctx, pool, *name, splitList(*scopes), at)
		if err != nil {
			return err
		}
		// The secret goes to stdout only, once; it is never logged.
		fmt.Fprintf(e.stdout, "%s\n", secret)
		e.logger.InfoContext(ctx, "api key created", "prefix", k.Prefix, "name", k.Name, "scopes", strings.Join(k.Scopes, ","))
		return nil
	case "list":
		keys, err := apikey.List(ctx, pool)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%-10s %-20s %-40s %-17s %-17s %-17s %s\n", "PREFIX", "NAME", "SCOPES", "CREATED", "LAST USED", "EXPIRES", "REVOKED")
		when := func(t *time.Time) string {
			if t == nil {
				return "-"
			}
			return t.Format("2006-01-02 15:04")
		}
		for _, k := range keys {
			fmt.Fprintf(e.stdout, "%-10s %-20s %-40s %-17s %-17s %-17s %s\n", k.Prefix, k.Name, strings.Join(k.Scopes, ","),
				k.CreatedAt.Format("2006-01-02 15:04"), when(k.LastUsedAt), when(k.ExpiresAt), when(k.RevokedAt))
		}
		return nil
	case "revoke":
		if len(args) != 2 {
			return usage
		}
		if err := apikey.Revoke(ctx, pool, args[1]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "keys: %s revoked (servers stop accepting it within 10 s)\n", args[1])
		return nil
	}
	return usage
}

// parseExpiry reads when a key stops working: a date (midnight UTC), days ("90d") or a
// Go duration ("720h"); nil for "".
func parseExpiry(s string, now time.Time) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return &t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			t := now.AddDate(0, 0, n)
			return &t, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		t := now.Add(d)
		return &t, nil
	}
	return nil, fmt.Errorf("--expires %q is not a date (2027-03-01), days (90d) or a duration (720h)", s)
}
