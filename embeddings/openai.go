package embeddings

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// OpenAIConfig points the OpenAI embedder at any OpenAI-compatible /v1/embeddings
// endpoint (OpenAI, Azure, Ollama, vLLM, TEI).
type OpenAIConfig struct {
	// BaseURL is the API root, such as https://api.openai.com/v1.
	BaseURL string
	// APIKey is sent as a Bearer token; never logged.
	APIKey string
	// Model is the embedding model, such as text-embedding-3-small.
	Model string
	// Timeout bounds each request; 30 s when zero.
	Timeout time.Duration
	// BatchSize is how many profiles one request carries (the endpoint's input limit);
	// 128 when zero.
	BatchSize int
	// Retries after a 429 or 5xx answer; 3 when zero, none when negative. A
	// Retry-After header is honoured (up to 30 s); otherwise backoff doubles from
	// Backoff (500 ms).
	Retries int
	Backoff time.Duration
}

// OpenAI embeds profiles with an OpenAI-compatible embeddings endpoint. It asks for
// Dim dimensions (text-embedding-3-* honour "dimensions"), checks what comes back and
// re-normalizes it, so the stored vectors are unit length whatever the server.
type OpenAI struct {
	client *openai.Client
	cfg    OpenAIConfig
}

var _ Embedder = (*OpenAI)(nil)

// NewOpenAI returns an OpenAI-compatible embedder.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	if cfg.BaseURL == "" || cfg.Model == "" {
		return nil, errors.New("openai embedder: base URL and model are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 128
	}
	if cfg.Retries == 0 {
		cfg.Retries = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	c := openai.DefaultConfig(cfg.APIKey)
	c.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	c.HTTPClient = &http.Client{Transport: &retryTransport{base: http.DefaultTransport, retries: max(cfg.Retries, 0), backoff: cfg.Backoff}}
	return &OpenAI{client: openai.NewClientWithConfig(c), cfg: cfg}, nil
}

// ProfileTextVersion versions Profile.Text: a change to the text a model reads is a
// change of model, and re-embeds everyone.
const ProfileTextVersion = "text-v1"

// Model implements Embedder: the endpoint's model and the profile text's version,
// prefixed so it never collides with a local model's.
func (o *OpenAI) Model() string { return "openai:" + o.cfg.Model + ":" + ProfileTextVersion }

// Dim implements Embedder.
func (o *OpenAI) Dim() int { return Dim }

// Embed implements Embedder, one request per BatchSize profiles.
func (o *OpenAI) Embed(ctx context.Context, profiles []Profile) ([][]float32, error) {
	out := make([][]float32, 0, len(profiles))
	for lo := 0; lo < len(profiles); lo += o.cfg.BatchSize {
		hi := min(lo+o.cfg.BatchSize, len(profiles))
		texts := make([]string, hi-lo)
		for i, p := range profiles[lo:hi] {
			texts[i] = p.Text()
		}
		vecs, err := o.embedTexts(ctx, texts)
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
	}
	return out, nil
}

func (o *OpenAI) embedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	resp, err := o.client.CreateEmbeddings(ctx, openai.EmbeddingRequest{
		Input: texts, Model: openai.EmbeddingModel(o.cfg.Model), Dimensions: Dim,
	})
	if err != nil {
		return nil, fmt.Errorf("openai embeddings (%s): %w", o.cfg.Model, err)
	}
	if len(resp.Data) != len(texts) {
		return nil, fmt.Errorf("openai embeddings: %d vectors for %d inputs", len(resp.Data), len(texts))
	}
	sort.Slice(resp.Data, func(i, j int) bool { return resp.Data[i].Index < resp.Data[j].Index })
	out := make([][]float32, len(texts))
	for i, d := range resp.Data {
		if d.Index != i {
			return nil, fmt.Errorf("openai embeddings: response indexes are not 0..%d", len(texts)-1)
		}
		if len(d.Embedding) != Dim {
			return nil, fmt.Errorf("openai embeddings: model %s returned %d dimensions, want %d (does it accept \"dimensions\"?)",
				o.cfg.Model, len(d.Embedding), Dim)
		}
		v := append([]float32(nil), d.Embedding...)
		for _, f := range v {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return nil, errors.New("openai embeddings: response holds a non-finite number")
			}
		}
		Normalize(v)
		out[i] = v
	}
	return out, nil
}

// Text renders a profile as the sentence a text embedding model reads (version
// ProfileTextVersion): "Interests: a, b. Causes: c. Skill level: beginner. Recent
// activity: class completed (yoga) ×6.3, …." — what the member says, then up to eight
// activities, most frequent first. No name or contact detail is ever part of it.
func (p Profile) Text() string {
	var b strings.Builder
	if len(p.Interests) > 0 {
		b.WriteString("Interests: " + strings.Join(p.Interests, ", ") + ". ")
	}
	if len(p.Causes) > 0 {
		b.WriteString("Causes: " + strings.Join(p.Causes, ", ") + ". ")
	}
	if p.SkillLevel != "" {
		b.WriteString("Skill level: " + p.SkillLevel + ". ")
	}
	acts := append([]Activity(nil), p.Activity...)
	sort.Slice(acts, func(i, j int) bool { return acts[i].Weight > acts[j].Weight })
	if len(acts) > 0 {
		b.WriteString("Recent activity: ")
		for i, a := range acts[:min(len(acts), 8)] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strings.ReplaceAll(a.Type, "_", " "))
			if a.Category != "" {
				b.WriteString(" (" + a.Category + ")")
			}
			b.WriteString(" ×" + strconv.FormatFloat(math.Round(a.Weight*10)/10, 'f', -1, 64))
		}
		b.WriteString(".")
	}
	if b.Len() == 0 {
		return "A member who has shared nothing yet."
	}
	return strings.TrimSpace(b.String())
}

// retryTransport retries requests answered 429 or 5xx, waiting for Retry-After when
// the server gives one (capped at 30 s) and doubling backoff otherwise.
type retryTransport struct {
	base    http.RoundTripper
	retries int
	backoff time.Duration
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	wait := t.backoff
	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
		resp, err := t.base.RoundTrip(req)
		if err != nil || attempt >= t.retries || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500) {
			return resp, err
		}
		delay := wait
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			delay = min(time.Duration(s)*time.Second, 30*time.Second)
		}
		_ = resp.Body.Close() // a 429 or 5xx answer is retried; its body is not read
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
		wait *= 2
	}
}
