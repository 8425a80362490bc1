package embeddings

import (
	"context"
	"errors"
	"fmt"
	"math"
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
	// BatchSize is how many profiles one request carries; 128 when zero.
	BatchSize int
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
	c := openai.DefaultConfig(cfg.APIKey)
	c.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	return &OpenAI{client: openai.NewClientWithConfig(c), cfg: cfg}, nil
}

// Model implements Embedder: the model name, prefixed so it never collides with a
// local model's.
func (o *OpenAI) Model() string { return "openai:" + o.cfg.Model }

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

// Text renders a profile as the sentence a text embedding model reads: what the
// member says, then what they have been doing most.
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
