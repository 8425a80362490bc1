package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/belong-loyalty/belong/apikey"
)

// runKeys manages API keys:
//
//	belong keys create --name braze --scopes match:read[,members:write]
//	belong keys list
//	belong keys revoke PREFIX
func runKeys(ctx context.Context, e *env, args []string) error {
	usage := usagef("usage: belong keys create --name NAME --scopes SCOPE[,SCOPE] | list | revoke PREFIX")
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
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		k, secret, err := apikey.Create(ctx, pool, *name, splitList(*scopes))
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
		fmt.Fprintf(e.stdout, "%-10s %-20s %-40s %-20s %s\n", "PREFIX", "NAME", "SCOPES", "CREATED", "REVOKED")
		for _, k := range keys {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(e.stdout, "%-10s %-20s %-40s %-20s %s\n", k.Prefix, k.Name, strings.Join(k.Scopes, ","),
				k.CreatedAt.Format("2006-01-02 15:04"), revoked)
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
