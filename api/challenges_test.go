package api_test

import (
	"fmt"
	"html"
	"strings"
	"testing"
	"time"
)

// A loyalty team launches a group challenge for a community from approved content;
// members join by API (one outside the community is refused), walk together, and
// the journey platform reads the member's challenges, the challenge's leaderboard
// (first names of those who consented to community visibility only) and the moment.
// Bad input gets a 4xx with a stable code and writes nothing; scopes are enforced.
func TestChallengesAPI(t *testing.T) {
	t.Parallel()
	f := setup(t, 300)
	ctx := t.Context()
	// A community with members who consented, and one member outside it.
	var community string
	if err := f.pool.QueryRow(ctx, `SELECT ms.community_id FROM memberships ms JOIN members m ON m.id = ms.member_id
		WHERE ms.rank = 1 AND ms.run_id = (SELECT run_id FROM current_run) AND m.consent_personalization
		GROUP BY 1 HAVING count(*) >= 3 ORDER BY count(*) DESC, 1 LIMIT 1`).Scan(&community); err != nil {
		t.Fatal(err)
	}
	rows, err := f.pool.Query(ctx, `SELECT ms.member_id FROM memberships ms JOIN members m ON m.id = ms.member_id
		WHERE ms.rank = 1 AND ms.run_id = (SELECT run_id FROM current_run) AND ms.community_id = $1 AND m.consent_personalization
		ORDER BY m.consent_community DESC, 1 LIMIT 3`, community)
	if err != nil {
		t.Fatal(err)
	}
	var in []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		in = append(in, id)
	}
	var outside string
	if err := f.pool.QueryRow(ctx, `SELECT member_id FROM memberships WHERE rank = 1 AND run_id = (SELECT run_id FROM current_run)
		AND community_id <> $1 ORDER BY 1 LIMIT 1`, community).Scan(&outside); err != nil {
		t.Fatal(err)
	}

	ch := requestDraft(t, f, f.key, `{"kind":"challenge","community_id":"`+community+`","locale":"en"}`)
	today := time.Now().UTC()
	def := func(extra string) string {
		return fmt.Sprintf(`{"content_id":%q,"target":{"kind":"community","id":%q},"kind":"group",`+
			`"goal":{"type":"sum","event":"walk","prop":"km","target":20},"starts_on":%q,"ends_on":%q%s}`,
			ch["id"], community, today.AddDate(0, 0, -1).Format(time.DateOnly), today.AddDate(0, 0, 10).Format(time.DateOnly), extra)
	}
	// Not approved yet: refused.
	if code, b := call(t, f.key, "POST", f.url+"/v1/challenges", def("")); code != 422 || errCode(b) != "content_not_launchable" {
		t.Fatalf("launch from a draft: %d %v", code, b)
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/content/drafts/"+ch["id"].(string)+"/approve", ""); code != 200 {
		t.Fatalf("approve: %d %v", code, b)
	}
	for body, why := range map[string]string{
		def(`,"recurrence":"daily"`):                              "unknown recurrence",
		def(`,"timezone":"Mars/Olympus"`):                         "unknown zone",
		def(`,"adaptive":{"min":1,"max":9}`):                      "a group goal adapts",
		strings.Replace(def(""), `"target":20`, `"target":-1`, 1): "negative target",
		`{"content_id":"1"}`:                                      "half a definition",
		`[]`:                                                      "not an object",
	} {
		if code, b := call(t, f.key, "POST", f.url+"/v1/challenges", body); code != 400 {
			t.Errorf("%s: %d %v", why, code, b)
		}
	}
	if n := count(t, f, "SELECT count(*) FROM challenges"); n != 0 {
		t.Fatalf("refused launches wrote %d challenges", n)
	}
	read := newKey(t, f.pool, "match:read")
	if code, _ := call(t, read, "POST", f.url+"/v1/challenges", def("")); code != 403 {
		t.Fatalf("a read key launches a challenge: %d", code)
	}
	code, c := call(t, f.key, "POST", f.url+"/v1/challenges", def(`,"thresholds":[25,50]`))
	if code != 201 || c["status"] != "active" || c["title"] == "" || c["participants"] != 0.0 {
		t.Fatalf("launch: %d %v", code, c)
	}
	id := c["id"].(string)

	for _, m := range in {
		if code, b := call(t, f.key, "POST", f.url+"/v1/challenges/"+id+"/participants", `{"member_id":"`+m+`"}`); code != 201 || b["goal"] != 20.0 {
			t.Fatalf("join %s: %d %v", m, code, b)
		}
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/challenges/"+id+"/participants", `{"member_id":"`+in[0]+`"}`); code != 200 {
		t.Fatalf("join twice: %d %v, want 200", code, b)
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/challenges/"+id+"/participants", `{"member_id":"`+outside+`"}`); code != 422 || errCode(b) != "not_in_target" {
		t.Fatalf("join from outside: %d %v", code, b)
	}
	for path, want := range map[string]string{
		"/v1/challenges/x/participants":      "invalid_challenge_id",
		"/v1/challenges/999999/participants": "challenge_not_found",
	} {
		if code, b := call(t, f.key, "POST", f.url+path, `{"member_id":"`+in[0]+`"}`); errCode(b) != want || code < 400 || code > 499 {
			t.Errorf("%s: %d %v, want %s", path, code, b, want)
		}
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/challenges/"+id+"/participants", `{"member_id":"nobody"}`); code != 404 || errCode(b) != "member_not_found" {
		t.Fatalf("join an unknown member: %d %v", code, b)
	}

	// 3 members walk 4 km each, then one walks 10 more: 22 km of 20.
	var batch strings.Builder
	for i, m := range in {
		fmt.Fprintf(&batch, `{"id":"walk-%d","member_id":%q,"type":"walk","at":%q,"props":{"km":4}}`+"\n", i, m,
			time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/events:batch", batch.String()); code != 200 {
		t.Fatalf("walks: %d %v", code, b)
	}
	_, got := call(t, read, "GET", f.url+"/v1/challenges/"+id, "")
	if got["progress"] != 12.0 || got["share"] != 0.6 || got["status"] != "active" {
		t.Fatalf("after 12 km: %v", got)
	}
	_, mine := call(t, read, "GET", f.url+"/v1/members/"+in[0]+"/challenges", "")
	list := mine["challenges"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["progress"] != 4.0 || list[0].(map[string]any)["challenge"].(map[string]any)["days_left"] != 11.0 {
		t.Fatalf("the member's challenges: %v", mine)
	}
	_, moment := call(t, read, "GET", f.url+"/v1/members/"+in[0]+"/moment", "")
	if mc, _ := moment["challenge"].(map[string]any); mc == nil || mc["challenge"].(map[string]any)["id"] != id {
		t.Fatalf("the moment has no challenge: %v", moment)
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/events:batch",
		fmt.Sprintf(`{"id":"walk-x","member_id":%q,"type":"walk","at":%q,"props":{"km":10}}`, in[1], time.Now().Add(-time.Minute).UTC().Format(time.RFC3339))); code != 200 {
		t.Fatalf("one more walk: %d %v", code, b)
	}
	_, got = call(t, read, "GET", f.url+"/v1/challenges/"+id, "")
	if got["progress"] != 22.0 || got["status"] != "completed" || got["completed"] != 3.0 {
		t.Fatalf("after 22 km of 20: %v", got)
	}
	// The leaderboard: by contribution; only who consented to community visibility, by
	// first name, never a full name or an id.
	var visible int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM members WHERE id = ANY($1) AND consent_community`, in).Scan(&visible); err != nil {
		t.Fatal(err)
	}
	board := got["leaderboard"].([]any)
	if len(board) != visible {
		t.Fatalf("leaderboard of %d, want the %d who consented: %v", len(board), visible, board)
	}
	for _, e := range board {
		if name := e.(map[string]any)["first_name"].(string); strings.Contains(name, " ") || name == "" {
			t.Errorf("leaderboard name %q: want a first name", name)
		}
	}
	testBadges(t, f, read, id, community, in[0])
	if code, b := call(t, f.key, "POST", f.url+"/v1/challenges/"+id+"/end", ""); code != 200 || b["status"] != "completed" {
		t.Fatalf("end: %d %v", code, b)
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/challenges/"+id+"/end", ""); code != 409 || errCode(b) != "challenge_over" {
		t.Fatalf("end twice: %d %v", code, b)
	}
	if resp, b := raw(t, "DELETE", f.url+"/v1/challenges/"+id+"/participants/"+in[2], "", "Authorization", "Bearer "+f.key); resp.StatusCode != 204 {
		t.Fatalf("leave: %d %s", resp.StatusCode, b)
	}
	if code, b := call(t, f.key, "DELETE", f.url+"/v1/challenges/"+id+"/participants/"+in[2], ""); code != 404 || errCode(b) != "participant_not_found" {
		t.Fatalf("leave twice: %d %v", code, b)
	}
	if code, b := call(t, read, "GET", f.url+"/v1/members/nobody/challenges", ""); code != 404 {
		t.Fatalf("an unknown member's challenges: %d %v", code, b)
	}
	if code, b := call(t, read, "GET", f.url+"/v1/challenges?status=sleeping", ""); code != 400 || errCode(b) != "invalid_status" {
		t.Fatalf("bad status: %d %v", code, b)
	}
	if _, l := call(t, read, "GET", f.url+"/v1/challenges?status=all", ""); len(l["challenges"].([]any)) != 1 {
		t.Fatalf("list: %v", l)
	}
}

// testBadges follows the badges of challenge id, which member completed after a first
// walk: the challenge's badge was drafted when it was launched and the community's
// milestone badge when a first walk was recognised; neither shows before a reviewer
// approves it, both do after (drawn as SVG), and a withdrawn one stops showing.
func testBadges(t *testing.T, f fixture, read, id, community, member string) {
	t.Helper()
	f.settle(t)
	_, q := call(t, f.key, "GET", f.url+"/v1/content/drafts?kind=badge&status=draft", "")
	var challengeBadge string
	var badges []string
	for _, x := range q["drafts"].([]any) {
		d := x.(map[string]any)
		if d["subject_id"] != community {
			continue
		}
		badges = append(badges, d["id"].(string))
		if d["occasion"] == "challenge:"+id {
			challengeBadge = d["id"].(string)
		}
	}
	if challengeBadge == "" || len(badges) < 2 {
		t.Fatalf("badge drafts of %s: %v; want the challenge's and a milestone's", community, q["drafts"])
	}
	if code, b := call(t, read, "GET", f.url+"/v1/members/"+member+"/badges", ""); code != 200 || len(b["badges"].([]any)) != 0 {
		t.Fatalf("badges before approval: %d %v", code, b)
	}
	for _, d := range badges {
		if code, b := call(t, f.key, "POST", f.url+"/v1/content/drafts/"+d+"/approve", ""); code != 200 {
			t.Fatalf("approve badge %s: %d %v", d, code, b)
		}
	}
	code, b := call(t, read, "GET", f.url+"/v1/members/"+member+"/badges", "")
	awards := map[string]map[string]any{}
	for _, x := range b["badges"].([]any) {
		a := x.(map[string]any)
		awards[a["key"].(string)] = a
		badge := a["badge"].(map[string]any)
		svg, name := badge["svg"].(string), badge["name"].(string)
		if !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, html.EscapeString(name)) || badge["community_id"] != community {
			t.Errorf("award %v: want an SVG emblem titled with the badge's name, in the community's colours", a)
		}
	}
	ch, walk := awards["challenge:"+id], awards["count:walk:1"]
	if code != 200 || ch == nil || ch["challenge_id"] != id || ch["badge"].(map[string]any)["id"] != challengeBadge ||
		walk == nil || walk["occasion"] != "milestone" || !strings.Contains(walk["badge"].(map[string]any)["svg"].(string), html.EscapeString(walk["detail"].(string))) {
		t.Fatalf("badges after approval: %d %v; want the challenge's and the first walk's (its detail on the ribbon)", code, b)
	}
	for path, want := range map[string]string{
		"/v1/members/" + member + "/badges?locale=fr": "invalid_locale",
		"/v1/members/nobody/badges":                   "member_not_found",
	} {
		if code, b := call(t, read, "GET", f.url+path, ""); errCode(b) != want || code < 400 || code > 499 {
			t.Errorf("%s: %d %v, want %s", path, code, b, want)
		}
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/content/drafts/"+challengeBadge+"/withdraw", `{"reason":"off-brand"}`); code != 200 {
		t.Fatalf("withdraw the challenge's badge: %d %v", code, b)
	}
	_, b = call(t, read, "GET", f.url+"/v1/members/"+member+"/badges", "")
	for _, x := range b["badges"].([]any) {
		if x.(map[string]any)["occasion"] == "challenge" {
			t.Fatalf("a withdrawn badge is still shown: %v", b)
		}
	}
}

func count(t *testing.T, f fixture, q string) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(t.Context(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
