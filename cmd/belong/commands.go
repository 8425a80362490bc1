package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/changes"
	"github.com/belong-loyalty/belong/console"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/demo"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/jobs"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations"
	"github.com/belong-loyalty/belong/service"
)

func runMigrate(ctx context.Context, e *env, args []string) error {
	if err := newFlags("migrate", e).Parse(args); err != nil {
		return err
	}
	// pgvector first: the pool registers its types on every connection.
	if err := database.EnsureVector(ctx, e.cfg.DatabaseURL); err != nil {
		return err
	}
	pool, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	ran, err := migrations.Up(ctx, pool)
	if err != nil {
		return err
	}
	if len(ran.Belong)+len(ran.River) == 0 {
		fmt.Fprintln(e.stdout, "migrate: up to date")
		return nil
	}
	fmt.Fprintf(e.stdout, "migrate: applied %v, job queue %v\n", ran.Belong, ran.River)
	return nil
}

func runIngest(ctx context.Context, e *env, args []string) error {
	fs := newFlags("ingest", e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 || (fs.Arg(0) != "members" && fs.Arg(0) != "events") {
		return usagef("usage: belong ingest members|events FILE|-")
	}
	in, err := openInput(e, fs.Arg(1))
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }() // read only: nothing to lose
	svc, err := e.openService(ctx)
	if err != nil {
		return err
	}
	defer svc.DB.Close()
	if fs.Arg(0) == "members" {
		ms, err := members.DecodeMembers(in, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", fs.Arg(1), err)
		}
		res, err := svc.IngestMembers(ctx, ms)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "ingest: %d members inserted, %d updated\n", res.Inserted, res.Updated)
		return nil
	}
	es, lines, err := members.DecodeEvents(in, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(1), err)
	}
	res, err := svc.IngestEvents(ctx, es, lines)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(1), err)
	}
	fmt.Fprintf(e.stdout, "ingest: %d events inserted, %d already stored, %d milestones, %d recognitions queued for the workers\n",
		res.Inserted, res.Duplicates, res.Milestones, res.Recognitions)
	return nil
}

func runEmbed(ctx context.Context, e *env, args []string) error {
	fs := newFlags("embed", e)
	refit := fs.Bool("refit", false, "learn term similarity from the membership again (a new model version) before embedding")
	if err := fs.Parse(args); err != nil {
		return err
	}
	svc, err := e.openService(ctx)
	if err != nil {
		return err
	}
	defer svc.DB.Close()
	res, err := svc.Embed(ctx, *refit)
	if m := res.Learned; m != nil {
		fmt.Fprintf(e.stdout, "embed: learned %s: %d terms in %d dimensions from %d members\n", m.Name(), len(m.Terms), m.Dim, m.Members)
	}
	if c := res.Centered; c != nil {
		fmt.Fprintf(e.stdout, "embed: learned center %s from a sample of the membership: random pairs' mean cosine %.3f, %.3f centered\n",
			c.Model(), c.SqueezeBefore, c.SqueezeAfter)
	}
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	fmt.Fprintf(e.stdout, "embed: %s: %d embedded, %d unchanged, %d removed (no consent)\n", res.Model, res.Embedded, res.Unchanged, res.Removed)
	return nil
}

func runCluster(ctx context.Context, e *env, args []string) error {
	fs := newFlags("cluster", e)
	target := fs.Int("target-size", 0, "members per community that k is chosen for (default: the current settings, 50 until an admin publishes others)")
	minSize := fs.Int("min-size", 0, "smallest community: smaller ones are dissolved into their members' next best (default: the current settings, 12)")
	maxSize := fs.Int("max-size", 0, "largest community: larger ones are split (default: the current settings, 150)")
	seed := fs.Uint64("seed", 0, "random seed: the same data and seed give the same communities (default: the current settings, 1)")
	ifChanged := fs.Bool("if-changed", false, "do nothing when no vector changed since the current run")
	dryRun := fs.Bool("dry-run", false, "compute the run and report what it would change against the current one; publish nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, v := range []int{*target, *minSize, *maxSize} {
		if v < 0 {
			return errors.New("sizes are whole numbers from 1 (0 or none: the current settings)")
		}
	}
	svc, err := e.openService(ctx)
	if err != nil {
		return err
	}
	defer svc.DB.Close()
	// What the flags leave out comes from the current settings: the ones an admin
	// published from a dry run, else the server's.
	cur, err := svc.CurrentSettings(ctx)
	if err != nil {
		return err
	}
	*target, *minSize, *maxSize = cmp.Or(*target, cur.TargetSize), cmp.Or(*minSize, cur.MinSize), cmp.Or(*maxSize, cur.MaxSize)
	seenSeed := false
	fs.Visit(func(f *flag.Flag) { seenSeed = seenSeed || f.Name == "seed" })
	if !seenSeed {
		*seed = cur.Seed
	}
	if *minSize < 1 || *maxSize < 2**minSize || *target < *minSize || *target > *maxSize {
		return fmt.Errorf("sizes must satisfy 1 ≤ -min-size ≤ -target-size ≤ -max-size, with -max-size ≥ 2 × -min-size (here %d, %d, %d)",
			*minSize, *target, *maxSize)
	}
	prog := newProgress(e)
	if prog.tty != nil {
		svc.Logger = nil // the bar and the summary below say it all; log lines would tear the bar
	}
	res, err := svc.Cluster(ctx, service.ClusterParams{TargetSize: *target, MinSize: *minSize, MaxSize: *maxSize, Seed: *seed,
		Facets: cur.Facets,
		DryRun: *dryRun}, *ifChanged, prog.report)
	prog.done()
	if err != nil {
		return err
	}
	if res.Unchanged {
		fmt.Fprintln(e.stdout, "cluster: nothing changed since the current run; nothing to do")
		return nil
	}
	m := res.Metrics
	if res.DryRun != nil {
		fmt.Fprintf(e.stdout, "cluster: dry run in %s; nothing was published\n", (time.Duration(m.DurationMS) * time.Millisecond).String())
	} else {
		fmt.Fprintf(e.stdout, "cluster: run %d published in %s\n", res.RunID, (time.Duration(m.DurationMS) * time.Millisecond).String())
	}
	fmt.Fprintf(e.stdout, "  members %d, communities %d (sizes %d / %d / %d min / median / max), tribes %d\n",
		m.Members, m.Communities, m.MinSize, m.MedianSize, m.MaxSize, m.Tribes)
	fmt.Fprintf(e.stdout, "  cohesion %.3f, silhouette %.3f, churn %.1f%%, births %d, deaths %d, splits %d, dissolved %d\n",
		m.Cohesion, m.Silhouette, 100*m.Churn, m.Births, m.Deaths, m.Splits, m.Dissolved)
	fmt.Fprintf(e.stdout, "  tribes: churn %.1f%%, births %d, deaths %d\n", 100*m.TribeChurn, m.TribeBirths, m.TribeDeaths)
	fmt.Fprintf(e.stdout, "  random pairs' mean cosine %.3f; secondary bar %.3f (%.0f%% of members have a secondary); peer floor %.3f\n",
		m.PairCosine, m.SecondaryMin, 100*m.Secondary, m.PeerFloor)
	if d := res.DryRun; d != nil {
		fmt.Fprint(e.stdout, "  communities by size:")
		for _, b := range d.Sizes {
			if b.UpTo > 0 {
				fmt.Fprintf(e.stdout, " ≤%d: %d,", b.UpTo, b.Communities)
			} else {
				fmt.Fprintf(e.stdout, " more: %d\n", b.Communities)
			}
		}
		fmt.Fprintf(e.stdout, "  %d communities would split, %d would be merges\n", len(d.Splits), len(d.Merges))
		for i, sp := range d.Splits {
			if i == 10 {
				fmt.Fprintf(e.stdout, "    … and %d more splits\n", len(d.Splits)-10)
				break
			}
			fmt.Fprintf(e.stdout, "    split %s %q (%d members) into", sp.ID, sp.Name, sp.Members)
			for _, p := range sp.Into {
				fmt.Fprintf(e.stdout, " %s (%d)", p.ID, p.Members)
			}
			fmt.Fprintln(e.stdout)
		}
		for i, mg := range d.Merges {
			if i == 10 {
				fmt.Fprintf(e.stdout, "    … and %d more merges\n", len(d.Merges)-10)
				break
			}
			fmt.Fprintf(e.stdout, "    merge %s %q (%d members) from", mg.ID, mg.Name, mg.Members)
			for _, p := range mg.From {
				fmt.Fprintf(e.stdout, " %s (%d)", p.ID, p.Members)
			}
			fmt.Fprintln(e.stdout)
		}
		fmt.Fprintf(e.stdout, "  %d communities would be renamed\n", len(d.Renamed))
		for i, r := range d.Renamed {
			if i == 20 {
				fmt.Fprintf(e.stdout, "    … and %d more\n", len(d.Renamed)-20)
				break
			}
			fmt.Fprintf(e.stdout, "    %s: %q → %q\n", r.ID, r.Was, r.Becomes)
		}
	}
	return nil
}

func runGenerate(ctx context.Context, e *env, args []string) error {
	fs := newFlags("generate", e)
	locales := fs.String("locales", "en,sv,it", "comma-separated locales to draft")
	kind := fs.String("kind", "", "draft one kind for one community: "+strings.Join(generation.Kinds, ", ")+
		" (empty: community profiles for every new community)")
	community := fs.String("community", "", "the community to draft for (with -kind)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	svc, err := e.openService(ctx)
	if err != nil {
		return err
	}
	defer svc.DB.Close()
	if *kind == "" {
		n, err := svc.DraftCommunities(ctx, splitList(*locales))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "generate: %d drafts written for review\n", n)
		return nil
	}
	if *kind == generation.KindRecognition {
		return errors.New("recognitions are drafted per member: POST /v1/content/drafts with member_id and occasion")
	}
	if *community == "" {
		return errors.New("-kind needs -community ID")
	}
	for _, loc := range splitList(*locales) {
		d, stored, err := svc.DraftCommunity(ctx, *kind, *community, loc, "cli")
		if err != nil {
			return err
		}
		if !stored {
			fmt.Fprintf(e.stdout, "generate: %s (%s) already has a %s draft; nothing written\n", *community, loc, *kind)
			continue
		}
		note := ""
		if d.Fallback {
			note = " (template fallback)"
		}
		fmt.Fprintf(e.stdout, "generate: draft %d (%s, %s)%s, %d guardrail findings\n", d.ID, d.Kind, d.Locale, note, len(d.Findings))
	}
	return nil
}

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags("demo", e)
	n := fs.Int("members", 5000, "members to generate")
	seed := fs.Uint64("seed", 1, "random seed")
	ifEmpty := fs.Bool("if-empty", false, "do nothing when the database already has members")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 {
		return errors.New("-members must be at least 1")
	}
	pool, err := e.openMigrated(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	if *ifEmpty {
		count, err := members.Count(ctx, pool)
		if err != nil {
			return err
		}
		if count > 0 {
			fmt.Fprintf(e.stdout, "demo: %d members already stored; nothing loaded\n", count)
			return nil
		}
	}
	// In parts of 10,000 members with their events, each part stored before the next
	// is made: a million members load in a few hundred MB.
	var nm, ne, newM, newE int
	cfg := demo.Config{Members: *n, Seed: *seed, Now: time.Now().UTC().Truncate(24 * time.Hour), NoConsentShare: 0.05, Synonyms: 0.2}
	err = demo.Stream(cfg, 10_000, func(b demo.Brand) error {
		mres, err := members.Upsert(ctx, pool, b.Members)
		if err != nil {
			return err
		}
		eres, err := members.InsertEvents(ctx, pool, b.Events, nil, time.Now())
		if err != nil {
			return err
		}
		nm, ne, newM, newE = nm+len(b.Members), ne+len(b.Events), newM+mres.Inserted, newE+eres.Inserted
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "demo: %d members (%d new), %d events (%d new) from %d personas\n",
		nm, newM, ne, newE, len(demo.Personas))
	return nil
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags("serve", e)
	addr := fs.String("addr", e.cfg.Addr, "listen address")
	work := fs.Bool("workers", true, "also work jobs in this process (false: separate belong worker processes do)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := e.openMigrated(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	emb, err := e.embedder(ctx, pool)
	if err != nil {
		return err
	}
	gin.SetMode(gin.ReleaseMode)
	svc, err := e.service(pool)
	if err != nil {
		return err
	}
	m := e.metrics(pool)
	if *work {
		client, err := e.withWorkers(svc)
		if err != nil {
			return err
		}
		m.WatchJobs(ctx, client)
		// Started on a context the signal does not cancel: on SIGTERM stopWorkers
		// lets running jobs finish first (cancelling Start's context would abort them).
		if err := client.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("start workers: %w", err)
		}
		defer stopWorkers(ctx, e, client)
	}
	if err := e.serveMetrics(ctx, m); err != nil {
		return err
	}
	// The current cluster run is served from memory, loaded before the first request
	// (not by it); a run another process publishes is picked up within a second.
	if _, err := svc.View(ctx); err != nil && !errors.Is(err, matching.ErrNoRun) {
		return err
	}
	watch, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go svc.WatchRuns(watch, time.Second)
	keys := &apikey.Verifier{DB: pool}
	go keys.RecordUses(watch, time.Minute, e.logger) // last-used times, written off the request path
	reps, err := e.replicas(pool)
	if err != nil {
		return err
	}
	defer reps.Close()
	if reps != nil {
		go reps.Run(watch)
		m.WatchReplicas(reps.Status)
	}
	limiter := apikey.NewLimiter(e.cfg.RateLimit)
	go limiter.Share(watch, pool, 200*time.Millisecond, e.logger) // with every other serve process
	handler := api.New(api.Config{DB: pool, Embedder: emb, Logger: e.logger, Limiter: limiter,
		Service: svc, Keys: keys, Replicas: reps, AnswerCacheSize: e.cfg.AnswerCacheSize, AnswerTTL: e.cfg.AnswerTTL, Metrics: m})
	// Other processes' writes reach the answer cache through NOTIFY; until the
	// listener is connected, nothing is cached.
	svc.Changes().Reset(false)
	go (&changes.Listener{URL: cmp.Or(e.cfg.ListenURL, e.cfg.DatabaseURL), DB: pool, Apply: svc.Changes().Changed, Reset: svc.Changes().Reset,
		Logger: e.logger}).Run(watch)
	console.Register(handler, console.Config{DB: pool, Service: svc, Logger: e.logger})
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	fmt.Fprintf(e.stdout, "serve: listening on http://%s\n", ln.Addr())
	e.logger.InfoContext(ctx, "server started", slog.String("addr", ln.Addr().String()), slog.Bool("workers", *work))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := keys.FlushUses(shutdown); err != nil {
		e.logger.WarnContext(ctx, "api keys: last uses", slog.String("error", err.Error()))
	}
	e.logger.InfoContext(ctx, "server stopped")
	return nil
}

// stopWorkers lets running jobs finish for a while, then cancels them: a cancelled
// job is retried by the next worker, so nothing is lost either way.
func stopWorkers(ctx context.Context, e *env, client *river.Client[pgx.Tx]) {
	stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := client.Stop(stop); err != nil {
		abort, cancelAbort := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancelAbort()
		if err := client.StopAndCancel(abort); err != nil {
			e.logger.WarnContext(ctx, "workers did not stop cleanly", slog.String("error", err.Error()))
		}
	}
	e.logger.InfoContext(ctx, "workers stopped")
}

func runWorker(ctx context.Context, e *env, args []string) error {
	if err := newFlags("worker", e).Parse(args); err != nil {
		return err
	}
	svc, err := e.openService(ctx)
	if err != nil {
		return err
	}
	defer svc.DB.Close()
	client, err := e.withWorkers(svc)
	if err != nil {
		return err
	}
	m := e.metrics(svc.DB)
	m.WatchJobs(ctx, client)
	if err := e.serveMetrics(ctx, m); err != nil {
		return err
	}
	if err := client.Start(context.WithoutCancel(ctx)); err != nil { // see runServe
		return fmt.Errorf("start workers: %w", err)
	}
	fmt.Fprintln(e.stdout, "worker: working jobs (Ctrl-C stops)")
	e.logger.InfoContext(ctx, "worker started", slog.String("nightly_schedule", e.cfg.NightlySchedule))
	<-ctx.Done()
	stopWorkers(ctx, e, client)
	return nil
}

func runJobs(ctx context.Context, e *env, args []string) error {
	fs := newFlags("jobs", e)
	limit := fs.Int("failures", 20, "how many failing jobs to list")
	if err := fs.Parse(args); err != nil {
		return err
	}
	retry := fs.Arg(0) == "retry" && fs.NArg() == 2
	runNightly := fs.Arg(0) == "run" && fs.NArg() == 2 && fs.Arg(1) == "nightly"
	if fs.NArg() > 0 && !retry && !runNightly {
		return usagef("usage: belong jobs [-failures N] | belong jobs retry ID | belong jobs run nightly")
	}
	if *limit < 1 || *limit > 1000 {
		return errors.New("-failures must be between 1 and 1000")
	}
	pool, err := e.openMigrated(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	client, err := jobs.NewInserter(pool, e.jobsConfig())
	if err != nil {
		return err
	}
	if fs.Arg(0) == "run" {
		// Now rather than at the schedule: the workers take it (and its shards).
		res, err := client.Insert(ctx, service.NightlyArgs{}, nil)
		if err != nil {
			return fmt.Errorf("jobs run nightly: %w", err)
		}
		if res.UniqueSkippedAsDuplicate {
			fmt.Fprintf(e.stdout, "jobs: the nightly pipeline is queued or running already (job %d)\n", res.Job.ID)
			return nil
		}
		fmt.Fprintf(e.stdout, "jobs: nightly pipeline queued (job %d); workers run it\n", res.Job.ID)
		return nil
	}
	if fs.NArg() == 2 {
		id, err := strconv.ParseInt(fs.Arg(1), 10, 64)
		if err != nil {
			return fmt.Errorf("jobs retry: %q is not a job id", fs.Arg(1))
		}
		// Only a parked job runs again: retrying a completed one would do its work
		// twice (a second draft), and a waiting one runs anyway.
		j, err := client.JobGet(ctx, id)
		if err != nil {
			return fmt.Errorf("jobs retry %d: %w", id, err)
		}
		if j.State != rivertype.JobStateDiscarded {
			return fmt.Errorf("jobs retry %d: the job is %s; only a parked (discarded) job is run again", id, j.State)
		}
		j, err = client.JobRetry(ctx, id)
		if err != nil {
			return fmt.Errorf("jobs retry %d: %w", id, err)
		}
		fmt.Fprintf(e.stdout, "jobs: %d (%s) is %s again\n", j.ID, j.Kind, j.State)
		return nil
	}
	counts, err := jobs.Counts(ctx, pool)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tKIND\tSTATE\tJOBS")
	for _, c := range counts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", c.Queue, c.Kind, c.State, c.N)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	probs, err := jobs.Problems(ctx, client, *limit)
	if err != nil {
		return err
	}
	if len(probs) == 0 {
		fmt.Fprintln(e.stdout, "\nno failing jobs")
		return nil
	}
	fmt.Fprintln(e.stdout, "\nfailing jobs (retryable: will run again; discarded: parked, `belong jobs retry ID` runs it again;")
	fmt.Fprintln(e.stdout, "cancelled: what it was for is gone, such as an erased member):")
	tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tATTEMPT\tARGS\tLAST ERROR")
	for _, p := range probs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\t%s\n", p.ID, p.Kind, p.State, p.Attempt, p.Max, p.Args, p.LastError)
	}
	return tw.Flush()
}
