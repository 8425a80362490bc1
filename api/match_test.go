package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/internal/openaitest"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

func TestMatchingEndpoints(t *testing.T) {
	t.Parallel()
	f := setup(t, 800)
	if code, body := call(t, f.key, "GET", f.url+"/readyz", ""); code != 200 || body["status"] != "ready" {
		t.Fatalf("readyz: %d %v", code, body)
	}

	var consenting, refused string
	for _, m := range f.brand.Members {
		if m.Consent.Personalization && consenting == "" {
			consenting = m.ID
		}
		if !m.Consent.Personalization && refused == "" {
			refused = m.ID
		}
	}
	code, body := call(t, f.key, "GET", f.url+"/v1/members/"+consenting+"/communities", "")
	if code != 200 || body["member_id"] != consenting || body["run_id"] == "" {
		t.Fatalf("member communities: %d %v", code, body)
	}
	cs := body["communities"].([]any)
	if len(cs) < 1 || len(cs) > 3 {
		t.Fatalf("got %d communities, want a primary and at most 2 secondaries", len(cs))
	}
	first := cs[0].(map[string]any)
	if first["primary"] != true || len(first["labels"].([]any)) == 0 || first["name"] == "" || first["score"].(float64) <= 0 {
		t.Fatalf("primary community %v: want labelled, named, scored", first)
	}
	for _, c := range cs[1:] {
		if c.(map[string]any)["primary"] != false {
			t.Fatalf("secondary community marked primary: %v", c)
		}
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/members/"+consenting+"/communities?limit=1", ""); code != 200 || len(body["communities"].([]any)) != 1 {
		t.Fatalf("limit=1: %d %v", code, body)
	}
	for _, q := range []string{"limit=0", "limit=99", "limit=x"} {
		if code, body := call(t, f.key, "GET", f.url+"/v1/members/"+consenting+"/communities?"+q, ""); code != 400 || errCode(body) != "invalid_limit" {
			t.Fatalf("%s: %d %v", q, code, body)
		}
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/members/"+refused+"/communities", ""); code != 200 || len(body["communities"].([]any)) != 0 {
		t.Fatalf("member without consent: %d %v, want no communities", code, body)
	}

	// Cold start: a trail runner's profile lands in a community labelled for it.
	code, body = call(t, f.key, "POST", f.url+"/v1/match", `{"profile":{"interests":["trail running","hiking"],"causes":["sustainability"],"skill_level":"beginner"},"limit":2}`)
	if code != 200 || len(body["communities"].([]any)) != 2 {
		t.Fatalf("match: %d %v", code, body)
	}
	best := body["communities"].([]any)[0].(map[string]any)
	labels := []string{}
	for _, l := range best["labels"].([]any) {
		labels = append(labels, l.(string))
	}
	if best["primary"] != true || !slices.ContainsFunc(labels, func(l string) bool { return strings.Contains(l, "trail") || l == "hiking" }) {
		t.Fatalf("best match for a trail runner: %v", best)
	}
	for _, bad := range []struct{ body, code string }{
		{`{"profile":{}}`, "invalid_profile"},
		{`{"profile":{"skill_level":"guru"}}`, "invalid_request"},
		{`{"profile":{"interests":["yoga"]},"limit":50}`, "invalid_request"},
		{`{"profile":{"interests":["yoga"]},"colour":"red"}`, "invalid_request"},
		{`{"profile":{"interests":"yoga"}}`, "invalid_request"},
		{`{"profile":{"interests":[" "]}}`, "invalid_profile"},
		{`{"profile":{"interests":["yoga"]}} {}`, "invalid_json"},
		{``, "invalid_json"},
	} {
		if code, body := call(t, f.key, "POST", f.url+"/v1/match", bad.body); code != 400 || errCode(body) != bad.code {
			t.Errorf("match %q: %d %v, want 400 %s", bad.body, code, body, bad.code)
		}
	}

	// Communities: pages that cover every community once, and each one by id.
	seen := map[string]bool{}
	after := ""
	for page := 0; page < 100; page++ {
		code, body := call(t, f.key, "GET", f.url+"/v1/communities?limit=7&cursor="+after, "")
		if code != 200 {
			t.Fatalf("list: %d %v", code, body)
		}
		for _, c := range body["communities"].([]any) {
			id := c.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("community %s listed twice", id)
			}
			seen[id] = true
		}
		next, ok := body["next_cursor"].(string)
		if ok != (body["has_more"] == true) {
			t.Fatalf("has_more %v with next_cursor %q", body["has_more"], next)
		}
		if !ok {
			break
		}
		after = next
	}
	if n := countRows(t, f.pool, "communities"); len(seen) != n {
		t.Fatalf("listed %d communities, stored %d", len(seen), n)
	}
	id := first["id"].(string)
	if code, body := call(t, f.key, "GET", f.url+"/v1/communities/"+id, ""); code != 200 || body["id"] != id || body["size"].(float64) < 1 {
		t.Fatalf("get community: %d %v", code, body)
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/communities/c-0", ""); code != 404 || errCode(body) != "community_not_found" {
		t.Fatalf("unknown community: %d %v", code, body)
	}
}

func FuzzDecodeMatchRequest(f *testing.F) {
	f.Add(`{"profile":{"interests":["trail running"],"causes":["sustainability"],"skill_level":"beginner"},"limit":3}`)
	f.Add(`{"profile":{"interests":[""]}}`)
	f.Add(`{"limit":-1}`)
	f.Fuzz(func(t *testing.T, in string) {
		req, err := api.DecodeMatchRequest(strings.NewReader(in))
		if err != nil {
			return
		}
		if req.Limit < 1 || req.Limit > 20 {
			t.Fatalf("accepted limit %d", req.Limit)
		}
		if err := req.Profile.Normalize(); err != nil {
			t.Fatalf("accepted an invalid profile: %v", err)
		}
	})
}

func TestMatchAnswers503WhenTheEmbedderIsDown(t *testing.T) {
	t.Parallel()
	down := openaitest.NewEmbeddings(t, func(_ int, _ openaitest.EmbeddingsRequest, w http.ResponseWriter, _ *http.Request) {
		openaitest.Fail(w, http.StatusServiceUnavailable, "overloaded")
	})
	emb, err := embeddings.NewOpenAI(embeddings.OpenAIConfig{BaseURL: down.URL, Model: "text-embedding-3-small"})
	if err != nil {
		t.Fatal(err)
	}
	pool := dbtest.Schema(t)
	srv := httptest.NewServer(api.New(api.Config{DB: pool, Embedder: emb, Service: newService(t, pool)}))
	defer srv.Close()
	code, body := call(t, newKey(t, pool, apikey.ScopeMatchRead), "POST", srv.URL+"/v1/match", `{"profile":{"interests":["yoga"]}}`)
	if code != 503 || errCode(body) != "embedder_unavailable" {
		t.Fatalf("match with the embedder down: %d %v", code, body)
	}
}

func TestMatchNeverMixesModels(t *testing.T) {
	t.Parallel()
	f := setup(t, 200) // clustered with the hashing model
	other := embeddings.NewLocal().WithWeights(1, 0)
	srv := httptest.NewServer(api.New(api.Config{DB: f.pool, Service: newService(t, f.pool), Embedder: other}))
	defer srv.Close()
	code, body := call(t, f.key, "POST", srv.URL+"/v1/match", `{"profile":{"interests":["yoga"]}}`)
	if code != 503 || errCode(body) != "model_mismatch" {
		t.Fatalf("match with another model: %d %v", code, body)
	}
}

func TestClusterRunsAndMultiMembership(t *testing.T) {
	t.Parallel()
	f := setup(t, 800)
	code, body := call(t, f.key, "GET", f.url+"/v1/cluster-runs", "")
	runs, _ := body["cluster_runs"].([]any)
	if code != 200 || len(runs) != 1 {
		t.Fatalf("cluster runs: %d %v", code, body)
	}
	run := runs[0].(map[string]any)
	metrics := run["metrics"].(map[string]any)
	for _, k := range []string{"cohesion", "silhouette", "min_size", "median_size", "max_size", "churn", "births", "deaths", "tribes"} {
		if _, ok := metrics[k]; !ok {
			t.Errorf("run metrics lack %q: %v", k, metrics)
		}
	}
	if run["status"] != "published" || run["current"] != true || metrics["min_size"].(float64) < 12 || metrics["max_size"].(float64) > 150 {
		t.Fatalf("run %v: want the published, current run within size bounds", run)
	}
	id := run["id"].(string)
	if code, body := call(t, f.key, "GET", f.url+"/v1/cluster-runs/"+id, ""); code != 200 || body["id"] != id {
		t.Fatalf("get run: %d %v", code, body)
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/cluster-runs/999999", ""); code != 404 || errCode(body) != "cluster_run_not_found" {
		t.Fatalf("unknown run: %d %v", code, body)
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/cluster-runs/abc", ""); code != 400 || errCode(body) != "invalid_run_id" {
		t.Fatalf("bad run id: %d %v", code, body)
	}

	// Secondary communities come with their rank and score, above the threshold, and
	// every community carries its tribe.
	secondaries := 0
	for _, m := range f.brand.Members[:100] {
		code, body := call(t, f.key, "GET", f.url+"/v1/members/"+m.ID+"/communities", "")
		if code != 200 {
			t.Fatalf("member %s: %d %v", m.ID, code, body)
		}
		for i, c := range body["communities"].([]any) {
			c := c.(map[string]any)
			if int(c["rank"].(float64)) != i+1 || (i == 0) != c["primary"].(bool) {
				t.Fatalf("member %s community %d: rank %v primary %v", m.ID, i, c["rank"], c["primary"])
			}
			if tribe, _ := c["tribe"].(map[string]any); tribe == nil || tribe["id"] == "" || tribe["name"] == "" {
				t.Fatalf("community without a tribe: %v", c)
			}
			if i > 0 {
				secondaries++
				if c["score"].(float64) < 0.75 {
					t.Fatalf("secondary below the 0.75 threshold: %v", c)
				}
			}
		}
	}
	if secondaries == 0 {
		t.Fatal("no member of 100 has a secondary community")
	}
}

func TestPeers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, 1500)
	noCommunity := map[string]bool{}
	var id string
	for _, m := range f.brand.Members {
		if !m.Consent.Community || !m.Consent.Personalization {
			noCommunity[m.ID] = true
		} else if id == "" {
			id = m.ID
		}
	}
	code, body := call(t, f.key, "GET", f.url+"/v1/members/"+id+"/peers?limit=10", "")
	peers, _ := body["peers"].([]any)
	if code != 200 || len(peers) != 10 {
		t.Fatalf("peers: %d %v", code, body)
	}
	last := 2.0
	for _, p := range peers {
		p := p.(map[string]any)
		pid := p["member_id"].(string)
		if pid == id || noCommunity[pid] {
			t.Fatalf("peer %s: the member itself or without consent", pid)
		}
		if s := p["score"].(float64); s > last {
			t.Fatalf("peers not ordered by score: %v", peers)
		} else {
			last = s
		}
		if name, _ := p["first_name"].(string); strings.Contains(name, " ") {
			t.Fatalf("peer name %q is more than a first name", name)
		}
	}
	// Filtered by a community: every peer is in it.
	view, err := f.svc.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mm, err := matching.MemberCommunities(ctx, f.pool, view, id, 1)
	if err != nil {
		t.Fatal(err)
	}
	comm := mm.Communities[0].ID
	code, body = call(t, f.key, "GET", f.url+"/v1/members/"+id+"/peers?limit=5&community="+comm, "")
	if code != 200 || len(body["peers"].([]any)) == 0 {
		t.Fatalf("peers in %s: %d %v", comm, code, body)
	}
	for _, p := range body["peers"].([]any) {
		pid := p.(map[string]any)["member_id"].(string)
		if n := countRows(t, f.pool, "memberships WHERE member_id = '"+pid+"' AND community_id = '"+comm+"' AND run_id = (SELECT run_id FROM current_run)"); n == 0 {
			t.Fatalf("peer %s is not in community %s", pid, comm)
		}
	}
	if code, body := call(t, f.key, "GET", f.url+"/v1/members/"+id+"/peers?community=c-0", ""); code != 404 || errCode(body) != "community_not_found" {
		t.Fatalf("unknown community: %d %v", code, body)
	}

	// Recall@10 of the HNSW search against exact search, over 40 members.
	var hits, total int
	for _, m := range f.brand.Members[:120] {
		if noCommunity[m.ID] {
			continue
		}
		res, err := matching.Peers(ctx, f.pool, view, matching.PeerQuery{MemberID: m.ID, Scope: matching.ScopeAll, Limit: 10})
		got := res.Peers
		if err != nil {
			t.Fatal(err)
		}
		exact, err := matching.ExactPeers(ctx, f.pool, view, m.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, e := range exact {
			want[e] = true
		}
		for _, p := range got {
			if want[p.MemberID] {
				hits++
			}
		}
		total += len(exact)
		if total >= 400 {
			break
		}
	}
	recall := float64(hits) / float64(total)
	t.Logf("recall@10 %.3f over %d neighbours", recall, total)
	if recall < 0.9 {
		t.Fatalf("recall@10 %.3f, want ≥ 0.9", recall)
	}
}

// Peer scopes: the answer says where it searched; a bad scope, or a scope beside a
// named community, is a 400 that names the parameter.
func TestPeerScopes(t *testing.T) {
	t.Parallel()
	f := setup(t, 200)
	var id string
	for _, m := range f.brand.Members {
		if m.Consent.Personalization && m.Consent.Community {
			id = m.ID
			break
		}
	}
	seen := map[string]int{}
	for _, scope := range []string{"", "community", "tribe", "all"} {
		code, body := call(t, f.key, "GET", f.url+"/v1/members/"+id+"/peers?limit=5&scope="+scope, "")
		want := scope
		if want == "" {
			want = "community"
		}
		if code != 200 || body["scope"] != want || len(body["peers"].([]any)) == 0 {
			t.Fatalf("scope %q: %d %v", scope, code, body)
		}
		seen[want] = len(body["peers"].([]any))
	}
	if seen["all"] != 5 {
		t.Fatalf("scope all: %d peers, want 5", seen["all"])
	}
	for _, q := range []string{"scope=everyone", "scope=all&community=c-1", "scope=tribe&community=c-1"} {
		code, body := call(t, f.key, "GET", f.url+"/v1/members/"+id+"/peers?"+q, "")
		if code != 400 || errCode(body) != "invalid_scope" {
			t.Fatalf("%s: %d %v", q, code, body)
		}
	}
}
