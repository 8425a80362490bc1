package pilots

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/storage"
)

// Errors of pilots and feedback.
var (
	ErrNotFound     = belong.New(belong.ENOTFOUND, "pilot_not_found", "pilot not found")
	ErrClosed       = belong.New(belong.ECONFLICT, "pilot_closed", "the pilot is closed")
	ErrNoCandidates = belong.New(belong.EUNPROCESSABLE, "no_candidates", "no consenting member in the target is free to invite")
	ErrNotInvited   = belong.New(belong.EUNPROCESSABLE, "not_invited", "the member was not invited to this pilot")
)

// Target says whom a pilot draws from: communities or tribes of the current run
// (strata are communities), or lifecycle stages (strata are stages).
type Target struct {
	Communities []string `json:"communities,omitempty"`
	Tribes      []string `json:"tribes,omitempty"`
	Stages      []string `json:"stages,omitempty"`
}

// Pilot is a cohort of invited members.
type Pilot struct {
	ID          int64        `json:"id,string"`
	Name        string       `json:"name"`
	Size        int          `json:"size"`
	Target      Target       `json:"target"`
	Seed        int64        `json:"seed"`
	Status      string       `json:"status"`
	CreatedAt   time.Time    `json:"created_at"`
	ClosedAt    *time.Time   `json:"closed_at,omitempty"`
	Invitations []Invitation `json:"invitations,omitempty"`
}

// Invitation is one invited member and the stratum (community) they were drawn from.
type Invitation struct {
	MemberID string `json:"member_id"`
	Stratum  string `json:"stratum"`
}

// Create draws the pilot's sample and stores it with its invitations, in one
// transaction. Candidates consent to personalization and community features, belong
// (primary community, current run) to a targeted community or a community of a
// targeted tribe, and are in no active pilot.
func Create(ctx context.Context, db database.DBTX, name string, size int, t Target, seed int64) (Pilot, error) {
	var stages map[string]string
	if len(t.Stages) > 0 {
		var err error
		if stages, err = moments.Stages(ctx, db, nil, time.Now()); err != nil {
			return Pilot{}, err
		}
	}
	p := Pilot{Name: name, Size: size, Target: t, Seed: seed, Status: "active"}
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		q := storage.New(tx)
		// Serialize pilot creation so two pilots never invite the same member.
		if err := q.LockPilotInvitations(ctx); err != nil {
			return err
		}
		rows, err := q.PilotCandidates(ctx, storage.PilotCandidatesParams{Communities: nonNil(t.Communities),
			Tribes: nonNil(t.Tribes), AnyCommunity: len(t.Stages) > 0})
		if err != nil {
			return fmt.Errorf("pilot candidates: %w", err)
		}
		cands := make([]Candidate, 0, len(rows))
		for _, r := range rows {
			cands = append(cands, Candidate{MemberID: r.MemberID, Stratum: r.CommunityID})
		}
		if len(t.Stages) > 0 {
			// Stage targets: keep members in a targeted stage; the stage is the stratum.
			kept := cands[:0]
			for _, c := range cands {
				if st := stages[c.MemberID]; slices.Contains(t.Stages, st) {
					kept = append(kept, Candidate{MemberID: c.MemberID, Stratum: st})
				}
			}
			cands = kept
		}
		if len(cands) == 0 {
			return ErrNoCandidates
		}
		sort.Slice(cands, func(i, j int) bool { return cands[i].MemberID < cands[j].MemberID })
		sample := Sample(cands, size, uint64(seed))
		target, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("create pilot: %w", err)
		}
		size32, err := int4("size", size)
		if err != nil {
			return fmt.Errorf("create pilot: %w", err)
		}
		row, err := q.CreatePilot(ctx, storage.CreatePilotParams{Name: name, Size: size32, Target: target, Seed: seed})
		if err != nil {
			return fmt.Errorf("create pilot: %w", err)
		}
		p.ID, p.CreatedAt = row.ID, row.CreatedAt
		invs := make([]storage.CreatePilotInvitationsParams, len(sample))
		for i, c := range sample {
			invs[i] = storage.CreatePilotInvitationsParams{PilotID: p.ID, MemberID: c.MemberID, Stratum: c.Stratum}
			p.Invitations = append(p.Invitations, Invitation(c))
		}
		_, err = q.CreatePilotInvitations(ctx, invs)
		return err
	})
	if err != nil {
		return Pilot{}, err
	}
	return p, nil
}

// int4 converts n for an integer column, refusing what the column cannot hold (as
// pgx would) rather than wrapping it.
func int4(name string, n int) (int32, error) {
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, fmt.Errorf("%s %d is out of range", name, n)
	}
	return int32(n), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Get returns a pilot with its invitations.
func Get(ctx context.Context, db database.DBTX, id int64) (Pilot, error) {
	q := storage.New(db)
	row, err := q.GetPilot(ctx, id)
	if err != nil {
		return Pilot{}, fmt.Errorf("get pilot: %w", storage.Translate(err, ErrNotFound))
	}
	p, err := pilotOf(row.ID, row.Name, row.Size, row.Target, row.Seed, row.Status, row.CreatedAt, row.ClosedAt)
	if err != nil {
		return p, fmt.Errorf("get pilot: %w", err)
	}
	rows, err := q.PilotInvitations(ctx, id)
	if err != nil {
		return p, fmt.Errorf("get pilot: %w", err)
	}
	p.Invitations = make([]Invitation, 0, len(rows))
	for _, r := range rows {
		p.Invitations = append(p.Invitations, Invitation{MemberID: r.MemberID, Stratum: r.Stratum})
	}
	return p, nil
}

// pilotOf maps a stored pilot's columns to a Pilot.
func pilotOf(id int64, name string, size int32, target json.RawMessage, seed int64, status string,
	createdAt time.Time, closedAt *time.Time,
) (Pilot, error) {
	p := Pilot{ID: id, Name: name, Size: int(size), Seed: seed, Status: status, CreatedAt: createdAt, ClosedAt: closedAt}
	if target != nil {
		if err := json.Unmarshal(target, &p.Target); err != nil {
			return p, fmt.Errorf("pilot %d target: %w", id, err)
		}
	}
	return p, nil
}

// Close closes a pilot; its members become free for the next one.
func Close(ctx context.Context, db database.DBTX, id int64) error {
	n, err := storage.New(db).ClosePilot(ctx, id)
	if err != nil {
		return fmt.Errorf("close pilot: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Feedback is what a member said.
type Feedback struct {
	ID        int64     `json:"id,string"`
	MemberID  string    `json:"member_id"`
	PilotID   *int64    `json:"pilot_id,string,omitempty"`
	Rating    int       `json:"rating"`
	Text      string    `json:"text"`
	Sentiment float64   `json:"sentiment"`
	CreatedAt time.Time `json:"created_at"`
}

// AddFeedback stores feedback with its sentiment (scored by sc; the lexicon when nil).
// Feedback within a pilot must come from an invited member of an active pilot.
func AddFeedback(ctx context.Context, db database.DBTX, sc Scorer, f Feedback) (Feedback, error) {
	f.Text = strings.TrimSpace(f.Text)
	if sc == nil {
		sc = Lexicon{}
	}
	var err error
	if f.Sentiment, err = sc.Score(ctx, f.Text); err != nil {
		return f, err
	}
	if _, err := members.Get(ctx, db, f.MemberID); errors.Is(err, members.ErrNotFound) {
		return f, members.ErrNotFound
	} else if err != nil {
		return f, err
	}
	if f.PilotID != nil {
		status, err := storage.New(db).InvitedPilotStatus(ctx, storage.InvitedPilotStatusParams{PilotID: *f.PilotID, MemberID: f.MemberID})
		if err != nil {
			return f, storage.Translate(err, ErrNotInvited)
		}
		if status != "active" {
			return f, ErrClosed
		}
	}
	rating, err := int4("rating", f.Rating)
	if err != nil {
		return f, fmt.Errorf("store feedback: %w", err)
	}
	row, err := storage.New(db).CreateFeedback(ctx, storage.CreateFeedbackParams{MemberID: f.MemberID, PilotID: f.PilotID,
		Rating: rating, Text: f.Text, Sentiment: float32(f.Sentiment)})
	if err != nil {
		return f, fmt.Errorf("store feedback: %w", err)
	}
	f.ID, f.CreatedAt = row.ID, row.CreatedAt
	return f, nil
}

// Summary sums up feedback: how much, how rated, how felt, and its themes.
type Summary struct {
	Count         int      `json:"count"`
	MeanRating    float64  `json:"mean_rating"`
	MeanSentiment float64  `json:"mean_sentiment"`
	Themes        []string `json:"themes"`
}

// Summarize sums up the feedback of a pilot (pilotID) or of a community's members
// (communityID, primary community in the current run).
func Summarize(ctx context.Context, db database.DBTX, pilotID int64, communityID string) (Summary, error) {
	key := communityID
	if pilotID > 0 {
		key = fmt.Sprint(pilotID)
	}
	all, err := summarize(ctx, db, pilotID > 0)
	if err != nil {
		return Summary{}, err
	}
	if s, ok := all[key]; ok {
		return s, nil
	}
	return Summary{Themes: []string{}}, nil
}

// SummarizeCommunities sums up feedback for every community of the current run that
// has some, in one pass.
func SummarizeCommunities(ctx context.Context, db database.DBTX) (map[string]Summary, error) {
	return summarize(ctx, db, false)
}

// summarize groups all feedback by pilot, or by the member's primary community, and
// sums each group up. Themes are the words most distinctive of a group against all
// feedback (a class-based TF-IDF): n² / total.
func summarize(ctx context.Context, db database.DBTX, byPilot bool) (map[string]Summary, error) {
	type feedback struct {
		rating    int32
		sentiment float32
		text      string
		group     string // "" when the feedback has no group
	}
	var all []feedback
	if byPilot {
		rows, err := storage.New(db).FeedbackByPilot(ctx)
		if err != nil {
			return nil, fmt.Errorf("summarize feedback: %w", err)
		}
		for _, r := range rows {
			all = append(all, feedback{r.Rating, r.Sentiment, r.Text, r.Grp})
		}
	} else {
		rows, err := storage.New(db).FeedbackByCommunity(ctx)
		if err != nil {
			return nil, fmt.Errorf("summarize feedback: %w", err)
		}
		for _, r := range rows {
			all = append(all, feedback{r.Rating, r.Sentiment, r.Text, r.Grp})
		}
	}
	type acc struct {
		n                 int
		ratings, feelings float64
		words             map[string]int
	}
	groups := map[string]*acc{}
	allWords := map[string]int{}
	for _, f := range all {
		words := themeWords(f.text)
		for w := range words {
			allWords[w]++
		}
		if f.group == "" {
			continue
		}
		a := groups[f.group]
		if a == nil {
			a = &acc{words: map[string]int{}}
			groups[f.group] = a
		}
		a.n++
		a.ratings += float64(f.rating)
		a.feelings += float64(f.sentiment)
		for w := range words {
			a.words[w]++
		}
	}
	out := make(map[string]Summary, len(groups))
	for g, a := range groups {
		s := Summary{Count: a.n, MeanRating: float64(int(a.ratings/float64(a.n)*100)) / 100,
			MeanSentiment: float64(int(a.feelings/float64(a.n)*100)) / 100, Themes: []string{}}
		type scored struct {
			w string
			v float64
		}
		var cand []scored
		for w, n := range a.words {
			if n >= 2 {
				cand = append(cand, scored{w, float64(n) * float64(n) / float64(allWords[w])})
			}
		}
		sort.Slice(cand, func(i, j int) bool {
			if cand[i].v != cand[j].v {
				return cand[i].v > cand[j].v
			}
			return cand[i].w < cand[j].w
		})
		for i := 0; i < len(cand) && i < 5; i++ {
			s.Themes = append(s.Themes, cand[i].w)
		}
		out[g] = s
	}
	return out, nil
}

var stop = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the a an and or but to of in on for with it is was were be been this that i we you they my our
		me so very really just at as are not no have has had do did from by about more most all can would could
		och att det som en ett är var för med på av inte jag vi ni de den till har så mycket men om
		il lo la i gli le un una e ma di da in con per che non è era sono mi ci molto più tutto`) {
		stop[w] = true
	}
}

// themeWords are a text's distinct content words.
func themeWords(text string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if len([]rune(w)) > 2 && !stop[w] && lexicon[w] == 0 {
			out[w] = true
		}
	}
	return out
}

// List returns pilots, newest first, with how many members each invited.
func List(ctx context.Context, db database.DBTX, limit int) ([]Pilot, []int, error) {
	rows, err := storage.New(db).ListPilots(ctx, int64(limit))
	if err != nil {
		return nil, nil, fmt.Errorf("list pilots: %w", err)
	}
	var (
		ps      []Pilot
		invited []int
	)
	for _, r := range rows {
		p, err := pilotOf(r.ID, r.Name, r.Size, r.Target, r.Seed, r.Status, r.CreatedAt, r.ClosedAt)
		if err != nil {
			return nil, nil, fmt.Errorf("list pilots: %w", err)
		}
		ps, invited = append(ps, p), append(invited, int(r.Invited))
	}
	return ps, invited, nil
}

// Rescore scores a stored feedback's text again with sc and stores the result. It
// returns false when the feedback is gone (its member was erased).
func Rescore(ctx context.Context, db database.DBTX, sc Scorer, id int64) (bool, error) {
	text, err := storage.New(db).FeedbackText(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read feedback %d: %w", id, storage.Translate(err, nil))
	}
	s, err := sc.Score(ctx, text)
	if err != nil {
		return false, fmt.Errorf("score feedback %d: %w", id, err)
	}
	n, err := storage.New(db).SetFeedbackSentiment(ctx, storage.SetFeedbackSentimentParams{ID: id, Sentiment: float32(s)})
	if err != nil {
		return false, fmt.Errorf("store feedback %d sentiment: %w", id, storage.Translate(err, nil))
	}
	return n == 1, nil
}
