package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/demo"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations"
	"github.com/belong-loyalty/belong/moments"
)

func runMigrate(ctx context.Context, e *env, args []string) error {
	if err := newFlags("migrate", e).Parse(args); err != nil {
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
	if len(ran) == 0 {
		fmt.Fprintln(e.stdout, "migrate: up to date")
		return nil
	}
	fmt.Fprintf(e.stdout, "migrate: applied %v\n", ran)
	return nil
}

func runIngest(ctx context.Context, e *env, args []string) error {
	fs := newFlags("ingest", e)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 || (fs.Arg(0) != "members" && fs.Arg(0) != "events") {
		return errors.New("usage: belong ingest members|events FILE|-")
	}
	in, err := openInput(e, fs.Arg(1))
	if err != nil {
		return err
	}
	defer in.Close()
	pool, err := e.openMigrated(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	if fs.Arg(0) == "members" {
		ms, err := members.DecodeMembers(in, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", fs.Arg(1), err)
		}
		res, err := members.Upsert(ctx, pool, ms)
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
	res, err := members.InsertEvents(ctx, pool, es, lines)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(1), err)
	}
	dr, err := e.drafting()
	if err != nil {
		return err
	}
	det := &moments.Detector{Rules: moments.DefaultRules, Drafting: dr, Draft: true, AutoApprove: true, Logger: e.logger}
	fired, err := det.Detect(ctx, pool, members.MemberIDs(es), time.Now())
	if err != nil {
		return fmt.Errorf("events stored; milestone detection failed (the next ingest catches up): %w", err)
	}
	fmt.Fprintf(e.stdout, "ingest: %d events inserted, %d already stored, %d milestones\n", res.Inserted, res.Duplicates, len(fired))
	return nil
}

func runEmbed(ctx context.Context, e *env, args []string) error {
	fs := newFlags("embed", e)
	refit := fs.Bool("refit", false, "learn term similarity from the membership again (a new model version) before embedding")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pool, err := e.openMigrated(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	learn := *refit
	if !learn && e.cfg.Embedder == "auto" {
		// The learned model becomes the default once the membership is large enough.
		m, err := embeddings.LatestTermModel(ctx, pool)
		if err != nil {
			return err
		}
		n, err := members.Count(ctx, pool)
		if err != nil {
			return err
		}
		learn = m == nil && n >= embeddings.LearnedMinMembers
	}
	if learn {
		docs, err := embeddings.MemberTerms(ctx, pool)
		if err != nil {
			return err
		}
		if len(docs) < embeddings.LearnedMinMembers {
			return fmt.Errorf("embed -refit: %d consenting members; learning needs at least %d", len(docs), embeddings.LearnedMinMembers)
		}
		m, err := embeddings.FitTerms(docs, embeddings.FitConfig{})
		if err != nil {
			return fmt.Errorf("embed -refit: %w", err)
		}
		if len(m.Terms) < embeddings.LearnedMinTerms {
			return fmt.Errorf("embed -refit: %d shared terms; learning needs at least %d", len(m.Terms), embeddings.LearnedMinTerms)
		}
		if err := embeddings.SaveTermModel(ctx, pool, m); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "embed: learned %s: %d terms in %d dimensions from %d members\n", m.Name(), len(m.Terms), m.Dim, m.Members)
	}
	emb, err := e.embedder(ctx, pool)
	if err != nil {
		return err
	}
	b := &embeddings.Backfill{DB: pool, Embedder: emb, Logger: e.logger}
	res, err := b.RunOnce(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "embed: %s: %d embedded, %d unchanged, %d removed (no consent)\n", emb.Model(), res.Embedded, res.Unchanged, res.Removed)
	return nil
}

func runCluster(ctx context.Context, e *env, args []string) error {
	fs := newFlags("cluster", e)
	target := fs.Int("target-size", 50, "members per community that k is chosen for")
	minSize := fs.Int("min-size", 12, "smallest community: smaller ones are dissolved into their members' next best")
	maxSize := fs.Int("max-size", 150, "largest community: larger ones are split")
	seed := fs.Uint64("seed", 1, "random seed: the same data and seed give the same communities")
	ifChanged := fs.Bool("if-changed", false, "do nothing when no vector changed since the current run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *minSize < 1 || *maxSize < 2**minSize || *target < *minSize || *target > *maxSize {
		return errors.New("sizes must satisfy 1 ≤ -min-size ≤ -target-size ≤ -max-size, with -max-size ≥ 2 × -min-size")
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
	if *ifChanged {
		stale, err := matching.Stale(ctx, pool, emb.Model())
		if err != nil {
			return err
		}
		if !stale {
			fmt.Fprintln(e.stdout, "cluster: nothing changed since the current run; nothing to do")
			return nil
		}
	}
	prog := newProgress(e)
	logger := e.logger
	if prog.tty != nil {
		logger = nil // the bar and the summary below say it all; log lines would tear the bar
	}
	job := &matching.Job{DB: pool, Logger: logger, Config: matching.JobConfig{
		Model:    emb.Model(),
		Cluster:  matching.ClusterConfig{TargetSize: *target, MinSize: *minSize, MaxSize: *maxSize, Seed: *seed},
		Progress: prog.report,
	}}
	res, err := job.RunOnce(ctx)
	prog.done()
	if err != nil {
		return err
	}
	m := res.Metrics
	fmt.Fprintf(e.stdout, "cluster: run %d published in %s\n", res.RunID, (time.Duration(m.DurationMS) * time.Millisecond).String())
	fmt.Fprintf(e.stdout, "  members %d, communities %d (sizes %d / %d / %d min / median / max), tribes %d\n",
		m.Members, m.Communities, m.MinSize, m.MedianSize, m.MaxSize, m.Tribes)
	fmt.Fprintf(e.stdout, "  cohesion %.3f, silhouette %.3f, churn %.1f%%, births %d, deaths %d, splits %d, dissolved %d\n",
		m.Cohesion, m.Silhouette, 100*m.Churn, m.Births, m.Deaths, m.Splits, m.Dissolved)
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
	pool, err := e.openMigrated(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	dr, err := e.drafting()
	if err != nil {
		return err
	}
	if *kind == "" {
		n, err := dr.DraftCommunities(ctx, pool, splitList(*locales))
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
	c, mix, err := matching.Facts(ctx, pool, *community)
	if err != nil {
		return err
	}
	for _, loc := range splitList(*locales) {
		d, err := dr.Draft(ctx, pool, generation.Request{Kind: *kind, Locale: loc, Community: generation.CommunityFacts{
			ID: c.ID, Name: c.Name, Labels: c.Labels, Size: c.Size, SkillMix: mix}}, "", nil, "cli")
		if err != nil {
			return err
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
	b := demo.Generate(demo.Config{Members: *n, Seed: *seed, Now: time.Now().UTC().Truncate(24 * time.Hour), NoConsentShare: 0.05, Synonyms: 0.2})
	mres, err := members.Upsert(ctx, pool, b.Members)
	if err != nil {
		return err
	}
	eres, err := members.InsertEvents(ctx, pool, b.Events, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "demo: %d members (%d new), %d events (%d new) from %d personas\n",
		len(b.Members), mres.Inserted, len(b.Events), eres.Inserted, len(demo.Personas))
	return nil
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags("serve", e)
	addr := fs.String("addr", e.cfg.Addr, "listen address")
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
	dr, err := e.drafting()
	if err != nil {
		return err
	}
	sent, err := e.sentiment()
	if err != nil {
		return err
	}
	handler := api.New(api.Config{DB: pool, Embedder: emb, Logger: e.logger, RateLimit: e.cfg.RateLimit, Drafting: dr, Sentiment: sent})
	ln, err := net.Listen("tcp", *addr)
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
	e.logger.InfoContext(ctx, "server started", "addr", ln.Addr().String())
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
	e.logger.InfoContext(ctx, "server stopped")
	return nil
}
