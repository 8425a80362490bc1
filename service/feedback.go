package service

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/pilots"
)

// ScoreFeedbackArgs scores one feedback's sentiment with the configured model.
type ScoreFeedbackArgs struct {
	FeedbackID int64 `json:"feedback_id"`
}

// Kind implements river.JobArgs.
func (ScoreFeedbackArgs) Kind() string { return "score_feedback" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ScoreFeedbackArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueDrafting, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// AddFeedback stores feedback scored at once by the offline lexicon and, when a
// sentiment model is configured, queues the job that scores it with the model in the
// same transaction: the request never waits on a model.
func (s *Service) AddFeedback(ctx context.Context, f pilots.Feedback) (pilots.Feedback, error) {
	var out pilots.Feedback
	err := database.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		var err error
		if out, err = pilots.AddFeedback(ctx, tx, pilots.Lexicon{}, f); err != nil {
			return err
		}
		if s.Sentiment == nil {
			return nil
		}
		if _, err := enqueue(ctx, s.Queue, tx, []ScoreFeedbackArgs{{FeedbackID: out.ID}}); err != nil {
			return fmt.Errorf("queue sentiment: %w", err)
		}
		return nil
	})
	return out, err
}

// ScoreFeedback scores a stored feedback with the sentiment model (which falls back
// to the lexicon when the model fails). Erased feedback is skipped.
func (s *Service) ScoreFeedback(ctx context.Context, id int64) error {
	if s.Sentiment == nil {
		return nil
	}
	_, err := pilots.Rescore(ctx, s.DB, s.Sentiment, id)
	return err
}

// Pilot use cases: thin, so handlers and the console share them.

// CreatePilot draws a pilot's cohort; see pilots.Create.
func (s *Service) CreatePilot(ctx context.Context, name string, size int, target pilots.Target, seed int64) (pilots.Pilot, error) {
	return pilots.Create(ctx, s.DB, name, size, target, seed)
}

// Pilot returns a pilot with its invitations.
func (s *Service) Pilot(ctx context.Context, id int64) (pilots.Pilot, error) {
	return pilots.Get(ctx, s.DB, id)
}

// ClosePilot closes a pilot, freeing its members for others.
func (s *Service) ClosePilot(ctx context.Context, id int64) error { return pilots.Close(ctx, s.DB, id) }

// PilotFeedback sums up a pilot's feedback.
func (s *Service) PilotFeedback(ctx context.Context, id int64) (pilots.Summary, error) {
	if _, err := pilots.Get(ctx, s.DB, id); err != nil {
		return pilots.Summary{}, err
	}
	return pilots.Summarize(ctx, s.DB, id, "")
}

// CommunityFeedback sums up the feedback of a community's members; an unknown
// community is not found (not an empty summary).
func (s *Service) CommunityFeedback(ctx context.Context, communityID string) (pilots.Summary, error) {
	v, err := s.View(ctx)
	if err != nil {
		return pilots.Summary{}, err
	}
	if _, err := matching.GetCommunity(v, communityID); err != nil {
		return pilots.Summary{}, err
	}
	return pilots.Summarize(ctx, s.DB, 0, communityID)
}
