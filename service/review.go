package service

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/changes"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/webhooks"
)

// Review is one draft version with its group's audit trail.
type Review struct {
	Draft   generation.Draft    `json:"draft"`
	History []generation.Review `json:"history"`
}

// ReviewQueue lists the latest version of each draft group, newest first.
func (s *Service) ReviewQueue(ctx context.Context, f generation.Filter) ([]generation.Draft, error) {
	return generation.Queue(ctx, s.DB, f)
}

// QueueCounts counts the review queue by kind, status and locale (generation.Counts).
func (s *Service) QueueCounts(ctx context.Context, f generation.Filter) ([]generation.Count, error) {
	return generation.Counts(ctx, s.DB, f)
}

// DraftForReview returns a draft version and its audit trail.
func (s *Service) DraftForReview(ctx context.Context, id int64) (Review, error) {
	d, err := generation.Get(ctx, s.DB, id)
	if err != nil {
		return Review{}, err
	}
	hist, err := generation.History(ctx, s.DB, d.GroupID)
	if err != nil {
		return Review{}, err
	}
	return Review{Draft: d, History: hist}, nil
}

// EditDraft stores a reviewer's edit as a new version awaiting review, with the
// guardrails run again.
func (s *Service) EditDraft(ctx context.Context, id int64, body generation.Body, actor string) (generation.Draft, error) {
	b, err := s.Brand(ctx)
	if err != nil {
		return generation.Draft{}, err
	}
	var d generation.Draft
	err = s.write(ctx, []string{changes.Content}, func(tx pgx.Tx) error {
		var err error
		d, err = generation.Edit(ctx, tx, id, body, b.Guardrails(), actor)
		return err
	})
	return d, err
}

// Brand returns the brand settings in force: the newest saved, else the environment's.
func (s *Service) Brand(ctx context.Context) (generation.Brand, error) {
	return generation.CurrentBrand(ctx, s.DB, s.Drafting.Brand)
}

// SaveBrand stores new brand settings as the newest version: drafts and edits from
// now on are checked against them, and a model writes in their voice and tone.
func (s *Service) SaveBrand(ctx context.Context, b generation.Brand, actor string) (generation.Brand, error) {
	return generation.SaveBrand(ctx, s.DB, b, actor)
}

// BrandHistory lists the saved brand settings, newest first.
func (s *Service) BrandHistory(ctx context.Context, limit int) ([]generation.Brand, error) {
	return generation.BrandHistory(ctx, s.DB, limit)
}

// compose drafts with the brand settings in force (generation.Drafting.Compose).
func (s *Service) compose(ctx context.Context, r generation.Request, memberID string, others []string) (generation.Draft, error) {
	dr := s.Drafting
	var err error
	if dr.Brand, err = s.Brand(ctx); err != nil {
		return generation.Draft{}, err
	}
	return dr.Compose(ctx, r, memberID, others)
}

// Decide approves or rejects draft versions, all of them or none (generation.Decide:
// blocking findings need an override). Approvals write content.approved, what they
// supersede content.withdrawn, and an approved recognition is announced
// (recognition.due) by a job once this commits.
func (s *Service) Decide(ctx context.Context, ids []int64, dec generation.Decision) error {
	return s.write(ctx, []string{changes.Content}, func(tx pgx.Tx) error {
		out, err := generation.Decide(ctx, tx, ids, dec)
		if err != nil || !dec.Approve {
			return err
		}
		for _, d := range out.Drafts {
			if d.Kind == generation.KindRecognition {
				if _, err := enqueue(ctx, s.Queue, tx, []AnnounceRecognitionsArgs{{}}); err != nil {
					return err
				}
				break
			}
		}
		evs := contentEvents(webhooks.ContentApproved, out.Drafts, "")
		for _, d := range out.Superseded {
			evs = append(evs, contentEvents(webhooks.ContentWithdrawn, []generation.Draft{d}, d.Reason)...)
		}
		return s.emit(ctx, tx, evs)
	})
}

// Withdraw takes approved content out of service (it is no longer served) and
// writes content.withdrawn.
func (s *Service) Withdraw(ctx context.Context, id int64, reason, actor string) (generation.Draft, error) {
	var d generation.Draft
	err := s.write(ctx, []string{changes.Content}, func(tx pgx.Tx) error {
		var err error
		if d, err = generation.Withdraw(ctx, tx, id, reason, actor); err != nil {
			return err
		}
		return s.emit(ctx, tx, contentEvents(webhooks.ContentWithdrawn, []generation.Draft{d}, reason))
	})
	return d, err
}
