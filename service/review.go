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
	var d generation.Draft
	err := s.write(ctx, []string{changes.Content}, func(tx pgx.Tx) error {
		var err error
		d, err = generation.Edit(ctx, tx, id, body, s.Drafting.Guardrails, actor)
		return err
	})
	return d, err
}

// Decide approves or rejects draft versions, all of them or none. Approvals write
// content.approved, and an approved recognition is announced (recognition.due) by
// a job once this commits.
func (s *Service) Decide(ctx context.Context, ids []int64, approve bool, reason, actor string) error {
	return s.write(ctx, []string{changes.Content}, func(tx pgx.Tx) error {
		if err := generation.Decide(ctx, tx, ids, approve, reason, actor); err != nil || !approve {
			return err
		}
		ds := make([]generation.Draft, len(ids))
		recognitions := false
		for i, id := range ids {
			var err error
			if ds[i], err = generation.Get(ctx, tx, id); err != nil {
				return err
			}
			recognitions = recognitions || ds[i].Kind == generation.KindRecognition
		}
		if recognitions {
			if _, err := enqueue(ctx, s.Queue, tx, []AnnounceRecognitionsArgs{{}}); err != nil {
				return err
			}
		}
		return s.emit(ctx, tx, contentEvents(webhooks.ContentApproved, ds, ""))
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
