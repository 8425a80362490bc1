package service

import (
	"context"

	"github.com/belong-loyalty/belong/challenges"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/moments"
)

// LifecycleMix counts the primary members of a community in run by lifecycle stage
// (moments.Stages: members who consented to personalization), in the stages' order.
func (s *Service) LifecycleMix(ctx context.Context, run int64, id string) ([]StageCount, error) {
	ids, err := matching.PrimaryMembers(ctx, s.DB, run, id)
	if err != nil {
		return nil, err
	}
	stages, err := moments.Stages(ctx, s.DB, ids, s.now())
	if err != nil {
		return nil, err
	}
	n := map[string]int{}
	for _, st := range stages {
		n[st]++
	}
	out := make([]StageCount, 0, len(challenges.Stages))
	for _, st := range challenges.Stages {
		out = append(out, StageCount{Stage: st, Members: n[st]})
	}
	return out, nil
}

// StageCount is how many members are in a lifecycle stage.
type StageCount struct {
	Stage   string
	Members int
}
