package matching

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/storage"
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
	me, err := storage.New(db).PeerMember(ctx, memberID)
	if err != nil {
		return nil, notFoundOr(err, members.ErrNotFound, "read member")
	}
	vec, model, terms := me.Embedding, me.Model, me.Terms
	if !me.Consent || vec == nil || model == nil {
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
		if err := storage.SetPeerSearch(ctx, tx, PeerSearch); err != nil {
			return err
		}
		rows, err := storage.New(tx).Peers(ctx, storage.PeersParams{Embedding: *vec, MemberID: memberID,
			Community: community, RunID: run, Lim: int32(limit), Model: *model})
		if err != nil {
			return err
		}
		for _, r := range rows {
			p := Peer{MemberID: r.MemberID, Score: round3(r.Score), Shared: Shared(terms, r.Terms)}
			p.Name, _, _ = strings.Cut(r.Name, " ") // a first name, never more
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find peers: %w", storage.Translate(err, nil))
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
		q := storage.New(tx)
		if err := q.DisableIndexScans(ctx); err != nil {
			return err
		}
		ids, err := q.ExactPeers(ctx, storage.ExactPeersParams{MemberID: memberID, Lim: int32(limit)})
		if err != nil {
			return err
		}
		out = ids
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("exact peers: %w", storage.Translate(err, nil))
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}
