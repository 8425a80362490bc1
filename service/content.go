package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/challenges"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/moments"
)

// DraftRequest asks for one draft for review (POST /v1/content/drafts). A
// recognition names its member; its community defaults to the member's primary one.
type DraftRequest struct {
	Kind        string `json:"kind"`
	CommunityID string `json:"community_id,omitempty"`
	Locale      string `json:"locale,omitempty"`
	MemberID    string `json:"member_id,omitempty"`
	Occasion    string `json:"occasion,omitempty"`
	Detail      string `json:"detail,omitempty"`
	// ChallengeID asks for a challenge's badge: its community, title and locale
	// come from the challenge.
	ChallengeID int64 `json:"challenge_id,omitempty,string"`
}

// DraftContentArgs drafts what a reviewer asked for.
type DraftContentArgs struct {
	DraftRequest
	Actor string `json:"actor"`
	// Once is Belong drafting on its own (a launched challenge's badge, a community's
	// first milestone badge): nothing is stored when the subject already has content
	// of the kind, occasion and locale.
	Once bool `json:"once,omitempty"`
}

// Kind implements river.JobArgs.
func (DraftContentArgs) Kind() string { return "draft_content" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (DraftContentArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueDrafting} }

// DraftOutput is what a draft_content job records when it is done.
type DraftOutput struct {
	DraftID int64 `json:"draft_id,string"`
}

var (
	errInvalidDraft = belong.New(belong.EINVALID, "invalid_draft", "the draft request is not valid")
	errNoConsent    = belong.New(belong.EUNPROCESSABLE, "no_consent", "the member has not consented to personalization: nothing may be drafted about them")
)

// resolved is a checked draft request: the generator's request, the member's other
// names (which no draft may carry) and the occasion the draft is stored under (a
// challenge badge's is its series', challenges.Challenge.BadgeOccasion).
type resolved struct {
	generation.Request
	others   []string
	occasion string
}

// resolve checks a draft request against what is stored.
func (s *Service) resolve(ctx context.Context, db database.DBTX, req DraftRequest) (resolved, error) {
	rs, err := s.resolveRequest(ctx, db, &req)
	if err != nil {
		return rs, err
	}
	if rs.occasion == "" {
		rs.occasion = rs.Occasion
	}
	return rs, nil
}

func (s *Service) resolveRequest(ctx context.Context, db database.DBTX, req *DraftRequest) (resolved, error) {
	r := generation.Request{Kind: req.Kind, Locale: req.Locale, Occasion: req.Occasion, Detail: req.Detail}
	var others []string
	var occasion string
	var v *matching.View // read once, when first needed
	if req.ChallengeID != 0 {
		if req.Kind != generation.KindBadge || req.Occasion != "" && req.Occasion != moments.OccasionChallenge || req.CommunityID != "" {
			return resolved{}, errInvalidDraft.With("challenge_id asks for a challenge's badge: kind badge, no community_id or other occasion")
		}
		ch, err := challenges.Get(ctx, db, req.ChallengeID, s.now())
		if err != nil {
			return resolved{}, err
		}
		if ch.Title == "" {
			return resolved{}, errInvalidDraft.With("the challenge's content is no longer approved")
		}
		r.Occasion, r.Detail, occasion, req.CommunityID = moments.OccasionChallenge, ch.Title, ch.BadgeOccasion(), ch.CommunityID
		if r.Locale == "" {
			r.Locale = ch.Locale
		}
	} else if req.Kind == generation.KindBadge && req.Occasion == moments.OccasionChallenge {
		return resolved{}, errInvalidDraft.With("a challenge's badge is asked for by its challenge_id")
	}
	if req.Kind == generation.KindRecognition {
		if req.MemberID == "" {
			return resolved{}, errInvalidDraft.With("a recognition needs member_id")
		}
		m, err := members.Get(ctx, db, req.MemberID)
		if err != nil {
			return resolved{}, err
		}
		if !m.Consent.Personalization {
			// Nothing about them may be written (and, with a model, nothing sent).
			return resolved{}, errNoConsent
		}
		if r.Locale == "" {
			r.Locale = recognitionLocale(m.Locale)
		}
		names := strings.Fields(m.Name)
		if len(names) == 0 {
			return resolved{}, errInvalidDraft.With("the member has no name to address them by")
		}
		r.FirstName, others = names[0], names[1:]
		if req.CommunityID == "" {
			if v, err = s.freshView(ctx); err != nil {
				return resolved{}, err
			}
			mm, err := matching.MemberCommunities(ctx, db, v, m.ID, 1)
			if err != nil {
				return resolved{}, err
			}
			if len(mm.Communities) == 0 {
				return resolved{}, errInvalidDraft.With("the member is in no community (or has not consented)")
			}
			req.CommunityID = mm.Communities[0].ID
		}
	} else if req.MemberID != "" {
		return resolved{}, errInvalidDraft.With("only a recognition is about a member")
	}
	if r.Locale == "" {
		r.Locale = "en"
	}
	if req.CommunityID == "" {
		return resolved{}, errInvalidDraft.With("community_id is required")
	}
	if v == nil {
		var err error
		if v, err = s.freshView(ctx); err != nil {
			return resolved{}, err
		}
	}
	c, mix, err := matching.Facts(ctx, db, v, req.CommunityID)
	if err != nil {
		return resolved{}, err
	}
	r.Community = generation.CommunityFacts{ID: c.ID, Name: c.Name, Labels: c.Labels, Size: c.Size, SkillMix: mix}
	if err := r.Validate(); err != nil {
		return resolved{}, errInvalidDraft.With("%s", err.Error())
	}
	return resolved{Request: r, others: others, occasion: occasion}, nil
}

// RequestDraft checks a reviewer's request and queues the job that drafts it,
// returning the job's id: the model call runs there, never on the request path.
func (s *Service) RequestDraft(ctx context.Context, req DraftRequest, actor string) (int64, error) {
	if _, err := s.resolve(ctx, s.DB, req); err != nil {
		return 0, err
	}
	var id int64
	err := database.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		res, err := s.Queue.InsertManyTx(ctx, tx, []river.InsertManyParams{{Args: DraftContentArgs{DraftRequest: req, Actor: actor}}})
		if err != nil {
			return fmt.Errorf("queue draft: %w", err)
		}
		id = res[0].Job.ID
		return nil
	})
	return id, err
}

// DraftContent drafts and stores what a reviewer asked for. The request is checked
// again: the member or community may have changed since it was queued, and then the
// job fails with the reason rather than draft about stale facts. done, when not nil,
// runs in the transaction that stores the draft: the job marks itself completed there,
// so a draft is stored exactly once even if the process dies right after the commit.
func (s *Service) DraftContent(ctx context.Context, args DraftContentArgs, done func(context.Context, pgx.Tx, generation.Draft) error) (generation.Draft, error) {
	rs, err := s.resolve(ctx, s.DB, args.DraftRequest)
	if err != nil {
		return generation.Draft{}, err
	}
	d, err := s.compose(ctx, rs.Request, args.MemberID, rs.others)
	if err != nil {
		return generation.Draft{}, err
	}
	d.Occasion = rs.occasion
	stored := true
	err = database.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		if args.Once {
			stored, err = generation.StoreOnce(ctx, tx, &d, args.Actor)
		} else {
			err = generation.Store(ctx, tx, &d, args.Actor)
		}
		if err != nil || done == nil {
			return err
		}
		return done(ctx, tx, d)
	})
	if err != nil {
		return generation.Draft{}, err
	}
	if stored {
		s.logger().InfoContext(ctx, "content drafted", slog.String("kind", d.Kind), slog.Int64("draft_id", d.ID),
			slog.String("actor", args.Actor))
	}
	return d, nil
}

// DraftJob is where a requested draft is: queued, running, retrying after an error,
// done (with its draft) or given up (with the errors).
type DraftJob struct {
	ID          int64      `json:"id,string"`
	State       string     `json:"state"`
	Attempt     int        `json:"attempt"`
	MaxAttempts int        `json:"max_attempts"`
	Errors      []string   `json:"errors"`
	DraftID     *int64     `json:"draft_id,omitempty,string"`
	CreatedAt   time.Time  `json:"created_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
}

var errJobNotFound = belong.New(belong.ENOTFOUND, "job_not_found", "no draft job has this id")

// DraftJobStatus reads a draft_content job.
func (s *Service) DraftJobStatus(ctx context.Context, id int64) (DraftJob, error) {
	j, err := s.Queue.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) || err == nil && j.Kind != (DraftContentArgs{}).Kind() {
		return DraftJob{}, errJobNotFound
	}
	if err != nil {
		return DraftJob{}, fmt.Errorf("read draft job %d: %w", id, err)
	}
	out := DraftJob{ID: j.ID, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, Errors: []string{},
		CreatedAt: j.CreatedAt, FinishedAt: j.FinalizedAt}
	for _, e := range j.Errors {
		// A cancelled job's error carries River's type name; the reason is what matters.
		out.Errors = append(out.Errors, strings.TrimPrefix(e.Error, "JobCancelError: "))
	}
	if raw := j.Output(); len(raw) > 0 {
		var o DraftOutput
		if err := json.Unmarshal(raw, &o); err != nil {
			return DraftJob{}, fmt.Errorf("read draft job %d: output: %w", id, err)
		}
		out.DraftID = &o.DraftID
	}
	return out, nil
}
