package pilots

import (
	"context"
	"errors"
	"fmt"
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
)

// Errors of pilots and feedback.
var (
	ErrNotFound      = belong.New(belong.ENOTFOUND, "pilot_not_found", "pilot not found")
	ErrClosed        = belong.New(belong.ECONFLICT, "pilot_closed", "the pilot is closed")
	ErrNoCandidates  = belong.New(belong.EUNPROCESSABLE, "no_candidates", "no consenting member in the target is free to invite")
	ErrNotInvited    = belong.New(belong.EUNPROCESSABLE, "not_invited", "the member was not invited to this pilot")
	ErrMemberUnknown = members.ErrNotFound
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
		if stages, err = moments.Stages(ctx, db, time.Now()); err != nil {
			return Pilot{}, err
		}
	}
	p := Pilot{Name: name, Size: size, Target: t, Seed: seed, Status: "active"}
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		// Serialize pilot creation so two pilots never invite the same member.
		if _, err := tx.Exec(ctx, "LOCK TABLE pilot_invitations IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT ms.member_id, ms.community_id
			FROM current_run r JOIN memberships ms ON ms.run_id = r.run_id AND ms.rank = 1
			JOIN communities c ON c.run_id = ms.run_id AND c.id = ms.community_id
			JOIN members m ON m.id = ms.member_id AND m.consent_personalization AND m.consent_community
			WHERE (c.id = ANY($1) OR c.tribe_id = ANY($2) OR $3)
			  AND NOT EXISTS (SELECT 1 FROM pilot_invitations i JOIN pilots p ON p.id = i.pilot_id
				WHERE i.member_id = ms.member_id AND p.status = 'active')`, nonNil(t.Communities), nonNil(t.Tribes), len(t.Stages) > 0)
		if err != nil {
			return fmt.Errorf("pilot candidates: %w", err)
		}
		cands, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Candidate, error) {
			var c Candidate
			err := r.Scan(&c.MemberID, &c.Stratum)
			return c, err
		})
		if err != nil {
			return fmt.Errorf("pilot candidates: %w", err)
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
		if err := tx.QueryRow(ctx, `INSERT INTO pilots (name, size, target, seed) VALUES ($1, $2, $3, $4)
			RETURNING id, created_at`, name, size, t, seed).Scan(&p.ID, &p.CreatedAt); err != nil {
			return fmt.Errorf("create pilot: %w", err)
		}
		rowsIn := make([][]any, len(sample))
		for i, c := range sample {
			rowsIn[i] = []any{p.ID, c.MemberID, c.Stratum}
			p.Invitations = append(p.Invitations, Invitation(c))
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"pilot_invitations"}, []string{"pilot_id", "member_id", "stratum"}, pgx.CopyFromRows(rowsIn))
		return err
	})
	if err != nil {
		return Pilot{}, err
	}
	return p, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Get returns a pilot with its invitations.
func Get(ctx context.Context, db database.DBTX, id int64) (Pilot, error) {
	var p Pilot
	err := db.QueryRow(ctx, `SELECT id, name, size, target, seed, status, created_at, closed_at FROM pilots WHERE id = $1`, id).
		Scan(&p.ID, &p.Name, &p.Size, &p.Target, &p.Seed, &p.Status, &p.CreatedAt, &p.ClosedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("get pilot: %w", err)
	}
	rows, err := db.Query(ctx, `SELECT member_id, stratum FROM pilot_invitations WHERE pilot_id = $1 ORDER BY stratum, member_id`, id)
	if err != nil {
		return p, fmt.Errorf("get pilot: %w", err)
	}
	p.Invitations, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Invitation, error) {
		var i Invitation
		err := r.Scan(&i.MemberID, &i.Stratum)
		return i, err
	})
	return p, err
}

// Close closes a pilot; its members become free for the next one.
func Close(ctx context.Context, db database.DBTX, id int64) error {
	tag, err := db.Exec(ctx, `UPDATE pilots SET status = 'closed', closed_at = coalesce(closed_at, now()) WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("close pilot: %w", err)
	}
	if tag.RowsAffected() == 0 {
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
		return f, ErrMemberUnknown
	} else if err != nil {
		return f, err
	}
	if f.PilotID != nil {
		var status string
		err := db.QueryRow(ctx, `SELECT p.status FROM pilots p JOIN pilot_invitations i ON i.pilot_id = p.id
			WHERE p.id = $1 AND i.member_id = $2`, *f.PilotID, f.MemberID).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return f, ErrNotInvited
		}
		if err != nil {
			return f, err
		}
		if status != "active" {
			return f, ErrClosed
		}
	}
	err = db.QueryRow(ctx, `INSERT INTO feedback (member_id, pilot_id, rating, text, sentiment) VALUES ($1, $2, $3, $4, $5)
		RETURNING id, created_at`, f.MemberID, f.PilotID, f.Rating, f.Text, f.Sentiment).Scan(&f.ID, &f.CreatedAt)
	if err != nil {
		return f, fmt.Errorf("store feedback: %w", err)
	}
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
	group := `(SELECT ms.community_id FROM memberships ms JOIN current_run r ON r.run_id = ms.run_id
		WHERE ms.member_id = f.member_id AND ms.rank = 1)`
	if byPilot {
		group = "f.pilot_id::text"
	}
	rows, err := db.Query(ctx, `SELECT f.rating, f.sentiment, f.text, `+group+` FROM feedback f`)
	if err != nil {
		return nil, fmt.Errorf("summarize feedback: %w", err)
	}
	defer rows.Close()
	type acc struct {
		n                 int
		ratings, feelings float64
		words             map[string]int
	}
	groups := map[string]*acc{}
	allWords := map[string]int{}
	for rows.Next() {
		var (
			rating int
			sent   float64
			text   string
			g      *string
		)
		if err := rows.Scan(&rating, &sent, &text, &g); err != nil {
			return nil, err
		}
		words := themeWords(text)
		for w := range words {
			allWords[w]++
		}
		if g == nil {
			continue
		}
		a := groups[*g]
		if a == nil {
			a = &acc{words: map[string]int{}}
			groups[*g] = a
		}
		a.n++
		a.ratings += float64(rating)
		a.feelings += sent
		for w := range words {
			a.words[w]++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
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
	rows, err := db.Query(ctx, `SELECT p.id, p.name, p.size, p.target, p.seed, p.status, p.created_at, p.closed_at,
			(SELECT count(*) FROM pilot_invitations i WHERE i.pilot_id = p.id)
		FROM pilots p ORDER BY p.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("list pilots: %w", err)
	}
	defer rows.Close()
	var (
		ps      []Pilot
		invited []int
	)
	for rows.Next() {
		var (
			p Pilot
			n int
		)
		if err := rows.Scan(&p.ID, &p.Name, &p.Size, &p.Target, &p.Seed, &p.Status, &p.CreatedAt, &p.ClosedAt, &n); err != nil {
			return nil, nil, err
		}
		ps, invited = append(ps, p), append(invited, n)
	}
	return ps, invited, rows.Err()
}
