package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/accounts"
)

func TestPilotsAndFeedback(t *testing.T) {
	t.Parallel()
	f := setup(t, 600)
	var communities []string
	rows, err := f.pool.Query(t.Context(), "SELECT id FROM communities ORDER BY size DESC LIMIT 2")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		communities = append(communities, id)
	}
	rows.Close()
	body, _ := json.Marshal(map[string]any{"name": "Trail kit test", "size": 12, "seed": 3, "target": map[string]any{"communities": communities}})
	code, p := call(t, f.key, "POST", f.url+"/v1/pilots", string(body))
	if code != 201 || len(p["invitations"].([]any)) != 12 {
		t.Fatalf("create pilot: %d %v", code, p)
	}
	invited := map[string]bool{}
	for _, inv := range p["invitations"].([]any) {
		m := inv.(map[string]any)
		invited[m["member_id"].(string)] = true
		if m["stratum"] != communities[0] && m["stratum"] != communities[1] {
			t.Fatalf("invitation from outside the target: %v", m)
		}
	}
	// Nobody without consent, nobody twice across active pilots.
	for id := range invited {
		if n := countRows(t, f.pool, "members WHERE id = '"+id+"' AND consent_personalization AND consent_community"); n != 1 {
			t.Fatalf("invited %s lacks consent", id)
		}
	}
	code, p2 := call(t, f.key, "POST", f.url+"/v1/pilots", string(body))
	if code != 201 {
		t.Fatalf("second pilot: %d %v", code, p2)
	}
	for _, inv := range p2["invitations"].([]any) {
		if invited[inv.(map[string]any)["member_id"].(string)] {
			t.Fatal("a member was invited to two active pilots")
		}
	}

	// Feedback from an invited member counts towards the pilot; from others it is refused.
	var member, outsider string
	for id := range invited {
		member = id
		break
	}
	for _, m := range f.brand.Members {
		if !invited[m.ID] {
			outsider = m.ID
			break
		}
	}
	pid := p["id"].(string)
	for _, txt := range []string{"Loved the trail shoes test, great fit", "Great trail shoes, friendly group, loved it"} {
		fb, _ := json.Marshal(map[string]any{"member_id": member, "pilot_id": pid, "rating": 5, "text": txt})
		if code, b := call(t, f.key, "POST", f.url+"/v1/feedback", string(fb)); code != 201 || b["sentiment"].(float64) <= 0 {
			t.Fatalf("feedback: %d %v", code, b)
		}
	}
	fb, _ := json.Marshal(map[string]any{"member_id": outsider, "pilot_id": pid, "rating": 3, "text": "ok"})
	if code, b := call(t, f.key, "POST", f.url+"/v1/feedback", string(fb)); code != 422 || errCode(b) != "not_invited" {
		t.Fatalf("outsider feedback: %d %v", code, b)
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/feedback", `{"member_id":"`+member+`","rating":9}`); code != 400 {
		t.Fatalf("rating 9: %d %v", code, b)
	}
	code, sum := call(t, f.key, "GET", f.url+"/v1/pilots/"+pid+"/feedback", "")
	themes := sum["themes"].([]any)
	if code != 200 || sum["count"] != 2.0 || sum["mean_rating"] != 5.0 || len(themes) == 0 {
		t.Fatalf("summary: %d %v", code, sum)
	}
	hasShoes := false
	for _, th := range themes {
		hasShoes = hasShoes || th == "shoes" || th == "trail"
	}
	if !hasShoes {
		t.Fatalf("themes %v: want what the feedback was about", themes)
	}
	// The member's community summary counts the same feedback, in the API and console.
	_, mc := call(t, f.key, "GET", f.url+"/v1/members/"+member+"/communities?limit=1", "")
	comm := mc["communities"].([]any)[0].(map[string]any)["id"].(string)
	if code, cs := call(t, f.key, "GET", f.url+"/v1/communities/"+comm+"/feedback", ""); code != 200 || cs["count"].(float64) < 2 {
		t.Fatalf("community feedback: %d %v", code, cs)
	}
	if code, page := consoleGet(t, f.url+"/console/communities", f.admin); code != 200 || !strings.Contains(page, "★ 5") {
		t.Fatalf("console communities lacks the feedback summary: %d", code)
	}
	// A review key (not admin) sees the communities but not members' feedback, as in
	// the API, where the community feedback route is admin's.
	reviewer := newPerson(t, f.pool, accounts.RoleReviewer)
	if code, page := consoleGet(t, f.url+"/console/communities", reviewer); code != 200 || strings.Contains(page, "★ 5") {
		t.Fatalf("console communities for a review key: %d, feedback shown: %v", code, strings.Contains(page, "★ 5"))
	}
	// The console lists the pilot with its summary.
	if code, page := consoleGet(t, f.url+"/console/pilots", f.admin); code != 200 || !strings.Contains(page, "Trail kit test") || !strings.Contains(page, ">5<") {
		t.Fatalf("console pilots: %d\n%s", code, page)
	}
	// Closing frees the members and refuses further pilot feedback.
	if code, _ := call(t, f.key, "POST", f.url+"/v1/pilots/"+pid+"/close", ""); code != 200 {
		t.Fatalf("close: %d", code)
	}
	fb, _ = json.Marshal(map[string]any{"member_id": member, "pilot_id": pid, "rating": 4})
	if code, b := call(t, f.key, "POST", f.url+"/v1/feedback", string(fb)); code != 409 || errCode(b) != "pilot_closed" {
		t.Fatalf("feedback to a closed pilot: %d %v", code, b)
	}
	// Lifecycle stages as the target: every invitee is in a targeted stage, the stratum.
	code, p3 := call(t, f.key, "POST", f.url+"/v1/pilots", `{"name":"Newcomers","size":5,"target":{"stages":["growth","activation","onboarding"]}}`)
	if code != 201 || len(p3["invitations"].([]any)) != 5 {
		t.Fatalf("stage pilot: %d %v", code, p3)
	}
	for _, inv := range p3["invitations"].([]any) {
		if st := inv.(map[string]any)["stratum"]; st != "growth" && st != "activation" && st != "onboarding" {
			t.Fatalf("stage pilot invited from stratum %v", st)
		}
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/pilots", `{"name":"x","size":5,"target":{"stages":["vip"]}}`); code != 400 {
		t.Fatalf("unknown stage: %d %v", code, b)
	}
	if code, b := call(t, newKey(t, f.pool, "match:read"), "POST", f.url+"/v1/pilots", string(body)); code != 403 {
		t.Fatalf("a read key creating a pilot: %d %v", code, b)
	}
}
