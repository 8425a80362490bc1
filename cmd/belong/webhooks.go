package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/belong-loyalty/belong/webhooks"
)

// runWebhooks manages webhook endpoints (what the admin API does):
//
//	belong webhooks create --url URL --events recognition.due[,milestone.reached] [--description TEXT]
//	belong webhooks list
//	belong webhooks enable|disable|delete ID
//	belong webhooks rotate ID [--keep 24h]
//	belong webhooks replay ID --from TIME [--until TIME]
//	belong webhooks deliveries ID [--status failed]
func runWebhooks(ctx context.Context, e *env, args []string) error {
	usage := usagef("usage: belong webhooks create --url URL --events TYPE[,TYPE] [--description TEXT] | list | " +
		"enable ID | disable ID | delete ID | rotate ID [--keep 24h] | replay ID --from TIME [--until TIME] | deliveries ID [--status S]")
	if len(args) == 0 {
		return usage
	}
	if args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stdout, usage.Error()+"\n\nevent types: "+strings.Join(webhooks.Types, ", "))
		return nil
	}
	// Every subcommand but create and list names an endpoint first.
	var id int64
	rest := args[1:]
	if args[0] != "create" && args[0] != "list" {
		if len(rest) == 0 {
			return usage
		}
		n, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not an endpoint id (belong webhooks list shows them)", rest[0])
		}
		id, rest = n, rest[1:]
	}
	fs := newFlags("webhooks "+args[0], e)
	url := fs.String("url", "", "where to POST events (https)")
	events := fs.String("events", "", "comma-separated event types: "+strings.Join(webhooks.Types, ", "))
	description := fs.String("description", "", "what the endpoint is for")
	keep := fs.Duration("keep", 24*time.Hour, "how long the old secret keeps signing after a rotation")
	from := fs.String("from", "", "replay events created from this RFC 3339 time")
	until := fs.String("until", "", "replay events created before this RFC 3339 time (default now)")
	status := fs.String("status", "", "list only deliveries with this status: pending, delivered or failed")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	pool, err := e.openMigrated(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc, err := e.service(pool)
	if err != nil {
		return err
	}
	switch args[0] {
	case "create":
		ep, secret, err := svc.CreateEndpoint(ctx, webhooks.Spec{URL: *url, Description: *description, EventTypes: splitList(*events)})
		if err != nil {
			return err
		}
		// The secret goes to stdout only, once; it is never logged.
		fmt.Fprintf(e.stdout, "endpoint %d: %s\nsecret: %s\n", ep.ID, ep.URL, secret)
		return nil
	case "list":
		eps, err := svc.Endpoints(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%-6s %-8s %-50s %s\n", "ID", "ENABLED", "URL", "EVENTS")
		for _, ep := range eps {
			fmt.Fprintf(e.stdout, "%-6d %-8t %-50s %s\n", ep.ID, ep.Enabled, ep.URL, strings.Join(ep.EventTypes, ","))
			if ep.DisabledReason != "" {
				fmt.Fprintf(e.stdout, "       disabled: %s\n", ep.DisabledReason)
			}
		}
		return nil
	case "enable", "disable":
		on := args[0] == "enable"
		ep, err := svc.UpdateEndpoint(ctx, id, webhooks.Patch{Enabled: &on})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "endpoint %d enabled: %t\n", ep.ID, ep.Enabled)
		return nil
	case "delete":
		if err := svc.DeleteEndpoint(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "endpoint %d deleted\n", id)
		return nil
	case "rotate":
		ep, secret, err := svc.RotateEndpointSecret(ctx, id, *keep)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "endpoint %d: new secret: %s\nthe old secret signs too until %s\n", ep.ID, secret,
			ep.PreviousSecretExpiresAt.Format(time.RFC3339))
		return nil
	case "replay":
		start, err := time.Parse(time.RFC3339, *from)
		if err != nil {
			return errors.New("--from is an RFC 3339 time, such as 2026-11-22T00:00:00Z")
		}
		end := time.Now()
		if *until != "" {
			if end, err = time.Parse(time.RFC3339, *until); err != nil {
				return errors.New("--until is an RFC 3339 time")
			}
		}
		if !start.Before(end) {
			return errors.New("--from must be before --until")
		}
		n, err := svc.ReplayEndpoint(ctx, id, start, end)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d events scheduled for endpoint %d; a worker delivers them\n", n, id)
		return nil
	case "deliveries":
		ds, err := svc.EndpointDeliveries(ctx, id, *status, 0, 100)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%-10s %-14s %-24s %-10s %-8s %s\n", "ID", "EVENT", "TYPE", "STATUS", "ATTEMPTS", "LAST ERROR")
		for _, d := range ds {
			fmt.Fprintf(e.stdout, "%-10d %-14s %-24s %-10s %-8d %s\n", d.ID, d.EventID, d.Type, d.Status, d.Attempts, d.LastError)
		}
		return nil
	}
	return usage
}
