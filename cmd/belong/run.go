package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/jobs"
	"github.com/belong-loyalty/belong/migrations"
	"github.com/belong-loyalty/belong/pilots"
	"github.com/belong-loyalty/belong/service"
)

// Config is everything belong reads from the environment.
type Config struct {
	DatabaseURL string
	Addr        string
	LogLevel    slog.Level
	// Embedder is "auto" (the default: the learned model once one is fitted, else
	// hashing), "local" (hashing), "learned" or "openai" (any OpenAI-compatible
	// /v1/embeddings endpoint).
	Embedder string
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
}

// loadConfig reads the environment, with defaults.
func loadConfig(getenv func(string) string) (Config, error) {
	cfg := Config{
		DatabaseURL: getenv("DATABASE_URL"),
		Addr:        cmp.Or(getenv("BELONG_ADDR"), "127.0.0.1:8080"),

		Embedder:       cmp.Or(getenv("BELONG_EMBEDDER"), "auto"),
		SayWeight:      embeddings.DefaultSayWeight,
		DoWeight:       embeddings.DefaultDoWeight,
		OpenAIBaseURL:  cmp.Or(getenv("OPENAI_BASE_URL"), "https://api.openai.com/v1"),
		OpenAIAPIKey:   getenv("OPENAI_API_KEY"),
		EmbeddingModel: cmp.Or(getenv("BELONG_EMBEDDING_MODEL"), "text-embedding-3-small"),
		RateLimit:      10_000,
		Generator:      cmp.Or(getenv("BELONG_GENERATOR"), "template"),
		ChatModel:      cmp.Or(getenv("BELONG_CHAT_MODEL"), "gpt-4o-mini"),
		VoiceFile:      getenv("BELONG_VOICE_FILE"),
		Sentiment:      cmp.Or(getenv("BELONG_SENTIMENT"), "lexicon"),

		NightlySchedule: cmp.Or(getenv("BELONG_NIGHTLY_SCHEDULE"), "0 3 * * *"),
		JobMaxAttempts:  10,
		KeepRuns:        7,
		IdempotencyTTL:  24 * time.Hour,
	}
	if _, err := jobs.ParseSchedule(cfg.NightlySchedule); err != nil {
		return cfg, fmt.Errorf("BELONG_NIGHTLY_SCHEDULE: %w", err)
	}
	for name, dst := range map[string]*int{"BELONG_JOB_MAX_ATTEMPTS": &cfg.JobMaxAttempts, "BELONG_KEEP_RUNS": &cfg.KeepRuns} {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return cfg, fmt.Errorf("%s is %q; want a whole number from 1 to 1000", name, v)
			}
			*dst = n
		}
	}
	if v := getenv("BELONG_IDEMPOTENCY_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return cfg, fmt.Errorf("BELONG_IDEMPOTENCY_TTL is %q; want a duration of at least 1m, such as 24h", v)
		}
		cfg.IdempotencyTTL = d
	}
	for _, p := range strings.Split(getenv("BELONG_BANNED_PHRASES"), "|") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.BannedPhrases = append(cfg.BannedPhrases, p)
		}
	}
	for name, dst := range map[string]*float64{"BELONG_EMBED_SAY_WEIGHT": &cfg.SayWeight, "BELONG_EMBED_DO_WEIGHT": &cfg.DoWeight} {
		if v := getenv(name); v != "" {
			w, err := strconv.ParseFloat(v, 64)
			if err != nil || w < 0 {
				return cfg, fmt.Errorf("%s is %q; want a weight ≥ 0", name, v)
			}
			*dst = w
		}
	}
	if v := getenv("BELONG_EMBEDDING_DIMENSIONS"); v != "" && v != strconv.Itoa(embeddings.Dim) {
		return cfg, fmt.Errorf("BELONG_EMBEDDING_DIMENSIONS is %s; the schema stores %d-dimension vectors (text-embedding-3-* shorten to it)", v, embeddings.Dim)
	}
	if v := getenv("BELONG_EMBEDDING_BATCH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 2048 {
			return cfg, fmt.Errorf("BELONG_EMBEDDING_BATCH is %q; want 1 to 2048 inputs a request", v)
		}
		cfg.EmbeddingBatch = n
	}
	if v := getenv("BELONG_RATE_LIMIT"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 {
			return cfg, fmt.Errorf("BELONG_RATE_LIMIT is %q; want requests per second per key (0: no limit)", v)
		}
		cfg.RateLimit = r
	}
	if lvl := getenv("BELONG_LOG_LEVEL"); lvl != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			return cfg, fmt.Errorf("BELONG_LOG_LEVEL: %w", err)
		}
	}
	return cfg, cfg.Validate()
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set (make run and make test set it for the local database)")
	}
	if c.Sentiment != "lexicon" && c.Sentiment != "openai" {
		return fmt.Errorf("BELONG_SENTIMENT is %q; want lexicon or openai", c.Sentiment)
	}
	if c.Generator != "template" && c.Generator != "openai" {
		return fmt.Errorf("BELONG_GENERATOR is %q; want template or openai", c.Generator)
	}
	switch c.Embedder {
	case "auto", "local", "learned", "openai":
	default:
		return fmt.Errorf("BELONG_EMBEDDER is %q; want auto, local, learned or openai", c.Embedder)
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
	return database.Open(ctx, e.cfg.DatabaseURL)
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

// drafting is the configured generator and guardrails.
func (e *env) drafting() (generation.Drafting, error) {
	d := generation.Drafting{Generator: generation.Template{}, Guardrails: generation.Guardrails{Banned: e.cfg.BannedPhrases},
		Logger: e.logger}
	if e.cfg.Generator == "openai" {
		var voice []byte
		if e.cfg.VoiceFile != "" {
			var err error
			if voice, err = os.ReadFile(e.cfg.VoiceFile); err != nil {
				return d, fmt.Errorf("BELONG_VOICE_FILE: %w", err)
			}
		}
		g, err := generation.NewOpenAI(generation.OpenAIConfig{BaseURL: e.cfg.OpenAIBaseURL, APIKey: e.cfg.OpenAIAPIKey,
			Model: e.cfg.ChatModel, Voice: string(voice), Retries: 2})
		if err != nil {
			return d, err
		}
		d.Generator = g
	}
	return d, nil
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
	return &service.Service{DB: pool, Queue: q, Drafting: dr, Embedder: e.embedder, LearnWhenReady: e.cfg.Embedder == "auto",
		Clustering: service.ClusterParams{TargetSize: 50, MinSize: 12, MaxSize: 150, Seed: 1},
		KeepRuns:   e.cfg.KeepRuns, IdempotencyTTL: e.cfg.IdempotencyTTL, Logger: e.logger}, nil
}

// withWorkers gives svc a River client that works its jobs; the caller starts it.
// Jobs draft without the template fallback: a model outage is retried, then parked.
func (e *env) withWorkers(pool *pgxpool.Pool, svc *service.Service) (*river.Client[pgx.Tx], error) {
	svc.Drafting.NoFallback = e.cfg.Generator != "template"
	client, err := jobs.New(pool, svc, e.jobsConfig())
	if err != nil {
		return nil, err
	}
	svc.Queue = client
	return client, nil
}

func (e *env) jobsConfig() jobs.Config {
	return jobs.Config{NightlySchedule: e.cfg.NightlySchedule, MaxAttempts: e.cfg.JobMaxAttempts, Logger: e.logger}
}

// sentiment is the configured feedback scorer.
func (e *env) sentiment() (pilots.Scorer, error) {
	if e.cfg.Sentiment == "openai" {
		return pilots.NewOpenAIScorer(e.cfg.OpenAIBaseURL, e.cfg.OpenAIAPIKey, e.cfg.ChatModel, 5*time.Second)
	}
	return pilots.Lexicon{}, nil
}

// embedder is the configured Embedder. "auto" and "learned" use the newest stored
// term model; "learned" without one is an error, "auto" falls back to hashing.
func (e *env) embedder(ctx context.Context, db database.DBTX) (embeddings.Embedder, error) {
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
	run     func(ctx context.Context, e *env, args []string) error
}

var commands = map[string]command{
	"migrate":  {"apply pending database migrations", runMigrate},
	"ingest":   {"ingest members|events FILE|- (JSONL; - reads stdin)", runIngest},
	"embed":    {"embed consenting members whose profile changed", runEmbed},
	"cluster":  {"cluster members into micro-communities and publish the run", runCluster},
	"generate": {"draft names and descriptions for new communities", runGenerate},
	"demo":     {"generate and load a synthetic demo brand", runDemo},
	"serve":    {"serve the HTTP API (and work jobs, unless -workers=false)", runServe},
	"worker":   {"work jobs: drafts, the nightly pipeline, anniversaries, retention", runWorker},
	"jobs":     {"show the job queue and failing jobs; jobs retry ID runs a parked job again", runJobs},
	"keys":     {"create|list|revoke API keys", runKeys},
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
	fmt.Fprintln(w, "\nenvironment: DATABASE_URL (required), BELONG_ADDR, BELONG_LOG_LEVEL,")
	fmt.Fprintln(w, "  BELONG_EMBEDDER (auto|local|learned|openai), BELONG_EMBED_SAY_WEIGHT, BELONG_EMBED_DO_WEIGHT,")
	fmt.Fprintln(w, "  OPENAI_BASE_URL, OPENAI_API_KEY, BELONG_EMBEDDING_MODEL, BELONG_EMBEDDING_DIMENSIONS (256),")
	fmt.Fprintln(w, "  BELONG_EMBEDDING_BATCH,")
	fmt.Fprintln(w, "  BELONG_RATE_LIMIT (requests/s per API key, default 10000), BELONG_BANNED_PHRASES (a|b|c),")
	fmt.Fprintln(w, "  BELONG_GENERATOR (template|openai), BELONG_CHAT_MODEL, BELONG_VOICE_FILE, BELONG_SENTIMENT (lexicon|openai),")
	fmt.Fprintln(w, "  BELONG_NIGHTLY_SCHEDULE (cron, UTC; default 0 3 * * *; off), BELONG_JOB_MAX_ATTEMPTS (10),")
	fmt.Fprintln(w, "  BELONG_KEEP_RUNS (7), BELONG_IDEMPOTENCY_TTL (24h)")
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
		return fmt.Errorf("unknown command %q", args[0])
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	return cmd.run(ctx, &env{cfg: cfg, stdin: stdin, stdout: stdout, stderr: stderr, logger: logger}, args[1:])
}

func newFlags(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("belong "+name, flag.ContinueOnError)
	fs.SetOutput(e.stdout)
	return fs
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
