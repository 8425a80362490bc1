package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/osteele/liquid"
	"github.com/osteele/liquid/render"
)

// brazeEngine is a Liquid engine with Braze's connected_content tag, which here calls
// the real server: {% connected_content URL :headers {...} :save NAME %}.
func brazeEngine(t *testing.T, f fixture) *liquid.Engine {
	e := liquid.NewEngine()
	e.RegisterTag("connected_content", func(ctx render.Context) (string, error) {
		args, err := ctx.ExpandTagArg()
		if err != nil {
			return "", err
		}
		target, rest, _ := strings.Cut(strings.TrimSpace(args), " ")
		headers, save, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(rest), ":headers "), " :save ")
		if !ok {
			return "", fmt.Errorf("connected_content %q: want URL :headers {...} :save NAME", args)
		}
		req, err := http.NewRequest("GET", strings.Replace(target, "https://belong.example.com", f.url, 1), nil)
		if err != nil {
			return "", err
		}
		var hs map[string]string
		if err := json.Unmarshal([]byte(headers), &hs); err != nil {
			return "", fmt.Errorf("headers %q: %w", headers, err)
		}
		for k, v := range hs {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
			return "", fmt.Errorf("GET %s: %d %w", target, resp.StatusCode, err)
		}
		ctx.Set(strings.TrimSpace(save), body)
		return "", nil
	})
	return e
}

// The Braze recipes of docs/recipes.md, run against the real API: the community's
// approved name in the member's language, content in one shape whatever its kind,
// and a reason where there is nothing.
func TestRecipesRenderAgainstTheRealAPI(t *testing.T) {
	t.Parallel()
	f := setup(t, 300)
	doc, err := os.ReadFile("../docs/recipes.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```liquid\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) != 2 {
		t.Fatalf("docs/recipes.md has %d liquid blocks, want the moment and the communities recipes", len(blocks))
	}
	reader := newKey(t, f.pool, "match:read")
	recipe := func(i int) string {
		s := strings.ReplaceAll(blocks[i][1], "{{${user_id}}}", "{{ user_id }}") // Braze's attribute syntax
		return strings.ReplaceAll(s, "YOUR_BELONG_KEY", reader)
	}
	engine := brazeEngine(t, f)
	render := func(i int, member string) string {
		t.Helper()
		out, err := engine.ParseAndRenderString(recipe(i), map[string]any{"user_id": member})
		if err != nil {
			t.Fatalf("recipe %d for %s: %v", i, member, err)
		}
		return out
	}

	// A Swedish member whose community has an approved Swedish profile and challenge.
	var member, refused string
	var profile map[string]any
	for _, m := range f.brand.Members {
		if m.Consent.Personalization && member == "" {
			member = m.ID
			m.Locale = "sv-SE"
			line, _ := json.Marshal(m)
			if code, b := call(t, f.key, "POST", f.url+"/v1/members:batch", string(line)); code != 200 {
				t.Fatalf("member: %d %v", code, b)
			}
		}
		if !m.Consent.Personalization && refused == "" {
			refused = m.ID
		}
	}
	_, mc := call(t, f.key, "GET", f.url+"/v1/members/"+member+"/communities", "")
	first := mc["communities"].([]any)[0].(map[string]any)
	comm, labelName := first["id"].(string), first["name"].(string)
	for _, kind := range []string{"community_profile", "challenge"} {
		d := requestDraft(t, f, f.key, `{"kind":"`+kind+`","community_id":"`+comm+`","locale":"sv"}`)
		if code, b := call(t, f.key, "POST", f.url+"/v1/content/drafts/"+d["id"].(string)+"/approve", ""); code != 200 {
			t.Fatalf("approve %s: %d %v", kind, code, b)
		}
		if kind == "community_profile" {
			profile = d
		}
	}
	name := profile["body"].(map[string]any)["name"].(string)
	if name == labelName {
		t.Fatalf("the profile is named like the labels (%q): the test could not tell them apart", name)
	}

	out := render(0, member)
	for _, want := range []string{"<h1>", "Anta utmaningen", "Your community: " + name, "/community/" + comm} {
		if !strings.Contains(out, want) {
			t.Fatalf("moment recipe lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Nothing to say") {
		t.Fatalf("moment recipe with content says nothing:\n%s", out)
	}
	if out := render(0, refused); !strings.Contains(out, "Nothing to say today (no_consent)") || strings.Contains(out, "Your community") {
		t.Fatalf("moment recipe for a member without consent:\n%s", out)
	}
	if out := render(1, member); !strings.Contains(out, "1. "+name+" ("+comm+")") {
		t.Fatalf("communities recipe:\n%s", out)
	}
	if out := render(1, refused); !strings.Contains(out, "no communities: no_consent") {
		t.Fatalf("communities recipe for a member without consent:\n%s", out)
	}

	// Withdrawn, the profile's name gives way to the labels' again (no stale cache).
	if code, b := call(t, f.key, "POST", f.url+"/v1/content/drafts/"+profile["id"].(string)+"/withdraw", `{"reason":"renamed"}`); code != 200 {
		t.Fatalf("withdraw: %d %v", code, b)
	}
	if out := render(1, member); !strings.Contains(out, "1. "+labelName+" ("+comm+")") {
		t.Fatalf("communities recipe after the profile was withdrawn:\n%s", out)
	}
}
