package matching

import (
	"cmp"
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

// PeerSearch is pgvector's HNSW search width for peer queries across the whole
// membership: recall@10 measured against exact search on the demo is in the README
// (BenchmarkPeers).
const PeerSearch = 100

// Scopes of a peer search.
const (
	// ScopeCommunity searches the members of the member's primary community.
	ScopeCommunity = "community"
	// ScopeTribe searches the members whose primary community is in the member's tribe.
	ScopeTribe = "tribe"
	// ScopeAll searches every member through the HNSW index.
	ScopeAll = "all"
)

// Scopes are the peer search scopes, the default first.
var Scopes = []string{ScopeCommunity, ScopeTribe, ScopeAll}

// PeerResult is a peer search's answer.
type PeerResult struct {
	Peers []Peer
	// Scope is where the search ran; Communities are the communities it covered
	// (none for ScopeAll, which covers everyone).
	Scope       string
	Communities []string
}

// PeerQuery says whose peers to find and where.
type PeerQuery struct {
	MemberID string
	// Scope is one of Scopes (ScopeCommunity when empty); Community, when set,
	// searches that community of the run instead.
	Scope, Community string
	Limit            int
}

// Peers returns the members most similar to the query's member, most similar first.
// Peers never include the member, and only members who consented to personalization
// and to community features appear; a member without that consent, or without a
// vector in the run's model, has none.
//
// A micro-community has at most a few hundred members, so the searches within a
// community or a tribe are exact. In the member's own community the nearest 64 were listed when run v
// was published (run_peers): one row and the peers' own rows are read. Another
// community, or the member's tribe, is an exact scan of the run's vector copies in
// one round trip. Peers less alike than the run's PeerFloor (the median cosine of
// random pairs of members) are less alike than strangers usually are and are left
// out, so a page can be shorter than the limit. Where the run divided communities by
// language (the language facet), peers across a tribe or everyone speak the member's
// language too: a peer one cannot talk to is no peer. Only ScopeAll goes through the global HNSW index (recall@10 ≥ 0.95
// at PeerSearch), and so does a member with no community in the run (embedded after
// it). The scope searched and the communities it covered come with the peers.
func Peers(ctx context.Context, db database.DBTX, v *View, q PeerQuery) (PeerResult, error) {
	type row struct {
		consent, inRun, hasPeer bool
		terms, peerTerms        []string
		id, name                string
		score                   float64
		community, tribe        string
	}
	var rows []row
	var err error
	scope := cmp.Or(q.Scope, ScopeCommunity)
	switch {
	case q.Community != "":
		if _, err := GetCommunity(v, q.Community); err != nil {
			return PeerResult{}, err
		}
		fallthrough
	case scope == ScopeTribe:
		var rs []storage.ScopedPeersRow
		rs, err = storage.New(db).ScopedPeers(ctx, storage.ScopedPeersParams{MemberID: q.MemberID, Model: v.Model,
			RunID: v.ID, Community: q.Community, Tribe: q.Community == "" && scope == ScopeTribe, Lim: int32(q.Limit),
			SameLanguage: v.ByLanguage})
		for _, r := range rs {
			rows = append(rows, row{r.Consent, r.InRun, r.HasPeer, r.Terms, r.PeerTerms, r.PeerID, r.PeerName, r.Score,
				r.CommunityID, r.TribeID})
		}
	case scope == ScopeAll:
		ps, err := globalPeers(ctx, db, v, q)
		return PeerResult{Peers: ps, Scope: ScopeAll}, err
	default:
		var rs []storage.RunPeersRow
		rs, err = storage.New(db).RunPeers(ctx, storage.RunPeersParams{MemberID: q.MemberID, RunID: v.ID, Lim: int32(q.Limit)})
		for _, r := range rs {
			rows = append(rows, row{r.Consent, r.InRun, r.HasPeer, r.Terms, r.PeerTerms, r.PeerID, r.PeerName, r.Score,
				r.CommunityID, ""})
		}
	}
	if err == nil && len(rows) == 0 {
		err = members.ErrNotFound
	}
	if err != nil {
		return PeerResult{}, notFoundOr(err, members.ErrNotFound, "find peers")
	}
	me := rows[0]
	if q.Community == "" && me.consent && !me.inRun {
		ps, err := globalPeers(ctx, db, v, q)
		return PeerResult{Peers: ps, Scope: ScopeAll}, err
	}
	res := PeerResult{Peers: []Peer{}, Scope: scope}
	switch {
	case q.Community != "":
		res.Communities = []string{q.Community}
	case scope == ScopeTribe:
		res.Communities = v.TribeCommunities(me.tribe)
	case me.community != "":
		res.Communities = []string{me.community}
	}
	terms := keysOf(me.terms)
	for _, r := range rows {
		if r.hasPeer && r.score >= v.PeerFloor {
			res.Peers = append(res.Peers, newPeer(r.id, r.name, r.score, me.terms, terms, r.peerTerms))
		}
	}
	return res, nil
}

// newPeer is a peer with the terms the two share; a first name, never more.
func newPeer(id, name string, score float64, terms, termKeys, theirs []string) Peer {
	first, _, _ := strings.Cut(name, " ")
	return Peer{MemberID: id, Name: first, Score: round3(score), Shared: sharedKeys(terms, termKeys, keysOf(theirs))}
}

// globalPeers searches every consenting member through the HNSW index, with
// pgvector's iterative scan so that the consent filter still fills the page.
func globalPeers(ctx context.Context, db database.DBTX, v *View, q PeerQuery) ([]Peer, error) {
	me, err := storage.New(db).PeerMember(ctx, storage.PeerMemberParams{MemberID: q.MemberID, Model: v.Model})
	if err != nil {
		return nil, notFoundOr(err, members.ErrNotFound, "read member")
	}
	out := []Peer{}
	if !me.Consent || me.Embedding == nil {
		return out, nil
	}
	terms := keysOf(me.Terms)
	err = database.InTx(ctx, db, func(tx pgx.Tx) error {
		if err := storage.SetPeerSearch(ctx, tx, PeerSearch); err != nil {
			return err
		}
		lang := ""
		if v.ByLanguage {
			lang = me.Lang
		}
		rows, err := storage.New(tx).Peers(ctx, storage.PeersParams{Embedding: *me.Embedding, MemberID: q.MemberID,
			Lim: int32(q.Limit), Model: v.Model, Lang: lang})
		for _, r := range rows {
			if r.Score < v.PeerFloor {
				break // most similar first: the rest are strangers too
			}
			out = append(out, newPeer(r.MemberID, r.Name, r.Score, me.Terms, terms, r.Terms))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find peers: %w", storage.Translate(err, nil))
	}
	return out, nil
}

// ExactPeers is Peers across everyone without the index: the same consent and
// language filters as the run v serves, by a sequential scan. It is the ground truth
// recall is measured against, and too slow for serving.
func ExactPeers(ctx context.Context, db database.DBTX, v *View, memberID string, limit int) ([]string, error) {
	var out []string
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		q := storage.New(tx)
		if err := q.DisableIndexScans(ctx); err != nil {
			return err
		}
		ids, err := q.ExactPeers(ctx, storage.ExactPeersParams{MemberID: memberID, Lim: int32(limit), SameLanguage: v.ByLanguage})
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

// PrimaryCommunitiesOf returns the primary communities of some members in the
// current run.
func PrimaryCommunitiesOf(ctx context.Context, db database.DBTX, ids []string) ([]string, error) {
	cs, err := storage.New(db).PrimaryCommunitiesOf(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("primary communities: %w", storage.Translate(err, nil))
	}
	return cs, nil
}
