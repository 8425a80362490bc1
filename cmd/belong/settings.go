package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/jobs"
	"github.com/belong-loyalty/belong/moments"
)

// setting is one environment variable: declared once here, it sets Config, prints in
// the usage text and must appear in the README's settings table (a test checks).
type setting struct {
	name string
	def  string // the default, as written in the environment ("" when none)
	doc  string
	// set parses a non-empty value into cfg.
	set func(cfg *Config, v string) error
	// secret settings are never printed or logged.
	secret bool
}

// settings are every environment variable belong reads.
var settings = []setting{
	{name: "DATABASE_URL", doc: "PostgreSQL 15+ with pgvector 0.8 (required; make run and make test set it)", secret: true,
		set: func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
	{name: "DATABASE_READ_URL", doc: "one or more PostgreSQL streaming replicas (hot standbys), separated by spaces or commas: serve answers the real-time reads (communities, peers, moment, a community, the export) from one caught up with what each answer depends on; writes and everything else stay on DATABASE_URL", secret: true,
		set: func(c *Config, v string) error {
			c.ReadURLs = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
			return nil
		}},
	{name: "BELONG_REPLICA_MAX_LAG", def: "2s", doc: "how far behind the primary a read replica may fall and still serve (measured every 250 ms); a replica further behind, down or not in recovery is skipped until it is back",
		set: durationAtLeast(func(c *Config) *time.Duration { return &c.ReplicaMaxLag }, 100*time.Millisecond, "2s")},
	{name: "BELONG_POOLER", def: "none", doc: "transaction: DATABASE_URL goes through a transaction-pooling PgBouncer (no named prepared statements or session settings; the job queue polls; set BELONG_LISTEN_URL for the answer cache); none",
		set: oneOf(func(c *Config) *string { return &c.Pooler }, "none", "transaction")},
	{name: "BELONG_LISTEN_URL", doc: "a connection with a session of its own (straight to PostgreSQL) on which serve hears other nodes' writes for its answer cache; DATABASE_URL when empty (through a transaction pooler nothing is heard, so nothing is cached)", secret: true,
		set: func(c *Config, v string) error { c.ListenURL = v; return nil }},
	{name: "BELONG_ADDR", def: "127.0.0.1:8080", doc: "listen address of belong serve",
		set: func(c *Config, v string) error { c.Addr = v; return nil }},
	{name: "BELONG_LOG_LEVEL", def: "info", doc: "debug, info, warn or error",
		set: func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
	{name: "BELONG_LOG_FORMAT", def: "text", doc: "text (logfmt-like, for people) or json (one object a line, for log pipelines)",
		set: oneOf(func(c *Config) *string { return &c.LogFormat }, "text", "json")},
	{name: "BELONG_METRICS_ADDR", doc: "also serve /metrics without a key on this address (workers have no API; bind it to a private interface); off when empty",
		set: func(c *Config, v string) error { c.MetricsAddr = v; return nil }},
	{name: "BELONG_EMBEDDER", def: "auto", doc: "auto (learned once fitted, else hashing), local, learned or openai",
		set: oneOf(func(c *Config) *string { return &c.Embedder }, "auto", "local", "learned", "openai")},
	{name: "BELONG_CENTER", def: "on", doc: "on: learn the membership's common vector direction once 1,000 members consent and remove it (unrelated members then score near 0); off",
		set: func(c *Config, v string) error {
			switch v {
			case "on", "off":
				c.Center = v == "on"
				return nil
			}
			return fmt.Errorf("want on or off")
		}},
	{name: "BELONG_EMBED_SAY_WEIGHT", def: strconv.FormatFloat(embeddings.DefaultSayWeight, 'g', -1, 64), doc: "weight of what members say in local vectors",
		set: weight(func(c *Config) *float64 { return &c.SayWeight })},
	{name: "BELONG_EMBED_DO_WEIGHT", def: strconv.FormatFloat(embeddings.DefaultDoWeight, 'g', -1, 64), doc: "weight of what members do in local vectors",
		set: weight(func(c *Config) *float64 { return &c.DoWeight })},
	{name: "OPENAI_BASE_URL", def: "https://api.openai.com/v1", doc: "any OpenAI-compatible endpoint (OpenAI, Azure, Ollama, vLLM, TEI)",
		set: func(c *Config, v string) error { c.OpenAIBaseURL = v; return nil }},
	{name: "OPENAI_API_KEY", doc: "the endpoint's key", secret: true,
		set: func(c *Config, v string) error { c.OpenAIAPIKey = v; return nil }},
	{name: "BELONG_EMBEDDING_MODEL", def: "text-embedding-3-small", doc: "embedding model of BELONG_EMBEDDER=openai",
		set: func(c *Config, v string) error { c.EmbeddingModel = v; return nil }},
	{name: "BELONG_EMBEDDING_DIMENSIONS", def: strconv.Itoa(embeddings.Dim), doc: "may only say 256: the schema's vector size",
		set: func(_ *Config, v string) error {
			if v != strconv.Itoa(embeddings.Dim) {
				return fmt.Errorf("the schema stores %d-dimension vectors (text-embedding-3-* shorten to it)", embeddings.Dim)
			}
			return nil
		}},
	{name: "BELONG_EMBEDDING_BATCH", def: "128", doc: "inputs per embeddings request (1–2048)",
		set: intUpTo(func(c *Config) *int { return &c.EmbeddingBatch }, 2048)},
	{name: "BELONG_RATE_LIMIT", def: "10000", doc: "requests per second per API key, bursts of twice that (0: no limit)",
		set: func(c *Config, v string) error {
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || r < 0 {
				return fmt.Errorf("want requests per second per key (0: no limit)")
			}
			c.RateLimit = r
			return nil
		}},
	{name: "BELONG_BANNED_PHRASES", doc: "phrases no draft may use, separated by | (the default until brand settings are saved in the console)",
		set: func(c *Config, v string) error {
			for _, p := range strings.Split(v, "|") {
				if p = strings.TrimSpace(p); p != "" {
					c.BannedPhrases = append(c.BannedPhrases, p)
				}
			}
			return nil
		}},
	{name: "BELONG_GENERATOR", def: "template", doc: "template (offline) or openai (chat completions)",
		set: oneOf(func(c *Config) *string { return &c.Generator }, "template", "openai")},
	{name: "BELONG_CHAT_MODEL", def: "gpt-4o-mini", doc: "chat model of the openai generator and sentiment",
		set: func(c *Config, v string) error { c.ChatModel = v; return nil }},
	{name: "BELONG_VOICE_FILE", doc: "the brand-voice guide sent to the chat model (the default until brand settings are saved in the console)",
		set: func(c *Config, v string) error { c.VoiceFile = v; return nil }},
	{name: "BELONG_SENTIMENT", def: "lexicon", doc: "lexicon (offline) or openai",
		set: oneOf(func(c *Config) *string { return &c.Sentiment }, "lexicon", "openai")},
	{name: "BELONG_NIGHTLY_SCHEDULE", def: "0 3 * * *", doc: "cron expression of the nightly pipeline, UTC unless it starts with CRON_TZ=Zone; off disables it",
		set: func(c *Config, v string) error {
			if _, err := jobs.ParseSchedule(v); err != nil {
				return err
			}
			c.NightlySchedule = v
			return nil
		}},
	{name: "BELONG_NIGHTLY_SHARD_SIZE", def: "50000", doc: "consenting members per embedding shard of the nightly pipeline (each shard is a job any worker takes)",
		set: intUpTo(func(c *Config) *int { return &c.ShardSize }, 10_000_000)},
	{name: "BELONG_JOB_RESCUE_AFTER", def: "1h", doc: "how long a running job is waited for before it is taken for dead (its worker killed) and run again; a nightly shard is also given at most this long (else 5m), other jobs wait out their own time limit too (the clustering: 55m)",
		set: durationAtLeast(func(c *Config) *time.Duration { return &c.RescueAfter }, time.Second, "1h")},
	{name: "BELONG_JOB_MAX_ATTEMPTS", def: "10", doc: "tries before a job is parked (the nightly pipeline: 3)",
		set: intUpTo(func(c *Config) *int { return &c.JobMaxAttempts }, 1000)},
	{name: "BELONG_KEEP_RUNS", def: "7", doc: "published cluster runs whose memberships are kept",
		set: intUpTo(func(c *Config) *int { return &c.KeepRuns }, 1000)},
	{name: "BELONG_IDEMPOTENCY_TTL", def: "24h", doc: "how long an Idempotency-Key is remembered (at least 1m)",
		set: durationAtLeast(func(c *Config) *time.Duration { return &c.IdempotencyTTL }, time.Minute, "24h")},
	{name: "BELONG_FACETS", def: "language", doc: "what an oversized community is split along first, in order: language, skill, attributes.KEY (such as attributes.city); off for none",
		set: func(c *Config, v string) error {
			if strings.EqualFold(v, "off") {
				c.Facets = nil
				return nil
			}
			for _, f := range splitList(v) {
				if f != "language" && f != "skill" && (!strings.HasPrefix(f, "attributes.") || f == "attributes.") {
					return fmt.Errorf("facet %q: want language, skill or attributes.KEY", f)
				}
				c.Facets = append(c.Facets, f)
			}
			return nil
		}},
	{name: "BELONG_QUIET_HOURS", def: "21:00-08:00", doc: "when no recognition goes out, in each member's own time zone (off: never quiet)",
		set: func(c *Config, v string) error {
			var err error
			c.Policy.QuietFrom, c.Policy.QuietTo, err = moments.ParseQuietHours(v)
			return err
		}},
	{name: "BELONG_RECOGNITION_CAPS", def: "*:1/day,*:3/week", doc: "most recognitions a member is sent per local day or week, per channel (* for all; off: none)",
		set: func(c *Config, v string) error {
			var err error
			c.Policy.Caps, err = moments.ParseCaps(v)
			return err
		}},
	{name: "BELONG_ANSWER_CACHE_SIZE", def: "100000", doc: "real-time answers (communities, peers, moment; 1–3 KB each) each serve process keeps",
		set: intUpTo(func(c *Config) *int { return &c.AnswerCacheSize }, 100_000_000)},
	{name: "BELONG_ANSWER_CACHE_TTL", def: "1m", doc: "how long a real-time answer is kept unless a write voids it first (0: no cache)",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("want a duration such as 1m, or 0 to turn the cache off")
			}
			c.AnswerTTL = d
			if d == 0 {
				c.AnswerTTL = -1
			}
			return nil
		}},
}

func oneOf(field func(*Config) *string, allowed ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, a := range allowed {
			if v == a {
				*field(c) = v
				return nil
			}
		}
		return fmt.Errorf("want %s", strings.Join(allowed, ", "))
	}
}

func weight(field func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		w, err := strconv.ParseFloat(v, 64)
		if err != nil || w < 0 {
			return fmt.Errorf("want a weight ≥ 0")
		}
		*field(c) = w
		return nil
	}
}

// durationAtLeast parses a duration of at least lo into field.
func durationAtLeast(field func(*Config) *time.Duration, lo time.Duration, example string) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo {
			short := strings.TrimSuffix(strings.TrimSuffix(lo.String(), "0s"), "0m") // 1m, not 1m0s
			return fmt.Errorf("want a duration of at least %s, such as %s", short, example)
		}
		*field(c) = d
		return nil
	}
}

func intUpTo(field func(*Config) *int, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > hi {
			return fmt.Errorf("want a whole number from 1 to %d", hi)
		}
		*field(c) = n
		return nil
	}
}

// loadConfig reads every setting from the environment: its value, else its default.
func loadConfig(getenv func(string) string) (Config, error) {
	var cfg Config
	for _, s := range settings {
		v := getenv(s.name)
		if v == "" {
			v = s.def
		}
		if v == "" {
			continue
		}
		if err := s.set(&cfg, v); err != nil {
			shown := v
			if s.secret {
				shown = "(secret)"
			}
			return cfg, fmt.Errorf("%s is %q: %w", s.name, shown, err)
		}
	}
	return cfg, cfg.Validate()
}

// usageSettings prints the settings table of the usage text.
func usageSettings(w io.Writer) {
	fmt.Fprintln(w, "\nenvironment:")
	for _, s := range settings {
		def := ""
		if s.def != "" {
			def = " (default " + s.def + ")"
		}
		fmt.Fprintf(w, "  %-28s %s%s\n", s.name, s.doc, def)
	}
}
