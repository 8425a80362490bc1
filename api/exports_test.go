package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// exportPage reads one page of the members' export: its lines and next cursor.
func exportPage(t *testing.T, f fixture, query string) ([]map[string]any, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.url+"/v1/exports/members?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+f.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("export %s: %d %s", query, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var lines []map[string]any
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	next := resp.Header.Get("X-Next-Cursor")
	if (next != "") != (resp.Header.Get("X-Has-More") == "true") {
		t.Fatalf("X-Has-More %q with X-Next-Cursor %q", resp.Header.Get("X-Has-More"), next)
	}
	if next != "" && !strings.Contains(resp.Header.Get("Link"), "cursor="+url.QueryEscape(next)) {
		t.Fatalf("Link %q does not carry the cursor %q", resp.Header.Get("Link"), next)
	}
	return lines, next
}

// The export pages through every member once, in id order, with the same
// communities the real-time read gives, a reason wherever there are none, and with
// since only those who changed.
func TestExportPagesEveryMemberOnce(t *testing.T) {
	t.Parallel()
	f := setup(t, 300)
	seen := map[string]bool{}
	last, pages := "", 0
	for after := ""; ; {
		lines, next := exportPage(t, f, "limit=120&cursor="+url.QueryEscape(after))
		pages++
		for _, l := range lines {
			id := l["member_id"].(string)
			if seen[id] || id <= last {
				t.Fatalf("member %s out of order or twice (after %s)", id, last)
			}
			seen[id], last = true, id
		}
		if next == "" {
			break
		}
		if next != last {
			t.Fatalf("cursor %s, last line %s", next, last)
		}
		after = next
	}
	if len(seen) != countRows(t, f.pool, "members") || pages != 3 {
		t.Fatalf("exported %d members in %d pages, of %d", len(seen), pages, countRows(t, f.pool, "members"))
	}
	// A community explains itself.
	if code, cm := call(t, f.key, "GET", f.url+"/v1/communities/"+someCommunity(t, f), ""); code != 200 || cm["composition"] == nil ||
		len(cm["composition"].(map[string]any)["interests"].([]any)) == 0 {
		t.Fatalf("community: %d %v", code, cm)
	}
	lines, _ := exportPage(t, f, "limit=300")
	checked := 0
	for _, l := range lines {
		consent := l["consent"].(map[string]any)["personalization"] == true
		switch {
		case !consent:
			if l["reason"] != "no_consent" || l["stage"] != nil || len(l["communities"].([]any)) != 0 {
				t.Fatalf("a member without consent: %v", l)
			}
		case checked < 10:
			_, mc := call(t, f.key, "GET", f.url+"/v1/members/"+l["member_id"].(string)+"/communities", "")
			want := mc["communities"].([]any)[0].(map[string]any)
			got := l["primary_community"].(map[string]any)
			if got["id"] != want["id"] || got["name"] != want["name"] || l["stage"] == "" || l["next_action"] == nil || l["tribe"] == nil {
				t.Fatalf("export %v, real-time %v", l, want)
			}
			checked++
		}
	}
	// Changes only: nothing yet; then the member with a new event and the one with a
	// new profile.
	sinceT := time.Now().Add(time.Second).Truncate(time.Second) // RFC 3339 has whole seconds
	time.Sleep(time.Until(sinceT) + 100*time.Millisecond)
	since := sinceT.UTC().Format(time.RFC3339)
	if lines, next := exportPage(t, f, "since="+since); len(lines) != 0 || next != "" {
		t.Fatalf("changes since before anything changed: %d lines", len(lines))
	}
	active, edited := f.brand.Members[3].ID, f.brand.Members[7].ID
	if code, b := call(t, f.key, "POST", f.url+"/v1/events:batch", fmt.Sprintf(`{"id":"x-1","member_id":%q,"type":"run_logged","at":%q}`,
		active, time.Now().UTC().Format(time.RFC3339))); code != 200 {
		t.Fatalf("event: %d %v", code, b)
	}
	if code, b := call(t, f.key, "POST", f.url+"/v1/members:batch", fmt.Sprintf(`{"id":%q,"name":"New Name","timezone":"UTC"}`, edited)); code != 200 {
		t.Fatalf("profile: %d %v", code, b)
	}
	lines, _ = exportPage(t, f, "since="+since)
	var ids []string
	for _, l := range lines {
		ids = append(ids, l["member_id"].(string))
	}
	want := []string{active, edited}
	if active > edited {
		want = []string{edited, active}
	}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Fatalf("changed since: %v, want %v", ids, want)
	}
	for q, code := range map[string]string{"limit=0": "invalid_limit", "limit=100001": "invalid_limit", "since=yesterday": "invalid_since",
		"cursor=" + strings.Repeat("x", 200): "invalid_cursor"} {
		if c, b := call(t, f.key, "GET", f.url+"/v1/exports/members?"+q, ""); c != 400 || errCode(b) != code {
			t.Fatalf("export %s: %d %v", q, c, b)
		}
	}
}

// someCommunity is the id of a community of the current run.
func someCommunity(t *testing.T, f fixture) string {
	t.Helper()
	_, cs := call(t, f.key, "GET", f.url+"/v1/communities?limit=1", "")
	return cs["communities"].([]any)[0].(map[string]any)["id"].(string)
}
