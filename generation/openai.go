package generation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"github.com/sashabaranov/go-openai/jsonschema"

	"github.com/belong-loyalty/belong/members"
)

// OpenAIConfig points the OpenAI generator at any OpenAI-compatible chat completions
// endpoint (OpenAI, Azure, Ollama, vLLM).
type OpenAIConfig struct {
	BaseURL string
	APIKey  string // a secret: never logged
	Model   string
	// Timeout bounds each attempt; 20 s when zero.
	Timeout time.Duration
	// Retries after a 429 or 5xx, with exponential backoff from Backoff (500 ms).
	Retries int
	Backoff time.Duration
}

// OpenAI drafts content with a chat model, asking for JSON that fits the kind's schema.
// Drafting falls back to the template generator when it fails, and the draft says so.
type OpenAI struct {
	client *openai.Client
	cfg    OpenAIConfig
}

var _ Generator = (*OpenAI)(nil)

// NewOpenAI returns an OpenAI-compatible generator.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	if cfg.BaseURL == "" || cfg.Model == "" {
		return nil, errors.New("openai generator: base URL and model are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	c := openai.DefaultConfig(cfg.APIKey)
	c.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	return &OpenAI{client: openai.NewClientWithConfig(c), cfg: cfg}, nil
}

// Name implements Generator.
func (o *OpenAI) Name() string { return "openai:" + o.cfg.Model }

// PromptVersion implements Generator.
func (o *OpenAI) PromptVersion() string { return "openai-v1" }

// schemas are the JSON shapes each kind must come back in.
var schemas = map[string]jsonschema.Definition{
	KindCommunityProfile: object(map[string]jsonschema.Definition{"name": str(), "description": str(), "identity_line": str()}),
	KindChallenge: object(map[string]jsonschema.Definition{"title": str(), "narrative": str(),
		"steps":         {Type: jsonschema.Array, Items: &jsonschema.Definition{Type: jsonschema.String}},
		"duration_days": {Type: jsonschema.Integer}, "difficulty": str()}),
	KindRecognition:     object(map[string]jsonschema.Definition{"message": str(), "occasion": str()}),
	KindCommunityPrompt: object(map[string]jsonschema.Definition{"prompt": str()}),
	KindBadge: object(map[string]jsonschema.Definition{"name": str(), "description": str(),
		"emblem": {Type: jsonschema.String, Enum: Emblems}, "symbol": {Type: jsonschema.String, Enum: Symbols}}),
}

func str() jsonschema.Definition { return jsonschema.Definition{Type: jsonschema.String} }

func object(props map[string]jsonschema.Definition) jsonschema.Definition {
	req := make([]string, 0, len(props))
	for k := range props {
		req = append(req, k)
	}
	return jsonschema.Definition{Type: jsonschema.Object, Properties: props, Required: req, AdditionalProperties: false}
}

const systemPrompt = `You write short copy for a brand's member communities. Celebrate belonging, effort and ` +
	`each other; never mention points, discounts, prices, offers or gifts. Address a member by first name only. ` +
	`Answer with JSON that matches the schema, in the requested language.`

// Generate implements Generator.
func (o *OpenAI) Generate(ctx context.Context, r Request) (Body, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	schema := schemas[r.Kind]
	level, days, steps := Difficulty(r.Community.SkillMix)
	facts, _ := json.Marshal(map[string]any{
		"kind": r.Kind, "language": members.Language(r.Locale), "community": r.Community.Name, "labels": r.Community.Labels, "facets": r.Community.Facets,
		"members": r.Community.Size, "difficulty": level, "duration_days": days, "steps": steps,
		"first_name": r.FirstName, "occasion": r.Occasion, "detail": r.Detail,
	})
	sys := systemPrompt
	if r.Voice != "" {
		sys += "\n\nBrand voice:\n" + r.Voice
	}
	if r.Tone != "" {
		sys += "\n\nTone: " + r.Tone
	}
	req := openai.ChatCompletionRequest{
		Model: o.cfg.Model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: sys},
			{Role: openai.ChatMessageRoleUser, Content: "Write a " + r.Kind + " for: " + string(facts)},
		},
		ResponseFormat: &openai.ChatCompletionResponseFormat{
			Type:       openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: r.Kind, Schema: &schema, Strict: true},
		},
	}
	var lastErr error
	for attempt := 0; attempt <= o.cfg.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(o.cfg.Backoff << (attempt - 1)):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		body, err := o.once(ctx, req, r.Kind)
		if err == nil {
			return body, nil
		}
		lastErr = err
		var apiErr *openai.APIError
		var reqErr *openai.RequestError
		retry := errors.As(err, &apiErr) && (apiErr.HTTPStatusCode == http.StatusTooManyRequests || apiErr.HTTPStatusCode >= 500) ||
			errors.As(err, &reqErr) && (reqErr.HTTPStatusCode == http.StatusTooManyRequests || reqErr.HTTPStatusCode >= 500)
		if !retry {
			break
		}
	}
	return nil, fmt.Errorf("openai generator (%s): %w", o.cfg.Model, lastErr)
}

func (o *OpenAI) once(ctx context.Context, req openai.ChatCompletionRequest, kind string) (Body, error) {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	resp, err := o.client.CreateChatCompletion(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(resp.Choices) == 0 {
		return nil, errors.New("no choices in the answer")
	}
	var body Body
	if err := json.Unmarshal([]byte(resp.Choices[0].Message.Content), &body); err != nil {
		return nil, fmt.Errorf("the answer is not JSON: %w", err)
	}
	for field := range schemas[kind].Properties {
		if _, ok := body[field]; !ok {
			return nil, fmt.Errorf("the answer lacks %q", field)
		}
	}
	if steps, ok := body["steps"].([]any); ok {
		list := make([]string, 0, len(steps))
		for _, s := range steps {
			if t, ok := s.(string); ok {
				list = append(list, t)
			}
		}
		body["steps"] = list
	}
	return body, nil
}
