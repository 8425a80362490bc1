package service

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/webhooks"
)

// The data of the outgoing events (the OpenAPI document's webhooks section shows them).

// MilestoneData is the data of milestone.reached.
type MilestoneData struct {
	MemberID      string    `json:"member_id"`
	RecognitionID int64     `json:"recognition_id,string"`
	Key           string    `json:"key"`
	Occasion      string    `json:"occasion"`
	Detail        string    `json:"detail"`
	OccurredAt    time.Time `json:"occurred_at"`
	// Celebrate says whether Belong will recognise it (a message is drafted): history
	// loaded in bulk is recorded, not celebrated.
	Celebrate bool `json:"celebrate"`
}

// RecognitionDueData is the data of recognition.due.
type RecognitionDueData struct {
	MemberID    string              `json:"member_id"`
	Recognition moments.Recognition `json:"recognition"`
	Content     Content             `json:"content"`
}

// ContentData is the data of content.approved and content.withdrawn.
type ContentData struct {
	ID          int64  `json:"id,string"`
	Kind        string `json:"kind"`
	CommunityID string `json:"community_id,omitempty"`
	MemberID    string `json:"member_id,omitempty"`
	Occasion    string `json:"occasion,omitempty"`
	Locale      string `json:"locale"`
	Version     int    `json:"version"`
	Reason      string `json:"reason,omitempty"`
}

// milestoneEvents are the milestone.reached events of what fired, for the members
// who consented to personalization (of the others nothing leaves Belong).
func milestoneEvents(fired []moments.Fired) []webhooks.Event {
	evs := make([]webhooks.Event, 0, len(fired))
	for _, f := range fired {
		if !f.Consent {
			continue
		}
		evs = append(evs, webhooks.Event{Type: webhooks.MilestoneReached, MemberID: f.MemberID, Data: MilestoneData{
			MemberID: f.MemberID, RecognitionID: f.ID, Key: f.Key, Occasion: f.Occasion, Detail: f.Detail,
			OccurredAt: f.OccurredAt.UTC(), Celebrate: f.Celebrate}})
	}
	return evs
}

// contentEvents are the events of drafts changing status (approved or withdrawn).
func contentEvents(typ string, ds []generation.Draft, reason string) []webhooks.Event {
	evs := make([]webhooks.Event, len(ds))
	for i, d := range ds {
		data := ContentData{ID: d.ID, Kind: d.Kind, MemberID: d.MemberID, Occasion: d.Occasion, Locale: d.Locale,
			Version: d.Version, Reason: reason}
		if d.MemberID == "" {
			data.CommunityID = d.SubjectID
		}
		evs[i] = webhooks.Event{Type: typ, MemberID: d.MemberID, Data: data}
	}
	return evs
}

// announceBatch is how many recognitions one transaction announces.
const announceBatch = 500

// AnnounceRecognitions writes recognition.due for every recognition whose message is
// approved and not yet delivered or announced, unless the member's quiet hours or
// caps (across channels) hold it: then it waits until the hold ends, and a member's
// held recognitions go out most notable first. It returns how many it announced. It
// runs as a job (queued when a message is approved, and every minute), so the
// webhook is written once per recognition, after the approval committed.
func (s *Service) AnnounceRecognitions(ctx context.Context) (int, error) {
	total := 0
	for {
		n, announced := 0, 0
		err := database.InTx(ctx, s.DB, func(tx pgx.Tx) error {
			now := s.now()
			due, err := moments.LockUnannounced(ctx, tx, announceBatch, now)
			if err != nil || len(due) == 0 {
				return err
			}
			n = len(due)
			var (
				ids, held []int64
				until     []time.Time
				evs       []webhooks.Event
				sent      = map[string][]moments.Sent{}
			)
			for _, u := range due {
				if _, ok := sent[u.MemberID]; !ok {
					sent[u.MemberID] = u.Sent
				}
				if reason, end := s.Policy.Hold(now, moments.Location(u.Timezone), "", sent[u.MemberID]); reason != "" {
					held, until = append(held, u.Recognition.ID), append(until, end)
					continue
				}
				sent[u.MemberID] = append(sent[u.MemberID], moments.Sent{At: now})
				ids = append(ids, u.Recognition.ID)
				evs = append(evs, webhooks.Event{Type: webhooks.RecognitionDue, MemberID: u.MemberID, Data: RecognitionDueData{
					MemberID: u.MemberID, Recognition: u.Recognition, Content: Served([]generation.Draft{u.Content})[0]}})
			}
			announced = len(ids)
			if err := moments.Hold(ctx, tx, held, until); err != nil {
				return err
			}
			if err := moments.MarkAnnounced(ctx, tx, ids, now); err != nil {
				return err
			}
			return s.emit(ctx, tx, evs)
		})
		total += announced
		if err != nil || n < announceBatch {
			return total, err
		}
	}
}
