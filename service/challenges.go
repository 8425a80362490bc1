package service

import (
	"cmp"
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/challenges"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/storage"
	"github.com/belong-loyalty/belong/webhooks"
)

// The data of the challenge events.

// ChallengeJoinedData is the data of challenge.joined.
type ChallengeJoinedData struct {
	ChallengeID int64   `json:"challenge_id,string"`
	MemberID    string  `json:"member_id"`
	Goal        float64 `json:"goal"`
}

// ChallengeProgressedData is the data of challenge.progressed: a member crossed a
// threshold of their goal, or (member_id empty) a group crossed one of its goal.
type ChallengeProgressedData struct {
	ChallengeID int64   `json:"challenge_id,string"`
	MemberID    string  `json:"member_id,omitempty"`
	Threshold   int     `json:"threshold"`
	Progress    float64 `json:"progress"`
	Goal        float64 `json:"goal"`
}

// ChallengeCompletedData is the data of challenge.completed, one per participant.
type ChallengeCompletedData struct {
	ChallengeID int64     `json:"challenge_id,string"`
	MemberID    string    `json:"member_id"`
	Group       bool      `json:"group"`
	CompletedAt time.Time `json:"completed_at"`
}

// LaunchChallenge launches a challenge (challenges.Launch) and, with automatic
// enrolment, enrols its target; it returns the challenge as launched.
func (s *Service) LaunchChallenge(ctx context.Context, d challenges.Definition, by string) (challenges.Challenge, error) {
	var id int64
	err := s.writeFound(ctx, func(tx pgx.Tx) ([]string, error) {
		var out challenges.Outcome
		var err error
		if id, out, err = challenges.Launch(ctx, tx, d, by, s.now()); err != nil {
			return nil, err
		}
		// Its badge is drafted after commit, for review like any content.
		badge := DraftContentArgs{DraftRequest: DraftRequest{Kind: generation.KindBadge, ChallengeID: id}, Actor: "generator", Once: true}
		if _, err := enqueue(ctx, s.Queue, tx, []DraftContentArgs{badge}); err != nil {
			return nil, err
		}
		return s.settle(ctx, tx, out)
	})
	if err != nil {
		return challenges.Challenge{}, err
	}
	return challenges.Get(ctx, s.DB, id, s.now())
}

// JoinChallenge enrols a member in a challenge (challenges.Join) and returns their
// participation.
func (s *Service) JoinChallenge(ctx context.Context, id int64, memberID string) (challenges.Participation, bool, error) {
	joined := false
	err := s.writeFound(ctx, func(tx pgx.Tx) ([]string, error) {
		out, err := challenges.Join(ctx, tx, id, memberID, s.now())
		if err != nil {
			return nil, err
		}
		joined = len(out.Joined) > 0
		return s.settle(ctx, tx, out)
	})
	if err != nil {
		return challenges.Participation{}, false, err
	}
	ps, err := challenges.ForMember(ctx, s.DB, memberID, true, s.now())
	if err != nil {
		return challenges.Participation{}, false, err
	}
	for _, p := range ps {
		if p.Challenge.ID == id {
			return p, joined, nil
		}
	}
	return challenges.Participation{}, false, challenges.ErrNotJoined
}

// LeaveChallenge takes a member out of a challenge.
func (s *Service) LeaveChallenge(ctx context.Context, id int64, memberID string) error {
	return s.write(ctx, memberKeys([]string{memberID}), func(tx pgx.Tx) error {
		return challenges.Leave(ctx, tx, id, memberID, s.now())
	})
}

// EndChallenge ends a challenge early.
func (s *Service) EndChallenge(ctx context.Context, id int64) error {
	return s.writeFound(ctx, func(tx pgx.Tx) ([]string, error) {
		if err := challenges.End(ctx, tx, id, s.now()); err != nil {
			return nil, err
		}
		ps, err := storage.New(tx).ChallengeMembers(ctx, id)
		ids := make([]string, len(ps))
		for i, p := range ps {
			ids[i] = p.MemberID
		}
		return memberKeys(ids), err
	})
}

// Challenge reads one challenge with its leaderboard (limit entries).
func (s *Service) Challenge(ctx context.Context, id int64, limit int) (challenges.Challenge, []challenges.Entry, error) {
	c, err := challenges.Get(ctx, s.DB, id, s.now())
	if err != nil {
		return c, nil, err
	}
	board, err := challenges.Leaderboard(ctx, s.DB, c, limit)
	return c, board, err
}

// Challenges lists challenges newest first (challenges.List).
func (s *Service) Challenges(ctx context.Context, f challenges.ListFilter) ([]challenges.Challenge, error) {
	return challenges.List(ctx, s.DB, f, s.now())
}

// MemberChallenges lists a member's challenges (all: not only the active ones).
func (s *Service) MemberChallenges(ctx context.Context, memberID string, all bool) ([]challenges.Participation, error) {
	ps, err := storage.New(s.DB).ParticipantProfiles(ctx, []string{memberID})
	if err != nil {
		return nil, storage.Translate(err, nil)
	}
	if len(ps) == 0 {
		return nil, members.ErrNotFound
	}
	return challenges.ForMember(ctx, s.DB, memberID, all, s.now())
}

// MemberBadges lists the badges a member earned (moments.Badges) in locale, by
// default the member's language where badges are written in it, else English. A
// member who has not consented to personalization is shown none (consent false).
func (s *Service) MemberBadges(ctx context.Context, memberID, locale string) (awards []moments.Award, consent bool, err error) {
	m, err := members.Get(ctx, s.DB, memberID)
	if err != nil {
		return nil, false, err
	}
	if !m.Consent.Personalization {
		return []moments.Award{}, false, nil
	}
	awards, err = moments.Badges(ctx, s.DB, memberID, cmp.Or(locale, recognitionLocale(m.Locale)))
	return awards, true, err
}

// MaintainChallenges starts the next instance of recurring challenges whose window
// ended and enrols new target members in automatic ones; a periodic job runs it.
func (s *Service) MaintainChallenges(ctx context.Context) (rolled, enrolled int, err error) {
	due, err := challenges.DueToRoll(ctx, s.DB, s.now())
	if err != nil {
		return 0, 0, err
	}
	for _, id := range due {
		err := s.writeFound(ctx, func(tx pgx.Tx) ([]string, error) {
			next, out, err := challenges.Roll(ctx, tx, id, s.now())
			if err != nil {
				return nil, err
			}
			if next != 0 {
				rolled++
			}
			return s.settle(ctx, tx, out)
		})
		if err != nil {
			return rolled, enrolled, err
		}
	}
	auto, err := challenges.ActiveAuto(ctx, s.DB, s.now())
	if err != nil {
		return rolled, 0, err
	}
	for _, id := range auto {
		err := s.writeFound(ctx, func(tx pgx.Tx) ([]string, error) {
			out, err := challenges.Enrol(ctx, tx, id, nil, s.now())
			enrolled += len(out.Joined)
			if err != nil {
				return nil, err
			}
			return s.settle(ctx, tx, out)
		})
		if err != nil {
			return rolled, enrolled, err
		}
	}
	return rolled, enrolled, nil
}

// settle turns what a write did to challenges into its consequences, in the same
// transaction: challenge.joined, challenge.progressed and challenge.completed for
// members who consented to personalization (a group's progress for everyone), a
// milestone for each completion, which flows into recognition drafting like any
// other, and the change keys of the members concerned.
func (s *Service) settle(ctx context.Context, tx pgx.Tx, out challenges.Outcome) ([]string, error) {
	var (
		evs  []webhooks.Event
		ids  []string
		seen = map[string]bool{}
	)
	touch := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, j := range out.Joined {
		touch(j.MemberID)
		if j.Consent {
			evs = append(evs, webhooks.Event{Type: webhooks.ChallengeJoined, MemberID: j.MemberID,
				Data: ChallengeJoinedData{ChallengeID: j.ChallengeID, MemberID: j.MemberID, Goal: j.Goal}})
		}
	}
	for _, p := range out.Progressed {
		touch(p.MemberID)
		if p.MemberID == "" || p.Consent {
			evs = append(evs, webhooks.Event{Type: webhooks.ChallengeProgressed, MemberID: p.MemberID,
				Data: ChallengeProgressedData{ChallengeID: p.ChallengeID, MemberID: p.MemberID, Threshold: p.Threshold,
					Progress: p.Progress, Goal: p.Goal}})
		}
	}
	titles := map[int64]string{}
	var firings []moments.Fired
	for _, c := range out.Completed {
		touch(c.MemberID)
		if c.Consent {
			evs = append(evs, webhooks.Event{Type: webhooks.ChallengeCompleted, MemberID: c.MemberID,
				Data: ChallengeCompletedData{ChallengeID: c.ChallengeID, MemberID: c.MemberID, Group: c.Group, CompletedAt: c.At.UTC()}})
		}
		title, ok := titles[c.ChallengeID]
		if !ok {
			ch, err := challenges.Get(ctx, tx, c.ChallengeID, s.now())
			if err != nil {
				return nil, err
			}
			title = ch.Title
			titles[c.ChallengeID] = title
		}
		firings = append(firings, moments.Fired{MemberID: c.MemberID, Firing: moments.Firing{
			Key: challenges.Key(c.ChallengeID), Occasion: moments.OccasionChallenge, Detail: title, OccurredAt: c.At}})
	}
	fired, err := moments.Record(ctx, tx, firings, s.now())
	if err != nil {
		return nil, err
	}
	evs = append(evs, milestoneEvents(fired)...)
	if err := s.emit(ctx, tx, evs); err != nil {
		return nil, err
	}
	var n int
	if err := s.queueRecognitions(ctx, tx, fired, &n); err != nil {
		return nil, err
	}
	return memberKeys(ids), nil
}
