// Command belong is Belong's one binary: it migrates the database, ingests members and
// events, embeds and clusters them, drafts community content, loads a demo brand,
// serves the API and the console, and works the job queue.
//
//	belong migrate
//	belong ingest members|events FILE|-
//	belong embed [-refit]
//	belong cluster [-target-size 50] [-seed 1] [-if-changed]
//	belong generate [-locales en,sv,it]
//	belong demo [-members 5000] [-seed 1] [-if-empty]
//	belong serve [-addr 127.0.0.1:8080] [-workers=true]
//	belong worker
//	belong jobs [-failures 20] | jobs retry ID
//	belong keys create --name NAME --scopes SCOPES [--expires 90d] | list | revoke PREFIX
//	belong users create --email EMAIL --name NAME --role reviewer|admin | list | ...
//	belong version
//
// Every command's -h prints how to call it and exits 0 without touching the
// database; belong exits 1 when a command fails and 2 when it is called the wrong way.
//
// Configuration comes from the environment; settings.go declares every variable once
// and `belong -h` lists them.
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
	}
	os.Exit(exitCode(err))
}
