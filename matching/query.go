package matching

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/belong-loyalty/belong/database"
)

// ErrNoRun means no cluster run has been published yet.
var ErrNoRun = errors.New("no cluster run has been published yet")

// ErrNotFound means no community in the current run has the given id.
var ErrNotFound = errors.New("community not found")

// ErrMemberNotFound means no member has the given id.
var ErrMemberNotFound = errors.New("member not found")

// Match is one community that fits a member or profile.
type Match struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Score   float64  `json:"score"`
	Primary bool     `json:"primary"`
	Labels  []string `json:"labels"`
}

// Community is one published micro-community.
type Community struct {
	ID     string   `json:"id"`
	RunID  int64    `json:"run_id,string"`
	Name   string   `json:"name"`
	Size   int      `json:"size"`
	Labels []string `json:"labels"`
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
	var consent bool
	err := db.QueryRow(ctx, "SELECT consent_personalization FROM members WHERE id = $1", memberID).Scan(&consent)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, ErrMemberNotFound
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read member: %w", err)
	}
	run, err := CurrentRun(ctx, db)
	if err != nil {
		return 0, nil, err
	}
	if !consent {
		return run, []Match{}, nil
	}
	rows, err := db.Query(ctx, `SELECT c.id, c.name, ms.score, ms.rank = 1, c.labels
		FROM memberships ms JOIN communities c ON c.run_id = ms.run_id AND c.id = ms.community_id
		WHERE ms.run_id = $1 AND ms.member_id = $2
		ORDER BY ms.rank LIMIT $3`, run, memberID, limit)
	if err != nil {
		return 0, nil, fmt.Errorf("read memberships: %w", err)
	}
	out, err := collectMatches(rows)
	if err != nil {
		return 0, nil, fmt.Errorf("read memberships: %w", err)
	}
	if len(out) > 0 {
		return run, out, nil
	}
	// Not in the run: rank by the member's own vector, if it has one.
	rows, err = db.Query(ctx, `SELECT c.id, c.name, 1 - (c.centroid <=> v.embedding), false, c.labels
		FROM member_vectors v, communities c
		WHERE v.member_id = $2 AND c.run_id = $1
		ORDER BY c.centroid <=> v.embedding LIMIT $3`, run, memberID, limit)
	if err != nil {
		return 0, nil, fmt.Errorf("rank communities for member: %w", err)
	}
	out, err = collectMatches(rows)
	if err != nil {
		return 0, nil, fmt.Errorf("rank communities for member: %w", err)
	}
	if len(out) > 0 {
		out[0].Primary = true
	}
	return run, out, nil
}

// MatchVector ranks the current run's communities by cosine similarity to v: for a
// profile that is not stored (cold start). The best is marked primary.
func MatchVector(ctx context.Context, db database.DBTX, v []float32, limit int) (int64, []Match, error) {
	run, err := CurrentRun(ctx, db)
	if err != nil {
		return 0, nil, err
	}
	rows, err := db.Query(ctx, `SELECT id, name, 1 - (centroid <=> $2), false, labels
		FROM communities WHERE run_id = $1 ORDER BY centroid <=> $2 LIMIT $3`, run, pgvector.NewVector(v), limit)
	if err != nil {
		return 0, nil, fmt.Errorf("match profile: %w", err)
	}
	out, err := collectMatches(rows)
	if err != nil {
		return 0, nil, fmt.Errorf("match profile: %w", err)
	}
	if len(out) > 0 {
		out[0].Primary = true
	}
	return run, out, nil
}

func collectMatches(rows pgx.Rows) ([]Match, error) {
	out := []Match{}
	for rows.Next() {
		var m Match
		if err := rows.Scan(&m.ID, &m.Name, &m.Score, &m.Primary, &m.Labels); err != nil {
			rows.Close()
			return nil, err
		}
		m.Score = round3(m.Score)
		out = append(out, m)
	}
	return out, rows.Err()
}

// ListCommunities returns the current run's communities ordered by id, after the
// cursor id (empty for the first page).
func ListCommunities(ctx context.Context, db database.DBTX, after string, limit int) (int64, []Community, error) {
	run, err := CurrentRun(ctx, db)
	if err != nil {
		return 0, nil, err
	}
	rows, err := db.Query(ctx, `SELECT id, run_id, name, size, labels FROM communities
		WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3`, run, after, limit)
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
	rows, err := db.Query(ctx, `SELECT id, run_id, name, size, labels FROM communities
		WHERE run_id = $1 AND id = $2`, run, id)
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

func scanCommunity(row pgx.CollectableRow) (Community, error) {
	var c Community
	err := row.Scan(&c.ID, &c.RunID, &c.Name, &c.Size, &c.Labels)
	return c, err
}
