package matching_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/matching/clustering"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// exactPeers is the ground truth of a scoped peer search, from the live tables
// (member_vectors, memberships, members), not the run's copies: the consenting
// members whose primary community is one of those of the scope, nearest first.
func exactPeers(t *testing.T, pool *pgxpool.Pool, id string, tribe bool, limit int) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		WITH me AS (SELECT v.embedding, ms.community_id, c.tribe_id FROM member_vectors v
			JOIN memberships ms ON ms.member_id = v.member_id AND ms.rank = 1 AND ms.run_id = (SELECT run_id FROM current_run)
			JOIN communities c ON c.run_id = ms.run_id AND c.id = ms.community_id WHERE v.member_id = $1)
		SELECT o.member_id FROM me, memberships o
		JOIN communities oc ON oc.run_id = o.run_id AND oc.id = o.community_id
		JOIN member_vectors ov ON ov.member_id = o.member_id
		JOIN members m ON m.id = o.member_id AND m.consent_personalization AND m.consent_community
		WHERE o.run_id = (SELECT run_id FROM current_run) AND o.rank = 1 AND o.member_id <> $1
			AND (CASE WHEN $2 THEN oc.tribe_id = me.tribe_id ELSE o.community_id = me.community_id END)
		ORDER BY ov.embedding <=> me.embedding, o.member_id LIMIT $3`, id, tribe, limit)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func peerIDs(ps []matching.Peer) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.MemberID
	}
	return out
}

// Peers in the member's community (precomputed when the run was published) and in
// their tribe (scanned) are exactly the nearest consenting members of the scope;
// withdrawn consent and erasure take effect at once, and an erased member leaves no
// trace in the run's peer lists or vector copies.
func TestScopedPeersAreExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	brand := loadDemo(t, pool, 600)
	if _, err := (&matching.Job{DB: pool, Config: matching.JobConfig{Cluster: clustering.ClusterConfig{TargetSize: 40, Seed: 1}}}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	view, err := matching.NewRuns(pool).Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range brand.Members {
		if m.Consent.Personalization && m.Consent.Community && len(ids) < 40 {
			ids = append(ids, m.ID)
		}
	}
	checked := 0
	for _, id := range ids {
		for _, scope := range []string{matching.ScopeCommunity, matching.ScopeTribe} {
			res, err := matching.Peers(ctx, pool, view, matching.PeerQuery{MemberID: id, Scope: scope, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			got, searched := res.Peers, res.Scope
			if len(res.Communities) == 0 || (scope == matching.ScopeCommunity && len(res.Communities) != 1) {
				t.Fatalf("%s peers of %s covered communities %v", scope, id, res.Communities)
			}
			want := exactPeers(t, pool, id, scope == matching.ScopeTribe, 10)
			if searched != scope || !slices.Equal(peerIDs(got), want) {
				t.Fatalf("%s peers of %s (%s): %v, exact %v", scope, id, searched, peerIDs(got), want)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Score > got[i-1].Score {
					t.Fatalf("%s peers of %s out of order: %+v", scope, id, got)
				}
			}
			checked += len(want)
		}
	}
	if checked < 200 {
		t.Fatalf("only %d peers checked", checked)
	}

	// A peer withdraws consent: gone from the page at once. Another is erased: gone
	// from every list and copy.
	res, err := matching.Peers(ctx, pool, view, matching.PeerQuery{MemberID: ids[0], Limit: 10})
	got := res.Peers
	if err != nil || len(got) < 2 {
		t.Fatalf("peers of %s: %v, %v", ids[0], got, err)
	}
	withdrawn, erased := got[0].MemberID, got[1].MemberID
	if _, err := pool.Exec(ctx, "UPDATE members SET consent_community = false WHERE id = $1", withdrawn); err != nil {
		t.Fatal(err)
	}
	if err := members.Erase(ctx, pool, erased); err != nil {
		t.Fatal(err)
	}
	res, err = matching.Peers(ctx, pool, view, matching.PeerQuery{MemberID: ids[0], Limit: 10})
	got = res.Peers
	if err != nil || slices.Contains(peerIDs(got), withdrawn) || slices.Contains(peerIDs(got), erased) {
		t.Fatalf("after withdrawal and erasure: %v, %v", peerIDs(got), err)
	}
	if want := exactPeers(t, pool, ids[0], false, 10); !slices.Equal(peerIDs(got), want) {
		t.Fatalf("after withdrawal and erasure: %v, exact %v", peerIDs(got), want)
	}
	var traces int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM run_peers WHERE $1 = ANY(peer_ids) OR member_id = $1)
		+ (SELECT count(*) FROM run_vectors WHERE member_id = $1)`, erased).Scan(&traces); err != nil || traces != 0 {
		t.Fatalf("erased member %s: %d traces in the run's peer lists and copies (%v)", erased, traces, err)
	}
	if _, err := matching.Peers(ctx, pool, view, matching.PeerQuery{MemberID: erased, Limit: 10}); !errors.Is(err, members.ErrNotFound) {
		t.Fatalf("peers of an erased member: %v", err)
	}

	// A member the run did not place (embedded after it) gets peers across everyone.
	for _, table := range []string{"memberships", "run_peers", "run_vectors"} {
		if _, err := pool.Exec(ctx, "DELETE FROM "+table+" WHERE member_id = $1", ids[1]); err != nil {
			t.Fatal(err)
		}
	}
	res, err = matching.Peers(ctx, pool, view, matching.PeerQuery{MemberID: ids[1], Limit: 5})
	if err != nil || res.Scope != matching.ScopeAll || len(res.Peers) != 5 || len(res.Communities) != 0 {
		t.Fatalf("member outside the run: %+v, %v", res, err)
	}
}

// Where the run divides communities by language, peers across the tribe and across
// everyone speak the member's language; without the facet they need not.
func TestPeersSpeakTheMembersLanguage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	brand := loadDemo(t, pool, 1500)
	lang := map[string]string{}
	for _, m := range brand.Members {
		lang[m.ID] = members.Language(m.Locale)
	}
	crossed := func(facets []string) (crossed, peers int) {
		t.Helper()
		if _, err := (&matching.Job{DB: pool, Config: matching.JobConfig{Facets: facets,
			Cluster: clustering.ClusterConfig{TargetSize: 40, Seed: 1}}}).RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		view, err := matching.NewRuns(pool).Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, m := range brand.Members {
			if !m.Consent.Personalization || !m.Consent.Community || checked == 40 {
				continue
			}
			checked++
			for _, scope := range []string{matching.ScopeTribe, matching.ScopeAll} {
				res, err := matching.Peers(ctx, pool, view, matching.PeerQuery{MemberID: m.ID, Scope: scope, Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range res.Peers {
					peers++
					if lang[p.MemberID] != lang[m.ID] {
						crossed++
					}
				}
			}
		}
		return crossed, peers
	}
	without, n := crossed(nil)
	with, m := crossed([]string{"language"})
	t.Logf("peers in another language: %d of %d without the language facet, %d of %d with it", without, n, with, m)
	if without == 0 || with != 0 || m < n/2 {
		t.Fatalf("peers in another language: %d of %d without the facet, %d of %d with it", without, n, with, m)
	}
}
