package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/belong-loyalty/belong/challenges"
	"github.com/belong-loyalty/belong/database"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/changes"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/moments"
)

// Moment is everything a journey platform needs for one message to one member.
type Moment struct {
	MemberID   string               `json:"member_id"`
	Stage      string               `json:"stage"`
	NextAction Action               `json:"next_action"`
	Signals    moments.Signals      `json:"signals"`
	Community  *matching.Match      `json:"community"`
	Content    *Content             `json:"content"`
	Due        *moments.Recognition `json:"recognition,omitempty"`
	// Challenge is the member's most relevant active challenge (the one they are
	// closest to finishing), with their progress.
	Challenge *challenges.Participation `json:"challenge,omitempty"`
	// Held is a due recognition that may not go out now, and why.
	Held *Held `json:"held,omitempty"`
	// Reason says why there is no recognition: nothing_due, held_quiet_hours, capped
	// or no_consent; CommunityReason why there is no community: no_consent, no_run
	// or not_embedded_yet.
	Reason          string `json:"reason,omitempty"`
	CommunityReason string `json:"community_reason,omitempty"`
}

// Why a moment has no recognition (besides the hold reasons of moments).
const (
	ReasonNothingDue = "nothing_due"
)

// MomentQuery asks for a member's moment on a channel at now; Zone, when set, is the
// member's time zone at the moment (else their profile's).
type MomentQuery struct {
	MemberID, Channel string
	Now               time.Time
	Zone              *time.Location
	// Reader is where the member's state is read (a read replica); the primary when
	// nil.
	Reader database.DBTX
}

// Held says why a due recognition waits and until when.
type Held struct {
	RecognitionID int64 `json:"recognition_id,string"`
	// Reason is held_quiet_hours (the member's own clock) or capped (enough was sent
	// this day or week).
	Reason string    `json:"reason"`
	Until  time.Time `json:"until"`
}

// Action is the next best action and why.
type Action struct {
	Action string `json:"action"`
	Reason string `json:"reason"`
}

// Content is approved content as members may see it: no review metadata. Every kind
// has title, text and cta (generation.Flat) beside its own fields in body, so a
// message template needs no branching on the kind.
type Content struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	CommunityID string `json:"community_id"`
	Occasion    string `json:"occasion,omitempty"`
	Locale      string `json:"locale"`
	Version     int    `json:"version"`
	generation.Flat
	Body generation.Body `json:"body"`
}

// Served strips drafts to what members may see.
func Served(ds []generation.Draft) []Content {
	out := make([]Content, len(ds))
	for i, d := range ds {
		out[i] = Content{ID: strconv.FormatInt(d.ID, 10), Kind: d.Kind, CommunityID: d.SubjectID, Occasion: d.Occasion,
			Locale: d.Locale, Version: d.Version, Flat: generation.Flatten(d.Kind, d.Locale, d.Body), Body: d.Body}
	}
	return out
}

// Moment answers what to do for a member now (their local time, for stage and
// streaks): their stage, the next best action and why, their primary community, and
// the approved content to show — a due recognition, else a challenge for their
// community. It changes nothing: a due recognition stays due, and every read
// answers the same, until its delivery is recorded (DeliverRecognition). A due
// recognition that may not go out on channel now (quiet hours, caps) is held: the
// answer says why and until when, and shows what it would without it.
func (s *Service) Moment(ctx context.Context, q MomentQuery) (Moment, error) {
	memberID, now := q.MemberID, q.Now
	// Before the first cluster run a moment has no community, but the rest stands.
	v, err := s.View(ctx)
	noRun := errors.Is(err, matching.ErrNoRun)
	if noRun {
		v, err = &matching.View{}, nil
	}
	if err != nil {
		return Moment{}, err
	}
	var db database.DBTX = s.DB
	if q.Reader != nil {
		db = q.Reader
	}
	snap, err := moments.Read(ctx, db, v.ID, memberID, now)
	if err != nil {
		return Moment{}, err
	}
	out := Moment{MemberID: memberID, Reason: ReasonNothingDue}
	if !snap.Consent {
		out.NextAction = Action{moments.ActionNone, "no personalization consent"}
		out.Reason, out.CommunityReason = matching.ReasonNoConsent, matching.ReasonNoConsent
		return out, nil
	}
	if snap.Due != nil {
		zone := q.Zone
		if zone == nil {
			zone = moments.Location(snap.Timezone)
		}
		if reason, until := s.Policy.Hold(now, zone, q.Channel, snap.Sent); reason != "" {
			out.Held = &Held{RecognitionID: snap.Due.ID, Reason: reason, Until: until}
			out.Reason, snap.Due = reason, nil
		}
	}
	ps, err := challenges.ForMember(ctx, db, memberID, false, now)
	if err != nil {
		return Moment{}, err
	}
	out.Challenge = challenges.MostRelevant(ps)
	dueText := ""
	if snap.Due != nil {
		dueText = snap.Due.Occasion + ", " + snap.Due.Detail
	}
	as := moments.Assess(now, snap.JoinedAt, snap.Activity, dueText)
	out.Stage, out.Signals = as.Stage, as.Signals
	out.NextAction = Action{as.Action, as.Reason}
	switch {
	case snap.CommunityID != "":
		m, ok := v.Primary(snap.CommunityID, snap.CommunityScore, snap.Terms)
		if !ok {
			return Moment{}, fmt.Errorf("moment: community %s is not in run %d", snap.CommunityID, v.ID)
		}
		ms := []matching.Match{m}
		if err := s.NameCommunities(ctx, ms, snap.Locale); err != nil {
			return Moment{}, err
		}
		out.Community = &ms[0]
	case noRun:
		out.CommunityReason = ReasonNoRun
	default:
		out.CommunityReason = matching.ReasonNotEmbeddedYet
	}
	switch {
	case snap.Due != nil:
		out.Reason = ""
		out.Due, out.Content = snap.Due, &Served([]generation.Draft{*snap.DueMessage})[0]
	case snap.Challenge != nil:
		out.Content = &Served([]generation.Draft{*snap.Challenge})[0]
	}
	return out, nil
}

// DeliverRecognition records that a recognition was delivered on a channel, so that
// the member's next moment moves on; delivered is false when it had been recorded
// before (the first delivery is kept, so a retried acknowledgement changes nothing).
func (s *Service) DeliverRecognition(ctx context.Context, id int64, channel string) (r moments.Recognition, delivered bool, err error) {
	err = s.writeFound(ctx, func(tx pgx.Tx) ([]string, error) {
		var member string
		r, member, delivered, err = moments.Deliver(ctx, tx, id, channel, s.now())
		if err != nil || !delivered {
			return nil, err
		}
		return []string{changes.Member(member)}, nil
	})
	return r, delivered, err
}

// Recognitions lists a member's milestones, newest first.
func (s *Service) Recognitions(ctx context.Context, memberID string) ([]moments.Recognition, error) {
	if _, err := members.Get(ctx, s.DB, memberID); err != nil {
		return nil, err
	}
	return moments.List(ctx, s.DB, memberID)
}

// CommunityContent is a community's approved content, optionally of one kind and
// locale.
func (s *Service) CommunityContent(ctx context.Context, communityID, kind, locale string) ([]Content, error) {
	v, err := s.View(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := matching.GetCommunity(v, communityID); err != nil {
		return nil, err
	}
	ds, err := generation.Approved(ctx, s.DB, communityID, "", kind, locale)
	if err != nil {
		return nil, err
	}
	return Served(ds), nil
}

// MemberContent is the approved content about a member: none without their
// personalization consent, and then reason says so (no_consent).
func (s *Service) MemberContent(ctx context.Context, memberID, kind, locale string) (cs []Content, reason string, err error) {
	m, err := members.Get(ctx, s.DB, memberID)
	if err != nil {
		return nil, "", err
	}
	if !m.Consent.Personalization {
		return []Content{}, matching.ReasonNoConsent, nil
	}
	ds, err := generation.Approved(ctx, s.DB, "", memberID, kind, locale)
	if err != nil {
		return nil, "", err
	}
	return Served(ds), "", nil
}
