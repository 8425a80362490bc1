package pilots

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"github.com/sashabaranov/go-openai/jsonschema"
)

// Scorer rates the sentiment of feedback from −1 to 1.
type Scorer interface {
	Score(ctx context.Context, text string) (float64, error)
}

// Lexicon is the offline scorer: Sentiment over the en/sv/it word list.
type Lexicon struct{}

// Score implements Scorer.
func (Lexicon) Score(_ context.Context, text string) (float64, error) { return Sentiment(text), nil }

// OpenAIScorer asks an OpenAI-compatible chat model for the sentiment, as JSON, with
// a timeout; any failure falls back to the lexicon.
type OpenAIScorer struct {
	client  *openai.Client
	model   string
	timeout time.Duration
}

// NewOpenAIScorer returns a scorer for the chat completions endpoint at baseURL.
func NewOpenAIScorer(baseURL, apiKey, model string, timeout time.Duration) (*OpenAIScorer, error) {
	if baseURL == "" || model == "" {
		return nil, errors.New("openai sentiment: base URL and model are required")
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	c := openai.DefaultConfig(apiKey)
	c.BaseURL = strings.TrimSuffix(baseURL, "/")
	return &OpenAIScorer{client: openai.NewClientWithConfig(c), model: model, timeout: timeout}, nil
}

var sentimentSchema = jsonschema.Definition{Type: jsonschema.Object, AdditionalProperties: false, Required: []string{"sentiment"},
	Properties: map[string]jsonschema.Definition{"sentiment": {Type: jsonschema.Number, Description: "from -1 (negative) to 1 (positive)"}}}

// Score implements Scorer. A model that errs, times out or answers out of range is an
// error: feedback is stored with the lexicon's score first, and the job that asks the
// model retries, then leaves that score in place.
func (o *OpenAIScorer) Score(ctx context.Context, text string) (float64, error) {
	return o.ask(ctx, text)
}

func (o *OpenAIScorer) ask(ctx context.Context, text string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	schema := sentimentSchema
	resp, err := o.client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
		Model: o.model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: "Rate the sentiment of a member's feedback (English, Swedish or Italian) from -1 to 1. Answer JSON."},
			{Role: openai.ChatMessageRoleUser, Content: text},
		},
		ResponseFormat: &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: "sentiment", Schema: &schema, Strict: true}},
	})
	if err != nil {
		return 0, err
	}
	if len(resp.Choices) == 0 {
		return 0, errors.New("no choices")
	}
	var out struct {
		Sentiment *float64 `json:"sentiment"`
	}
	if err := json.Unmarshal([]byte(resp.Choices[0].Message.Content), &out); err != nil || out.Sentiment == nil {
		return 0, fmt.Errorf("malformed answer: %w", err)
	}
	if s := *out.Sentiment; s < -1 || s > 1 || math.IsNaN(s) {
		return 0, errors.New("sentiment out of range")
	}
	return math.Round(*out.Sentiment*100) / 100, nil
}
