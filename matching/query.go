package matching

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/members"
)

// ErrNoRun means no cluster run has been published yet.
var ErrNoRun = belong.New(belong.EUNAVAILABLE, "no_cluster_run", "no cluster run has been published yet")

// ErrNotFound means no community in the current run has the given id.
var ErrNotFound = belong.New(belong.ENOTFOUND, "community_not_found", "community not found")

// ErrModelMismatch means the current run was clustered from another embedding model
// than the one asked to match against it: vectors of two models never mix.
var ErrModelMismatch = belong.New(belong.EUNAVAILABLE, "model_mismatch", "the current cluster run was made with another embedding model: run `belong embed` and `belong cluster`")

// ErrMemberNotFound means no member has the given id.
var ErrMemberNotFound = members.ErrNotFound

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
	var id int64
	err := db.QueryRow(ctx, "SELECT run_id FROM current_run").Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNoRun
	}
	if err != nil {
		return 0, fmt.Errorf("read current run: %w", err)
	}
	return id, nil
}

// MemberCommunities returns the communities a member belongs to in the current run,
// primary first. A member who has not consented to personalization gets none. A
// consenting member embedded after the run is ranked against its centroids directly.
func MemberCommunities(ctx context.Context, db database.DBTX, memberID string, limit int) (int64, []Match, error) {
	// One round trip on the hot path: the member, the current run and the member's
	// memberships (the JSON array is empty when the member has none or no consent).
	var (
		consent bool
		terms   []string
		run     *int64
		raw     []byte
	)
	err := db.QueryRow(ctx, `
		SELECT m.consent_personalization, m.interests || m.causes, r.run_id,
			coalesce((SELECT json_agg(x ORDER BY x.rank) FROM (
				SELECT c.id, c.name, ms.score, ms.rank, c.labels, t.id AS tribe_id, t.name AS tribe_name, t.labels AS tribe_labels
				FROM memberships ms JOIN communities c ON c.run_id = ms.run_id AND c.id = ms.community_id
				LEFT JOIN tribes t ON t.run_id = c.run_id AND t.id = c.tribe_id
				WHERE ms.run_id = r.run_id AND ms.member_id = m.id AND m.consent_personalization
				ORDER BY ms.rank LIMIT $2) x), '[]')
		FROM members m LEFT JOIN current_run r ON true
		WHERE m.id = $1`, memberID, limit).Scan(&consent, &terms, &run, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, ErrMemberNotFound
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read memberships: %w", err)
	}
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
	rows, err := db.Query(ctx, `SELECT c.id, c.name, 1 - (c.centroid <=> v.embedding), 0, c.labels, t.id, t.name, t.labels
		FROM member_vectors v JOIN communities c ON c.run_id = $1
		JOIN cluster_runs r ON r.id = c.run_id AND r.model = v.model
		LEFT JOIN tribes t ON t.run_id = c.run_id AND t.id = c.tribe_id
		WHERE v.member_id = $2
		ORDER BY c.centroid <=> v.embedding LIMIT $3`, *run, memberID, limit)
	if err != nil {
		return 0, nil, fmt.Errorf("rank communities for member: %w", err)
	}
	out, err = collectMatches(rows, terms)
	if err != nil {
		return 0, nil, fmt.Errorf("rank communities for member: %w", err)
	}
	return *run, ranked(out), nil
}

// MatchVector ranks the current run's communities by cosine similarity to v: for a
// profile that is not stored (cold start). The best is marked primary; terms (the
// profile's interests and causes) give each match its reasons.
func MatchVector(ctx context.Context, db database.DBTX, model string, v []float32, terms []string, limit int) (int64, []Match, error) {
	var (
		run      int64
		runModel string
	)
	err := db.QueryRow(ctx, "SELECT r.id, r.model FROM current_run c JOIN cluster_runs r ON r.id = c.run_id").Scan(&run, &runModel)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, ErrNoRun
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read current run: %w", err)
	}
	if runModel != model {
		return 0, nil, fmt.Errorf("%w (run %s, profile %s)", ErrModelMismatch, runModel, model)
	}
	rows, err := db.Query(ctx, `SELECT c.id, c.name, 1 - (c.centroid <=> $2), 0, c.labels, t.id, t.name, t.labels
		FROM communities c LEFT JOIN tribes t ON t.run_id = c.run_id AND t.id = c.tribe_id
		WHERE c.run_id = $1 ORDER BY c.centroid <=> $2 LIMIT $3`, run, pgvector.NewVector(v), limit)
	if err != nil {
		return 0, nil, fmt.Errorf("match profile: %w", err)
	}
	out, err := collectMatches(rows, terms)
	if err != nil {
		return 0, nil, fmt.Errorf("match profile: %w", err)
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

func collectMatches(rows pgx.Rows, terms []string) ([]Match, error) {
	out := []Match{}
	for rows.Next() {
		var (
			m      Match
			tid    *string
			tname  *string
			tlabel []string
		)
		if err := rows.Scan(&m.ID, &m.Name, &m.Score, &m.Rank, &m.Labels, &tid, &tname, &tlabel); err != nil {
			rows.Close()
			return nil, err
		}
		m.Primary = m.Rank == 1
		m.Tribe = tribeOf(tid, tname, tlabel)
		m.Reasons = Shared(terms, m.Labels)
		m.Score = round3(m.Score)
		out = append(out, m)
	}
	return out, rows.Err()
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
	rows, err := db.Query(ctx, `SELECT `+communityColumns+` WHERE c.run_id = $1 AND c.id > $2
		ORDER BY c.id LIMIT $3`, run, after, limit)
	if err != nil {
		return 0, nil, fmt.Errorf("list communities: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanCommunity)
	if err != nil {
		return 0, nil, fmt.Errorf("list communities: %w", err)
	}
	return run, out, nil
}

// GetCommunity returns one community of the current run.
func GetCommunity(ctx context.Context, db database.DBTX, id string) (Community, error) {
	run, err := CurrentRun(ctx, db)
	if err != nil {
		return Community{}, err
	}
	rows, err := db.Query(ctx, `SELECT `+communityColumns+` WHERE c.run_id = $1 AND c.id = $2`, run, id)
	if err != nil {
		return Community{}, fmt.Errorf("get community: %w", err)
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanCommunity)
	if errors.Is(err, pgx.ErrNoRows) {
		return Community{}, ErrNotFound
	}
	if err != nil {
		return Community{}, fmt.Errorf("get community: %w", err)
	}
	return c, nil
}

const communityColumns = `c.id, c.run_id, c.name, c.size, c.labels, t.id, t.name, t.labels
	FROM communities c LEFT JOIN tribes t ON t.run_id = c.run_id AND t.id = c.tribe_id`

func scanCommunity(row pgx.CollectableRow) (Community, error) {
	var (
		c      Community
		tid    *string
		tname  *string
		tlabel []string
	)
	err := row.Scan(&c.ID, &c.RunID, &c.Name, &c.Size, &c.Labels, &tid, &tname, &tlabel)
	c.Tribe = tribeOf(tid, tname, tlabel)
	return c, err
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

const runColumns = `r.id, r.status, r.id = (SELECT run_id FROM current_run), r.model, r.params, r.metrics,
	r.started_at, r.finished_at`

func scanRun(row pgx.CollectableRow) (Run, error) {
	var r Run
	var current *bool
	err := row.Scan(&r.ID, &r.Status, &current, &r.Model, &r.Params, &r.Metrics, &r.StartedAt, &r.FinishedAt)
	r.Current = current != nil && *current
	return r, err
}

// ListRuns returns cluster runs newest first, those older than before when it is
// above zero.
func ListRuns(ctx context.Context, db database.DBTX, before int64, limit int) ([]Run, error) {
	rows, err := db.Query(ctx, `SELECT `+runColumns+` FROM cluster_runs r
		WHERE $1 <= 0 OR r.id < $1 ORDER BY r.id DESC LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list cluster runs: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanRun)
	if err != nil {
		return nil, fmt.Errorf("list cluster runs: %w", err)
	}
	return out, nil
}

// GetRun returns one cluster run.
func GetRun(ctx context.Context, db database.DBTX, id int64) (Run, error) {
	rows, err := db.Query(ctx, `SELECT `+runColumns+` FROM cluster_runs r WHERE r.id = $1`, id)
	if err != nil {
		return Run{}, fmt.Errorf("get cluster run: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, scanRun)
	if errors.Is(err, pgx.ErrNoRows) {
		return Run{}, ErrRunNotFound
	}
	if err != nil {
		return Run{}, fmt.Errorf("get cluster run: %w", err)
	}
	return r, nil
}

// Facts is what content generation may know of a community: its name, labels, size
// and how many members it has at each skill level.
func Facts(ctx context.Context, db database.DBTX, id string) (Community, map[string]int, error) {
	c, err := GetCommunity(ctx, db, id)
	if err != nil {
		return Community{}, nil, err
	}
	rows, err := db.Query(ctx, `SELECT m.skill_level, count(*) FROM memberships ms JOIN members m ON m.id = ms.member_id
		WHERE ms.run_id = $1 AND ms.community_id = $2 AND ms.rank = 1 AND m.skill_level <> '' GROUP BY 1`, c.RunID, id)
	if err != nil {
		return Community{}, nil, fmt.Errorf("community skill mix: %w", err)
	}
	mix := map[string]int{}
	for rows.Next() {
		var (
			level string
			n     int
		)
		if err := rows.Scan(&level, &n); err != nil {
			rows.Close()
			return Community{}, nil, err
		}
		mix[level] = n
	}
	return c, mix, rows.Err()
}

// Map places the current run's communities on a plane: the first two principal
// components of their centroids (gonum's PCA), for the console's community map.
func Map(ctx context.Context, db database.DBTX) (map[string][2]float64, error) {
	run, err := CurrentRun(ctx, db)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, "SELECT id, centroid FROM communities WHERE run_id = $1 ORDER BY id", run)
	if err != nil {
		return nil, fmt.Errorf("community map: %w", err)
	}
	var (
		ids  []string
		vecs [][]float32
	)
	for rows.Next() {
		var (
			id string
			v  pgvector.Vector
		)
		if err := rows.Scan(&id, &v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("community map: %w", err)
		}
		ids = append(ids, id)
		vecs = append(vecs, v.Slice())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("community map: %w", err)
	}
	pts := Project2D(vecs)
	out := make(map[string][2]float64, len(ids))
	for i, id := range ids {
		out[id] = pts[i]
	}
	return out, nil
}

// PruneMemberships deletes the memberships of every run but the newest keep published
// runs and the current one (the biggest table, about three rows per member per run);
// the runs and their communities stay for trends and history. It returns how many rows
// it deleted.
func PruneMemberships(ctx context.Context, db database.DBTX, keep int) (int64, error) {
	tag, err := db.Exec(ctx, `DELETE FROM memberships WHERE run_id NOT IN (
			SELECT id FROM cluster_runs WHERE status = 'published' ORDER BY id DESC LIMIT $1)
		AND run_id NOT IN (SELECT run_id FROM current_run)
		AND run_id NOT IN (SELECT id FROM cluster_runs WHERE status = 'running')`, keep)
	if err != nil {
		return 0, fmt.Errorf("prune memberships: %w", err)
	}
	return tag.RowsAffected(), nil
}
