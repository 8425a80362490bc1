package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/internal/logctx"
	"github.com/belong-loyalty/belong/jobs"
	"github.com/belong-loyalty/belong/metrics"
	"github.com/belong-loyalty/belong/migrations"
	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/pilots"
	"github.com/belong-loyalty/belong/service"
)

// Config is everything belong reads from the environment.
type Config struct {
	DatabaseURL string
	// Pooler is "none" or "transaction": DatabaseURL reaches PostgreSQL through a
	// transaction-pooling PgBouncer (database.ForTransactionPooler; the job queue polls).
	Pooler string
	// ReadURLs are streaming replicas for the real-time reads (DATABASE_READ_URL).
	ReadURLs []string
	// ReplicaMaxLag is how far behind a replica may fall and still serve.
	ReplicaMaxLag time.Duration
	// ShardSize is how many members a nightly embedding shard covers.
	ShardSize int
	// RescueAfter is how long a running job is waited for before it is taken for dead.
	RescueAfter time.Duration
	// ListenURL is a connection with a session of its own, for LISTEN (the answer
	// cache's change notices); DatabaseURL when empty.
	ListenURL   string
	Addr        string
	LogLevel    slog.Level
	LogFormat   string
	MetricsAddr string
	// Embedder is "auto" (the default: the learned model once one is fitted, else
	// hashing), "local" (hashing), "learned" or "openai" (any OpenAI-compatible
	// /v1/embeddings endpoint).
	Embedder string
	// Center removes the membership's common direction from vectors once learned
	// (embeddings.Centered).
	Center bool
	// SayWeight and DoWeight blend what members say and do in local vectors.
	SayWeight, DoWeight float64
	// EmbeddingBatch is how many profiles one embeddings request carries.
	EmbeddingBatch int
	OpenAIBaseURL  string
	OpenAIAPIKey   string // a secret: never logged or printed
	EmbeddingModel string
	// RateLimit is each API key's sustained requests per second.
	RateLimit float64
	// BannedPhrases are the brand's phrases no draft may use (BELONG_BANNED_PHRASES,
	// separated by "|").
	BannedPhrases []string
	// Generator is "template" (the default, offline) or "openai" (chat completions at
	// OPENAI_BASE_URL with BELONG_CHAT_MODEL, brand voice from BELONG_VOICE_FILE).
	Generator string
	ChatModel string
	VoiceFile string
	// Sentiment is "lexicon" (the default, offline) or "openai" (the chat model).
	Sentiment string
	// NightlySchedule is the cron expression of the nightly pipeline (UTC unless it
	// starts with CRON_TZ=Zone; "off" disables it).
	NightlySchedule string
	// JobMaxAttempts is how often a job is tried before it is parked.
	JobMaxAttempts int
	// KeepRuns is how many published cluster runs keep their memberships.
	KeepRuns int
	// IdempotencyTTL is how long an Idempotency-Key is remembered.
	IdempotencyTTL time.Duration
	// Facets are what oversized communities are split along first.
	Facets []string
	// Policy is when recognitions may go out: quiet hours and caps.
	Policy moments.Policy
	// AnswerCacheSize and AnswerTTL bound the API's cache of real-time answers
	// (AnswerTTL negative: none).
	AnswerCacheSize int
	AnswerTTL       time.Duration
}

// Validate reports a configuration that cannot work. Each setting's own value is
// checked as it is read (settings.go); this checks what must be there.
func (c Config) Validate() error {
	if c.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set (make run and make test set it for the local database)")
	}
	return nil
}

// env is what every subcommand gets.
type env struct {
	cfg    Config
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	logger *slog.Logger
}

func (e *env) open(ctx context.Context) (*pgxpool.Pool, error) {
	cfg, err := database.ParseConfig(e.cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	e.configurePool(cfg)
	return database.OpenConfig(ctx, cfg)
}

// configurePool adapts a pool to BELONG_POOLER.
func (e *env) configurePool(cfg *pgxpool.Config) {
	if e.cfg.Pooler == "transaction" {
		database.ForTransactionPooler(cfg)
	}
}

// replicas prepares DATABASE_READ_URL's replicas (nil when there are none); the
// caller runs and closes them.
func (e *env) replicas(primary *pgxpool.Pool) (*database.Replicas, error) {
	if len(e.cfg.ReadURLs) == 0 {
		return nil, nil
	}
	r, err := database.OpenReplicas(primary, e.cfg.ReadURLs, e.cfg.ReplicaMaxLag, 250*time.Millisecond, e.configurePool, e.logger)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_READ_URL: %w", err)
	}
	return r, nil
}

// openMigrated opens the database and refuses one with pending migrations.
func (e *env) openMigrated(ctx context.Context) (*pgxpool.Pool, error) {
	pool, err := e.open(ctx)
	if err != nil {
		return nil, err
	}
	if err := migrations.Check(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// drafting is the configured generator, and the brand settings from the environment
// (BELONG_BANNED_PHRASES, BELONG_VOICE_FILE) that hold until some are saved.
func (e *env) drafting() (generation.Drafting, error) {
	d := generation.Drafting{Generator: generation.Template{}, Brand: generation.Brand{Banned: e.cfg.BannedPhrases}, Logger: e.logger}
	if e.cfg.VoiceFile != "" {
		voice, err := os.ReadFile(e.cfg.VoiceFile)
		if err != nil {
			return d, fmt.Errorf("BELONG_VOICE_FILE: %w", err)
		}
		d.Brand.Voice = string(voice)
	}
	if e.cfg.Generator == "openai" {
		g, err := generation.NewOpenAI(generation.OpenAIConfig{BaseURL: e.cfg.OpenAIBaseURL, APIKey: e.cfg.OpenAIAPIKey,
			Model: e.cfg.ChatModel, Retries: 2})
		if err != nil {
			return d, err
		}
		d.Generator = g
	}
	return d, nil
}

// openService opens the migrated database and returns the use cases over it; the
// caller closes svc.DB.
func (e *env) openService(ctx context.Context) (*service.Service, error) {
	pool, err := e.openMigrated(ctx)
	if err != nil {
		return nil, err
	}
	svc, err := e.service(pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return svc, nil
}

// service returns the use cases over pool. Its queue only inserts jobs until
// withWorkers replaces it with a client that works them.
func (e *env) service(pool *pgxpool.Pool) (*service.Service, error) {
	dr, err := e.drafting()
	if err != nil {
		return nil, err
	}
	q, err := jobs.NewInserter(pool, e.jobsConfig())
	if err != nil {
		return nil, err
	}
	sent, err := e.sentiment()
	if err != nil {
		return nil, err
	}
	return &service.Service{DB: pool, Queue: q, Drafting: dr, Sentiment: sent, Embedder: e.embedder, LearnWhenReady: e.cfg.Embedder == "auto", Center: e.cfg.Center,
		Clustering: service.ClusterParams{TargetSize: 50, MinSize: 12, MaxSize: 150, Seed: 1, Facets: e.cfg.Facets},
		KeepRuns:   e.cfg.KeepRuns, ShardSize: e.cfg.ShardSize, IdempotencyTTL: e.cfg.IdempotencyTTL, Policy: e.cfg.Policy, Logger: e.logger}, nil
}

// withWorkers gives svc a River client that works its jobs; the caller starts it.
// Jobs draft without the template fallback: a model outage is retried, then parked.
func (e *env) withWorkers(svc *service.Service) (*river.Client[pgx.Tx], error) {
	svc.Drafting.NoFallback = e.cfg.Generator != "template"
	client, err := jobs.New(svc.DB, svc, e.jobsConfig())
	if err != nil {
		return nil, err
	}
	svc.Queue = client
	return client, nil
}

// metrics is the process's metrics registry, naming this build.
func (e *env) metrics(pool *pgxpool.Pool) *metrics.Metrics {
	ver, rev, _ := buildVersion()
	return metrics.New(pool, metrics.Build{Version: ver, Revision: rev}, e.logger)
}

// serveMetrics serves /metrics without a key on BELONG_METRICS_ADDR, when it is set
// (for workers, which have no API, and scrapers on a private network), until ctx ends.
func (e *env) serveMetrics(ctx context.Context, m *metrics.Metrics) error {
	if e.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", e.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("BELONG_METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.logger.Error("metrics server stopped", slog.String("error", err.Error()))
		}
	}()
	e.logger.InfoContext(ctx, "metrics served", slog.String("addr", ln.Addr().String()))
	return nil
}

func (e *env) jobsConfig() jobs.Config {
	return jobs.Config{NightlySchedule: e.cfg.NightlySchedule, MaxAttempts: e.cfg.JobMaxAttempts,
		PollOnly: e.cfg.Pooler == "transaction", RescueAfter: e.cfg.RescueAfter, ClientID: clientID(), Logger: e.logger}
}

// clientID names this process in the jobs it works: host and process id, so that an
// operator (or a test) can tell which process holds a running job.
func clientID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "belong"
	}
	return fmt.Sprintf("%s.%d", host, os.Getpid())
}

// sentiment is the configured feedback model, or nil for the offline lexicon alone
// (which scores feedback as it is stored).
func (e *env) sentiment() (pilots.Scorer, error) {
	if e.cfg.Sentiment == "openai" {
		return pilots.NewOpenAIScorer(e.cfg.OpenAIBaseURL, e.cfg.OpenAIAPIKey, e.cfg.ChatModel, 5*time.Second)
	}
	return nil, nil
}

// embedder is the configured Embedder. "auto" and "learned" use the newest stored
// term model; "learned" without one is an error, "auto" falls back to hashing.
func (e *env) embedder(ctx context.Context, db database.DBTX) (embeddings.Embedder, error) {
	inner, err := e.innerEmbedder(ctx, db)
	if err != nil || !e.cfg.Center {
		return inner, err
	}
	return embeddings.WithCenter(ctx, db, inner)
}

func (e *env) innerEmbedder(ctx context.Context, db database.DBTX) (embeddings.Embedder, error) {
	switch e.cfg.Embedder {
	case "openai":
		return embeddings.NewOpenAI(embeddings.OpenAIConfig{
			BaseURL: e.cfg.OpenAIBaseURL, APIKey: e.cfg.OpenAIAPIKey, Model: e.cfg.EmbeddingModel, BatchSize: e.cfg.EmbeddingBatch})
	case "local":
		return embeddings.NewLocal().WithWeights(e.cfg.SayWeight, e.cfg.DoWeight), nil
	}
	m, err := embeddings.LatestTermModel(ctx, db)
	if err != nil {
		return nil, err
	}
	if m == nil {
		if e.cfg.Embedder == "learned" {
			return nil, errors.New("BELONG_EMBEDDER=learned but no term model is fitted: run `belong embed -refit`")
		}
		return embeddings.NewLocal().WithWeights(e.cfg.SayWeight, e.cfg.DoWeight), nil
	}
	return embeddings.NewLearned(m).WithWeights(e.cfg.SayWeight, e.cfg.DoWeight), nil
}

type command struct {
	summary string
	// synopsis is how to call it, printed by `belong COMMAND -h`.
	synopsis string
	run      func(ctx context.Context, e *env, args []string) error
}

var commands = map[string]command{
	"migrate": {"apply pending database migrations (enabling pgvector when the role may)", "belong migrate", runMigrate},
	"ingest":  {"ingest members|events FILE|- (JSONL; - reads stdin)", "belong ingest members|events FILE|-\n\nFILE is JSON Lines (see Data formats in the README); - reads stdin.", runIngest},
	"embed":   {"embed consenting members whose profile changed", "belong embed [-refit]\n\n  -refit  retrain the term model on all consenting members first", runEmbed},
	"cluster": {"cluster members into micro-communities and publish the run",
		"belong cluster [-target-size N] [-min-size N] [-max-size N] [-seed N] [-if-changed] [-dry-run]\n\n" +
			"Sizes and seed left out are the current settings; -if-changed skips when no vector changed;\n" +
			"-dry-run computes and reports the run without publishing it.", runCluster},
	"generate": {"draft names and descriptions for new communities",
		"belong generate [-locales en,sv,it] [-kind KIND -community ID]", runGenerate},
	"demo":   {"generate and load a synthetic demo brand", "belong demo [-members 5000] [-seed 1] [-if-empty]", runDemo},
	"serve":  {"serve the HTTP API (and work jobs, unless -workers=false)", "belong serve [-addr 127.0.0.1:8080] [-workers=true]", runServe},
	"worker": {"work jobs: drafts, webhooks, the nightly pipeline, anniversaries, signals, retention", "belong worker", runWorker},
	"jobs": {"show the job queue and failing jobs; jobs retry ID runs a parked job again; jobs run nightly queues the nightly pipeline now",
		"belong jobs [-failures 20] | belong jobs retry ID | belong jobs run nightly", runJobs},
	"keys": {"create|list|revoke API keys", "belong keys create --name NAME --scopes SCOPE[,SCOPE] [--expires 90d|2027-03-01|720h] | list | revoke PREFIX", runKeys},
	"users": {"create|list|set-password|role|sign-out|disable|enable console accounts",
		"belong users create --email EMAIL --name NAME --role reviewer|admin [--password-stdin]\n" +
			"belong users list | set-password EMAIL [--password-stdin] | role EMAIL ROLE | sign-out EMAIL | disable EMAIL | enable EMAIL\n\n" +
			"Without --password-stdin a password is generated and printed once.", runUsers},
	"webhooks": {"create|list|enable|disable|delete|rotate|replay webhook endpoints; deliveries ID shows their log",
		"belong webhooks create --url URL --events TYPE[,TYPE] [--description TEXT] | list | enable ID | disable ID | delete ID\n" +
			"belong webhooks rotate ID [--keep 24h] | replay ID --from TIME [--until TIME] | deliveries ID [--status failed]", runWebhooks},
	"version": {"print the version and the VCS revision it was built from", "belong version", runVersion},
}

// usageError is a command called the wrong way: belong exits 2 for it.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// usagef is a usageError.
func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// ExitCode is the process's exit code for err: 0 for none, 2 for a command called
// the wrong way, 1 for any other failure.
func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

// asksHelp reports whether args ask for help (-h, -help, --help before any "--").
func asksHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: belong COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	usageSettings(w)
}

// run is main without the process: tests call it to start the real program.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return usagef("unknown command %q", args[0])
	}
	if asksHelp(args[1:]) { // before any configuration or database
		fmt.Fprintf(stdout, "%s\n\nusage: %s\n", cmd.summary, cmd.synopsis)
		return nil
	}
	if args[0] == "version" { // needs no configuration
		return runVersion(ctx, &env{stdout: stdout, stderr: stderr}, args[1:])
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})
	if cfg.LogFormat == "json" {
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})
	}
	logger := slog.New(logctx.Handler(handler))
	err = cmd.run(ctx, &env{cfg: cfg, stdin: stdin, stdout: stdout, stderr: stderr, logger: logger}, args[1:])
	var fe flagError
	if errors.As(err, &fe) {
		return usageError{fe.Error()}
	}
	return err
}

// flagError is a flag the FlagSet refused (it printed the flags already).
type flagError struct{ error }

func newFlags(name string, e *env) *flagSet {
	fs := flag.NewFlagSet("belong "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return &flagSet{fs}
}

// flagSet is a flag.FlagSet whose parse errors are usage errors.
type flagSet struct{ *flag.FlagSet }

// Parse parses args; a refused flag is a usage error (exit 2).
func (f *flagSet) Parse(args []string) error {
	if err := f.FlagSet.Parse(args); err != nil {
		return flagError{err}
	}
	return nil
}

// openInput opens FILE, or stdin for "-".
func openInput(e *env, name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(e.stdin), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
