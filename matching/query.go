package matching

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pgvector/pgvector-go"

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
}

// CurrentRun returns the id of the published run readers follow.
func CurrentRun(ctx context.Context, db database.DBTX) (int64, error) {
	id, err := storage.New(db).CurrentRunID(ctx)
	if err != nil {
		return 0, notFoundOr(err, ErrNoRun, "read current run")
	}
	return id, nil
}

// MemberCommunities returns the communities a member belongs to in the current run,
// primary first. A member who has not consented to personalization gets none. A
// consenting member embedded after the run is ranked against its centroids directly.
func MemberCommunities(ctx context.Context, db database.DBTX, memberID string, limit int) (int64, []Match, error) {
	// One round trip on the hot path: the member, the current run and the member's
	// memberships (the JSON array is empty when the member has none or no consent).
	q := storage.New(db)
	row, err := q.MemberCommunities(ctx, storage.MemberCommunitiesParams{MemberID: memberID, Lim: int32(limit)})
	if err != nil {
		return 0, nil, notFoundOr(err, members.ErrNotFound, "read memberships")
	}
	consent, terms, run, raw := row.ConsentPersonalization, row.Terms, row.RunID, row.Memberships
	if run == nil {
		return 0, nil, ErrNoRun
	}
	if !consent {
		return *run, []Match{}, nil
	}
	var rowsJSON []struct {
		ID          string   `json:"id"`
		Name        string   `json:"name"`
		Score       float64  `json:"score"`
		Rank        int      `json:"rank"`
		Labels      []string `json:"labels"`
		TribeID     *string  `json:"tribe_id"`
		TribeName   *string  `json:"tribe_name"`
		TribeLabels []string `json:"tribe_labels"`
	}
	if err := json.Unmarshal(raw, &rowsJSON); err != nil {
		return 0, nil, fmt.Errorf("read memberships: %w", err)
	}
	out := make([]Match, len(rowsJSON))
	for i, r := range rowsJSON {
		out[i] = Match{ID: r.ID, Name: r.Name, Score: round3(r.Score), Rank: r.Rank, Primary: r.Rank == 1,
			Labels: r.Labels, Tribe: tribeOf(r.TribeID, r.TribeName, r.TribeLabels), Reasons: Shared(terms, r.Labels)}
	}
	if len(out) > 0 {
		return *run, out, nil
	}
	// Not in the run: rank by the member's own vector, if it has one.
	rows, err := q.RankCommunitiesForMember(ctx, storage.RankCommunitiesForMemberParams{RunID: *run, MemberID: memberID, Lim: int32(limit)})
	if err != nil {
		return 0, nil, fmt.Errorf("rank communities for member: %w", storage.Translate(err, nil))
	}
	out = make([]Match, len(rows))
	for i, r := range rows {
		out[i] = newMatch(r.ID, r.Name, r.Score, r.Labels, r.TribeID, r.TribeName, r.TribeLabels, terms)
	}
	return *run, ranked(out), nil
}

// MatchVector ranks the current run's communities by cosine similarity to v: for a
// profile that is not stored (cold start). The best is marked primary; terms (the
// profile's interests and causes) give each match its reasons.
func MatchVector(ctx context.Context, db database.DBTX, model string, v []float32, terms []string, limit int) (int64, []Match, error) {
	q := storage.New(db)
	cur, err := q.CurrentRunModel(ctx)
	if err != nil {
		return 0, nil, notFoundOr(err, ErrNoRun, "read current run")
	}
	run, runModel := cur.ID, cur.Model
	if runModel != model {
		return 0, nil, fmt.Errorf("%w (run %s, profile %s)", ErrModelMismatch, runModel, model)
	}
	rows, err := q.RankCommunitiesForVector(ctx, storage.RankCommunitiesForVectorParams{RunID: run, Embedding: pgvector.NewVector(v), Lim: int32(limit)})
	if err != nil {
		return 0, nil, fmt.Errorf("match profile: %w", storage.Translate(err, nil))
	}
	out := make([]Match, len(rows))
	for i, r := range rows {
		out[i] = newMatch(r.ID, r.Name, r.Score, r.Labels, r.TribeID, r.TribeName, r.TribeLabels, terms)
	}
	return run, ranked(out), nil
}

// ranked numbers matches in order, the first primary.
func ranked(ms []Match) []Match {
	for i := range ms {
		ms[i].Rank = i + 1
		ms[i].Primary = i == 0
	}
	return ms
}

// newMatch is a ranked community with its reasons (terms it shares); ranked numbers it.
func newMatch(id, name string, score float64, labels []string, tid, tname *string, tlabels, terms []string) Match {
	return Match{ID: id, Name: name, Score: round3(score), Labels: labels,
		Tribe: tribeOf(tid, tname, tlabels), Reasons: Shared(terms, labels)}
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

func tribeOf(id, name *string, labels []string) *Tribe {
	if id == nil {
		return nil
	}
	return &Tribe{ID: *id, Name: *name, Labels: labels}
}

// ListCommunities returns the current run's communities ordered by id, after the
// cursor id (empty for the first page).
func ListCommunities(ctx context.Context, db database.DBTX, after string, limit int) (int64, []Community, error) {
	run, err := CurrentRun(ctx, db)
	if err != nil {
		return 0, nil, err
	}
	rows, err := storage.New(db).ListCommunities(ctx, storage.ListCommunitiesParams{RunID: run, After: after, Lim: int32(limit)})
	if err != nil {
		return 0, nil, fmt.Errorf("list communities: %w", storage.Translate(err, nil))
	}
	out := make([]Community, len(rows))
	for i, r := range rows {
		out[i] = Community{ID: r.ID, RunID: r.RunID, Name: r.Name, Size: int(r.Size), Labels: r.Labels,
			Tribe: tribeOf(r.TribeID, r.TribeName, r.TribeLabels)}
	}
	return run, out, nil
}

// GetCommunity returns one community of the current run.
func GetCommunity(ctx context.Context, db database.DBTX, id string) (Community, error) {
	run, err := CurrentRun(ctx, db)
	if err != nil {
		return Community{}, err
	}
	r, err := storage.New(db).GetCommunity(ctx, storage.GetCommunityParams{RunID: run, ID: id})
	if err != nil {
		return Community{}, notFoundOr(err, ErrNotFound, "get community")
	}
	return Community{ID: r.ID, RunID: r.RunID, Name: r.Name, Size: int(r.Size), Labels: r.Labels,
		Tribe: tribeOf(r.TribeID, r.TribeName, r.TribeLabels)}, nil
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

// Facts is what content generation may know of a community: its name, labels, size
// and how many members it has at each skill level.
func Facts(ctx context.Context, db database.DBTX, id string) (Community, map[string]int, error) {
	c, err := GetCommunity(ctx, db, id)
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

// Map places the current run's communities on a plane: the first two principal
// components of their centroids (gonum's PCA), for the console's community map.
func Map(ctx context.Context, db database.DBTX) (map[string][2]float64, error) {
	run, err := CurrentRun(ctx, db)
	if err != nil {
		return nil, err
	}
	rows, err := storage.New(db).CommunityCentroids(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("community map: %w", storage.Translate(err, nil))
	}
	var vecs [][]float32
	for _, r := range rows {
		vecs = append(vecs, r.Centroid.Slice())
	}
	pts := clustering.Project2D(vecs)
	out := make(map[string][2]float64, len(rows))
	for i, r := range rows {
		out[r.ID] = pts[i]
	}
	return out, nil
}

// PruneMemberships deletes the memberships of every run but the newest keep published
// runs and the current one (the biggest table, about three rows per member per run);
// the runs and their communities stay for trends and history. It returns how many rows
// it deleted.
//
// Each run's memberships go in a statement of their own, so a first retention on a
// deployment with a long history commits as it goes instead of holding one huge
// delete open.
func PruneMemberships(ctx context.Context, db database.DBTX, keep int) (int64, error) {
	q := storage.New(db)
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
