package service

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/challenges"
	"github.com/belong-loyalty/belong/changes"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/webhooks"
)

// IngestMembers upserts a batch of normalized members in one transaction.
func (s *Service) IngestMembers(ctx context.Context, ms []members.Member) (members.UpsertResult, error) {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	var res members.UpsertResult
	err := s.writeFound(ctx, func(tx pgx.Tx) ([]string, error) {
		keys, err := peopleKeys(ctx, tx, ids)
		if err != nil {
			return nil, err
		}
		res, err = members.Upsert(ctx, tx, ms)
		return keys, err
	})
	return res, err
}

// EraseMember removes a member and every trace of them (members.Erase), cached
// answers included.
func (s *Service) EraseMember(ctx context.Context, id string) error {
	return s.writeFound(ctx, func(tx pgx.Tx) ([]string, error) {
		keys, err := peopleKeys(ctx, tx, []string{id})
		if err != nil {
			return nil, err
		}
		if err := webhooks.EraseMember(ctx, tx, id); err != nil {
			return nil, err
		}
		return keys, members.Erase(ctx, tx, id)
	})
}

// peopleKeys are the change keys of a change to members' profiles or consent: the
// members, the communities they are primary members of (peer answers drawn from them
// may now include or exclude them), and everyone's peer answers.
func peopleKeys(ctx context.Context, db database.DBTX, ids []string) ([]string, error) {
	cs, err := matching.PrimaryCommunitiesOf(ctx, db, ids)
	if err != nil {
		return nil, err
	}
	keys := append(memberKeys(ids), changes.Everyone)
	for _, c := range cs {
		keys = append(keys, changes.Community(c))
	}
	return keys, nil
}

// EventsResult counts what an event batch did.
type EventsResult struct {
	Inserted   int `json:"inserted"`
	Duplicates int `json:"duplicates"`
	// Milestones is how many milestones the batch fired for the first time.
	Milestones int `json:"milestones"`
	// Recognitions is how many recognition drafts were queued (at most one a member).
	Recognitions int `json:"recognitions_queued"`
}

// IngestEvents stores a batch of events and, in the same transaction, records the
// milestones they fire and queues a recognition draft for each member with one worth
// celebrating. lines are the events' line numbers for errors (nil: 1, 2, …).
func (s *Service) IngestEvents(ctx context.Context, es []members.Event, lines []int) (EventsResult, error) {
	var res EventsResult
	ids := members.MemberIDs(es)
	err := s.writeFound(ctx, func(tx pgx.Tx) ([]string, error) {
		keys := memberKeys(ids)
		ins, err := members.InsertEvents(ctx, tx, es, lines, s.now())
		if err != nil {
			return nil, err
		}
		res.Inserted, res.Duplicates = ins.Inserted, ins.Duplicates
		if ins.Inserted == 0 {
			return keys, nil // a replay: nothing new can fire
		}
		fired, err := moments.Detect(ctx, tx, s.Rules, ids, s.now())
		if err != nil {
			return nil, err
		}
		res.Milestones = len(fired)
		if err := s.emit(ctx, tx, milestoneEvents(fired)); err != nil {
			return nil, err
		}
		if err := s.queueRecognitions(ctx, tx, fired, &res.Recognitions); err != nil {
			return nil, err
		}
		// Challenge progress, from the events just stored (challenges.Track).
		out, err := challenges.Track(ctx, tx, ids, s.now())
		if err != nil {
			return nil, err
		}
		more, err := s.settle(ctx, tx, out)
		return append(keys, more...), err
	})
	if err != nil {
		return EventsResult{}, err
	}
	return res, nil
}

func (s *Service) queueRecognitions(ctx context.Context, tx pgx.Tx, fired []moments.Fired, n *int) error {
	var jobs []DraftRecognitionArgs
	for _, f := range fired {
		if f.Celebrate {
			jobs = append(jobs, DraftRecognitionArgs{MemberID: f.MemberID, Key: f.Key})
		}
	}
	queued, err := enqueue(ctx, s.Queue, tx, jobs)
	if err != nil {
		return fmt.Errorf("queue recognitions: %w", err)
	}
	*n = queued
	return nil
}

// DetectAnniversaries records the anniversaries of joining that fell in the last week,
// in each member's own time zone, and queues their recognitions. Anniversaries come
// with the calendar, not with events, so a periodic job runs this.
func (s *Service) DetectAnniversaries(ctx context.Context) (int, error) {
	now := s.now()
	ids, err := moments.AnniversaryCandidates(ctx, s.DB, now)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	queued := 0
	err = database.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		fired, err := moments.Detect(ctx, tx, moments.Rules{Anniversaries: true}, ids, now)
		if err != nil {
			return err
		}
		if err := s.emit(ctx, tx, milestoneEvents(fired)); err != nil {
			return err
		}
		return s.queueRecognitions(ctx, tx, fired, &queued)
	})
	return queued, err
}

// RefreshSignals recomputes every member's responsiveness to recognition as of now
// (moments read it rather than compute it) and returns how many changed; their
// cached answers go with it.
func (s *Service) RefreshSignals(ctx context.Context) (int, error) {
	n := 0
	err := s.writeFound(ctx, func(tx pgx.Tx) ([]string, error) {
		ids, err := moments.RefreshResponsiveness(ctx, tx, s.now())
		n = len(ids)
		return memberKeys(ids), err
	})
	return n, err
}
