package matching

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/belong-loyalty/belong/members"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/belong-loyalty/belong/database"
)

// Peer is a member like another: by cosine similarity of their vectors.
type Peer struct {
	MemberID string  `json:"member_id"`
	Name     string  `json:"first_name,omitempty"`
	Score    float64 `json:"score"`
	// Shared are the interests and causes the two have in common.
	Shared []string `json:"shared"`
}

// PeerSearch is pgvector's HNSW search width for peer queries: recall@10 measured
// against exact search on the demo is in the README (BenchmarkPeerRecall).
const PeerSearch = 100

// Peers returns the members most similar to memberID through the HNSW index, most
// similar first, optionally only those in community (of the current run). Peers never
// include the member, and only members who consented to personalization and to
// community features appear. Filtered searches use pgvector's iterative index scan so
// that a selective filter still fills the page.
func Peers(ctx context.Context, db database.DBTX, memberID, community string, limit int) ([]Peer, error) {
	var (
		consent bool
		vec     *pgvector.Vector
		model   *string
		terms   []string
	)
	err := db.QueryRow(ctx, `SELECT m.consent_personalization AND m.consent_community, v.embedding, v.model,
		m.interests || m.causes
		FROM members m LEFT JOIN member_vectors v ON v.member_id = m.id WHERE m.id = $1`, memberID).Scan(&consent, &vec, &model, &terms)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrMemberNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read member: %w", err)
	}
	if !consent || vec == nil {
		return []Peer{}, nil
	}
	var run int64
	if community != "" {
		if run, err = CurrentRun(ctx, db); err != nil {
			return nil, err
		}
		if _, err := GetCommunity(ctx, db, community); err != nil {
			return nil, err
		}
	}
	out := []Peer{}
	err = database.InTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL hnsw.ef_search = %d; SET LOCAL hnsw.iterative_scan = relaxed_order`, PeerSearch)); err != nil {
			return err
		}
		// The inner query is a plain index scan ordered by distance; the filters sit
		// outside it so that pgvector can keep scanning until enough rows pass.
		rows, err := tx.Query(ctx, `
			SELECT p.member_id, m.name, p.score, m.interests || m.causes FROM (
				SELECT v.member_id, 1 - (v.embedding <=> $1) AS score, v.embedding <=> $1 AS distance
				FROM member_vectors v
				WHERE v.member_id <> $2 AND v.model = $6
				  AND ($3 = '' OR EXISTS (SELECT 1 FROM memberships ms
					WHERE ms.run_id = $4 AND ms.member_id = v.member_id AND ms.community_id = $3))
				  AND EXISTS (SELECT 1 FROM members m2 WHERE m2.id = v.member_id
					AND m2.consent_personalization AND m2.consent_community)
				ORDER BY v.embedding <=> $1
				LIMIT $5) p
			JOIN members m ON m.id = p.member_id
			ORDER BY p.distance`, *vec, memberID, community, run, limit, *model)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				p     Peer
				name  string
				other []string
			)
			if err := rows.Scan(&p.MemberID, &name, &p.Score, &other); err != nil {
				rows.Close()
				return err
			}
			p.Name, _, _ = strings.Cut(name, " ") // a first name, never more
			p.Score = round3(p.Score)
			p.Shared = Shared(terms, other)
			out = append(out, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find peers: %w", err)
	}
	return out, nil
}

// Shared returns the terms of a that b also has (compared by TermKey), in a's order.
func Shared(a, b []string) []string {
	keys := make(map[string]bool, len(b))
	for _, t := range b {
		keys[members.TermKey(t)] = true
	}
	out := []string{}
	for _, t := range a {
		if keys[members.TermKey(t)] {
			out = append(out, t)
		}
	}
	return out
}

// ExactPeers is Peers without the index: the same consent filters, by a sequential
// scan. It is the ground truth recall is measured against, and too slow for serving.
func ExactPeers(ctx context.Context, db database.DBTX, memberID string, limit int) ([]string, error) {
	var out []string
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL enable_indexscan = off"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT v.member_id FROM member_vectors v JOIN members m ON m.id = v.member_id,
			member_vectors me WHERE me.member_id = $1 AND v.member_id <> $1
			AND m.consent_personalization AND m.consent_community
			ORDER BY v.embedding <=> me.embedding LIMIT $2`, memberID, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("exact peers: %w", err)
	}
	return out, nil
}
