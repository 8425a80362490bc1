package matching

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/storage"
)

// ErrNoRun means no cluster run has been published yet.
var ErrNoRun = belong.New(belong.EUNAVAILABLE, "no_cluster_run", "no cluster run has been published yet")

// ErrNotFound means no community in the current run has the given id.
var ErrNotFound = belong.New(belong.ENOTFOUND, "community_not_found", "community not found")

// ErrModelMismatch means the current run was clustered from another embedding model
// than the one asked to match against it: vectors of two models never mix.
var ErrModelMismatch = belong.New(belong.EUNAVAILABLE, "model_mismatch", "the current cluster run was made with another embedding model: run `belong embed` and `belong cluster`")

// Match is one community that fits a member or profile. Rank 1 is the primary.
type Match struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Score   float64  `json:"score"`
	Primary bool     `json:"primary"`
	Rank    int      `json:"rank"`
	Labels  []string `json:"labels"`
	// Reasons are the member's (or profile's) interests and causes that the
	// community's labels share: why it fits.
	Reasons []string `json:"reasons"`
	Tribe   *Tribe   `json:"tribe,omitempty"`
}

// Tribe is the coarse group a community belongs to.
type Tribe struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Labels []string `json:"labels"`
}

// Community is one published micro-community.
type Community struct {
	ID     string   `json:"id"`
	RunID  int64    `json:"run_id,string"`
	Name   string   `json:"name"`
	Size   int      `json:"size"`
	Labels []string `json:"labels"`
	Tribe  *Tribe   `json:"tribe,omitempty"`
	// Composition explains the community (GET /v1/communities/{id} only: the run
	// view does not hold it).
	Composition *Composition `json:"composition,omitempty"`
}

// CurrentRun returns the id of the published run readers follow.
func CurrentRun(ctx context.Context, db database.DBTX) (int64, error) {
	id, err := storage.New(db).CurrentRunID(ctx)
	if err != nil {
		return 0, notFoundOr(err, ErrNoRun, "read current run")
	}
	return id, nil
}

// MemberCommunities returns the communities a member belongs to in run v, primary
// first. A member who has not consented to personalization gets none. A consenting
// member embedded after the run is ranked against its centroids (View.Rank). It is
// one round trip: names, labels and tribes come from the view.
func MemberCommunities(ctx context.Context, db database.DBTX, v *View, memberID string, limit int) (MemberMatches, error) {
	row, err := storage.New(db).MemberMemberships(ctx, storage.MemberMembershipsParams{
		RunID: v.ID, MemberID: memberID, Lim: int32(limit), Model: v.Model})
	if err != nil {
		return MemberMatches{}, notFoundOr(err, members.ErrNotFound, "read memberships")
	}
	out := MemberMatches{Locale: row.Locale, Communities: []Match{}}
	switch {
	case !row.ConsentPersonalization:
		out.Reason = ReasonNoConsent
		return out, nil
	case len(row.Embedding) > 0:
		// Not in the run: rank by the member's own vector.
		out.Communities, err = v.Rank(row.Embedding, row.Terms, limit)
		return out, err
	case len(row.CommunityIds) == 0:
		out.Reason = ReasonNotEmbeddedYet
		return out, nil
	}
	termKeys := keysOf(row.Terms)
	for i, id := range row.CommunityIds {
		c, ok := v.byID[id]
		if !ok || i >= len(row.Scores) {
			return MemberMatches{}, fmt.Errorf("read memberships: community %s is not in run %d", id, v.ID)
		}
		out.Communities = append(out.Communities, v.match(c, row.Scores[i], row.Terms, termKeys))
	}
	out.Communities = ranked(out.Communities)
	return out, nil
}

// Why a member has no communities.
const (
	ReasonNoConsent      = "no_consent"
	ReasonNotEmbeddedYet = "not_embedded_yet"
)

// MemberMatches are a member's communities, with the member's locale (to name them)
// and, when there are none, why.
type MemberMatches struct {
	Communities []Match
	Locale      string
	Reason      string
}

// MatchVector ranks run v's communities by cosine similarity to vec: for a profile
// that is not stored (cold start), in memory. The best is marked primary; terms (the
// profile's interests and causes) give each match its reasons.
func MatchVector(v *View, model string, vec []float32, terms []string, limit int) ([]Match, error) {
	if v.Model != model {
		return nil, fmt.Errorf("%w (run %s, profile %s)", ErrModelMismatch, v.Model, model)
	}
	return v.Rank(vec, terms, limit)
}

// ranked numbers matches in order, the first primary.
func ranked(ms []Match) []Match {
	for i := range ms {
		ms[i].Rank = i + 1
		ms[i].Primary = i == 0
	}
	return ms
}

// notFoundOr maps err to notFound when it is "no rows", else wraps it with what was
// being done; either way in the error vocabulary.
func notFoundOr(err error, notFound *belong.Error, doing string) error {
	err = storage.Translate(err, notFound)
	if errors.Is(err, notFound) {
		return err
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// ListCommunities returns run v's communities ordered by id, after the cursor id
// (empty for the first page).
func ListCommunities(v *View, after string, limit int) []Community {
	i, _ := slices.BinarySearchFunc(v.Communities, after, func(c Community, id string) int { return strings.Compare(c.ID, id) })
	if i < len(v.Communities) && v.Communities[i].ID == after {
		i++
	}
	return slices.Clone(v.Communities[i:min(i+limit, len(v.Communities))])
}

// GetCommunity returns one community of run v.
func GetCommunity(v *View, id string) (Community, error) {
	i, ok := v.byID[id]
	if !ok {
		return Community{}, ErrNotFound
	}
	return v.Communities[i], nil
}

// ErrRunNotFound means no cluster run has the given id.
var ErrRunNotFound = belong.New(belong.ENOTFOUND, "cluster_run_not_found", "cluster run not found")

// Run is one cluster run: its status, parameters and metrics (or error).
type Run struct {
	ID         int64          `json:"id,string"`
	Status     string         `json:"status"`
	Current    bool           `json:"current"`
	Model      string         `json:"model"`
	Params     map[string]any `json:"params"`
	Metrics    map[string]any `json:"metrics"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt *time.Time     `json:"finished_at"`
}

// newRun is a run from its stored row: params and metrics are JSON objects.
func newRun(r storage.GetRunRow) (Run, error) {
	run := Run{ID: r.ID, Status: r.Status, Current: r.IsCurrent, Model: r.Model,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
	if err := json.Unmarshal(r.Params, &run.Params); err != nil {
		return Run{}, fmt.Errorf("run %d params: %w", r.ID, err)
	}
	if err := json.Unmarshal(r.Metrics, &run.Metrics); err != nil {
		return Run{}, fmt.Errorf("run %d metrics: %w", r.ID, err)
	}
	return run, nil
}

// deadRunError is what a run whose process died says: its row was left "running".
const deadRunError = "the run's process died before it finished (killed, or lost its database connection)"

// reportDead shows runs left "running" with no live run (no session holds the run
// lock) as failed, as the next run will record them: a read never writes.
func reportDead(ctx context.Context, db database.DBTX, runs []Run) error {
	running := false
	for _, r := range runs {
		running = running || r.Status == "running"
	}
	if !running {
		return nil
	}
	alive, err := storage.RunLockHeld(ctx, db)
	if err != nil || alive {
		return err
	}
	for i := range runs {
		if runs[i].Status == "running" {
			runs[i].Status = "failed"
			runs[i].Metrics = map[string]any{"error": deadRunError}
		}
	}
	return nil
}

// ListRuns returns cluster runs newest first, those older than before when it is
// above zero.
func ListRuns(ctx context.Context, db database.DBTX, before int64, limit int) ([]Run, error) {
	rows, err := storage.New(db).ListRuns(ctx, storage.ListRunsParams{Before: before, Lim: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("list cluster runs: %w", storage.Translate(err, nil))
	}
	out := make([]Run, len(rows))
	for i, r := range rows {
		if out[i], err = newRun(storage.GetRunRow(r)); err != nil {
			return nil, fmt.Errorf("list cluster runs: %w", err)
		}
	}
	if err := reportDead(ctx, db, out); err != nil {
		return nil, fmt.Errorf("list cluster runs: %w", storage.Translate(err, nil))
	}
	return out, nil
}

// GetRun returns one cluster run.
func GetRun(ctx context.Context, db database.DBTX, id int64) (Run, error) {
	row, err := storage.New(db).GetRun(ctx, id)
	if err != nil {
		return Run{}, notFoundOr(err, ErrRunNotFound, "get cluster run")
	}
	r, err := newRun(row)
	if err != nil {
		return Run{}, fmt.Errorf("get cluster run: %w", err)
	}
	runs := []Run{r}
	if err := reportDead(ctx, db, runs); err != nil {
		return Run{}, fmt.Errorf("get cluster run: %w", storage.Translate(err, nil))
	}
	return runs[0], nil
}

// Facts is what content generation may know of a community of run v: its name, labels, size
// and how many members it has at each skill level.
func Facts(ctx context.Context, db database.DBTX, v *View, id string) (Community, map[string]int, error) {
	c, err := GetCommunity(v, id)
	if err != nil {
		return Community{}, nil, err
	}
	rows, err := storage.New(db).CommunitySkillMix(ctx, storage.CommunitySkillMixParams{RunID: c.RunID, CommunityID: id})
	if err != nil {
		return Community{}, nil, fmt.Errorf("community skill mix: %w", storage.Translate(err, nil))
	}
	mix := make(map[string]int, len(rows))
	for _, r := range rows {
		mix[r.SkillLevel] = int(r.Members)
	}
	return c, mix, nil
}

// Map places run v's communities on a plane: the first two principal components of
// their centroids (gonum's PCA), for the console's community map.
func Map(v *View) map[string][2]float64 {
	vecs := make([][]float32, len(v.Communities))
	for i := range vecs {
		vecs[i] = v.centroids[i*v.dim : (i+1)*v.dim]
	}
	pts := clustering.Project2D(vecs)
	out := make(map[string][2]float64, len(vecs))
	for i, c := range v.Communities {
		out[c.ID] = pts[i]
	}
	return out
}

// PruneMemberships deletes the memberships of every run but the newest keep published
// runs and the current one (the biggest table, about three rows per member per run),
// and the vector copies and peer lists of runs before the current one; the runs and their
// communities stay for trends and history. It returns how many memberships it deleted.
//
// Each run's memberships go in a statement of their own, so a first retention on a
// deployment with a long history commits as it goes instead of holding one huge
// delete open.
func PruneMemberships(ctx context.Context, db database.DBTX, keep int) (int64, error) {
	q := storage.New(db)
	if _, err := q.PruneRunVectors(ctx); err != nil {
		return 0, fmt.Errorf("prune run vectors: %w", storage.Translate(err, nil))
	}
	if _, err := q.PruneRunPeers(ctx); err != nil {
		return 0, fmt.Errorf("prune run peers: %w", storage.Translate(err, nil))
	}
	runs, err := q.RunsToPrune(ctx, int32(keep))
	if err != nil {
		return 0, fmt.Errorf("prune memberships: %w", storage.Translate(err, nil))
	}
	var total int64
	for _, id := range runs {
		n, err := q.DeleteRunMemberships(ctx, id)
		if err != nil {
			return total, fmt.Errorf("prune memberships of run %d: %w", id, storage.Translate(err, nil))
		}
		total += n
	}
	return total, nil
}
