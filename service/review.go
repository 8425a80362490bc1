package service

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/changes"
	"github.com/belong-loyalty/belong/generation"
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

// Decide approves or rejects draft versions, all of them or none.
func (s *Service) Decide(ctx context.Context, ids []int64, approve bool, reason, actor string) error {
	return s.write(ctx, []string{changes.Content}, func(tx pgx.Tx) error {
		return generation.Decide(ctx, tx, ids, approve, reason, actor)
	})
}
