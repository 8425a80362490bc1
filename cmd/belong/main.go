// Command belong is Belong's one binary: it migrates the database, ingests members and
// events, embeds and clusters them, drafts community content, loads a demo brand and
// serves the API.
//
//	belong migrate
//	belong ingest members|events FILE|-
//	belong embed
//	belong cluster [-target-size 50] [-seed 1] [-if-changed]
//	belong generate [-locales en,sv,it]
//	belong demo [-members 5000] [-seed 1] [-if-empty]
//	belong serve [-addr 127.0.0.1:8080]
//	belong keys create --name NAME --scopes SCOPES | list | revoke PREFIX
//
// Configuration comes from the environment: DATABASE_URL (required), BELONG_ADDR,
// BELONG_LOG_LEVEL (debug, info, warn, error), BELONG_EMBEDDER (local, the default, or
// openai), OPENAI_BASE_URL, OPENAI_API_KEY, BELONG_EMBEDDING_MODEL and
// BELONG_RATE_LIMIT.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // member time zones validate on machines without a zoneinfo database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "belong:", err)
		os.Exit(1)
	}
}
