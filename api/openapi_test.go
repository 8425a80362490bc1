package api_test

import (
	"context"
	"maps"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/migrations/dbtest"
	"github.com/belong-loyalty/belong/webhooks"
)

func TestOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	pool := dbtest.Schema(t)
	router := api.New(api.Config{DB: pool, Embedder: embeddings.NewLocal(), Service: newService(t, pool)})
	srv := httptest.NewServer(router)
	defer srv.Close()
	key := newKey(t, pool, apikey.ScopeAdmin)

	documented := map[string]bool{}
	ids := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = true
			// A generated client names its methods by operationId and groups them by tag.
			if op.OperationID == "" || ids[op.OperationID] || len(op.Tags) == 0 {
				t.Errorf("%s %s: operationId %q (unique, required) and tags %v (required)", method, path, op.OperationID, op.Tags)
			}
			ids[op.OperationID] = true
			// Every answer with a body has an example (validated against its schema by
			// doc.Validate above); BELONG_UPDATE_OPENAPI_EXAMPLES=1 go test ./api
			// records them from the tests' own answers.
			for code, r := range op.Responses.Map() {
				if !strings.HasPrefix(code, "2") || r.Value == nil {
					continue
				}
				for ct, mt := range r.Value.Content {
					if mt.Example == nil && len(mt.Examples) == 0 {
						t.Errorf("%s %s: the %s %s answer has no example", method, path, code, ct)
					}
				}
			}
		}
	}
	served := map[string]bool{}
	for _, r := range router.Routes() {
		if strings.HasPrefix(r.Path, "/console") {
			continue // the review console is HTML for people, not part of the API
		}
		path := strings.ReplaceAll(r.Path, `\:`, ":")
		// Only a parameter at the start of a segment is one; "members:batch" is literal.
		path = regexp.MustCompile(`/:([a-z_]+)`).ReplaceAllString(path, "/{$1}")
		served[r.Method+" "+path] = true
		if !documented[r.Method+" "+path] {
			t.Errorf("route %s %s is not in openapi.json", r.Method, path)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("openapi.json documents %s, which the router does not serve", op)
			continue
		}
		method, path, _ := strings.Cut(op, " ")
		url := srv.URL + regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllString(path, "x1")
		resp, body := raw(t, method, url, "", bearer(key)...)
		if strings.Contains(body, "route_not_found") || strings.Contains(body, "method_not_allowed") {
			t.Errorf("documented %s answers %d %s", op, resp.StatusCode, body)
		}
	}
	if resp, body := raw(t, "GET", srv.URL+"/openapi.json", "", bearer(key)...); resp.StatusCode != 200 || !strings.Contains(body, `"openapi": "3.1.0"`) {
		t.Fatalf("/openapi.json: %d", resp.StatusCode)
	}
	if resp, _ := raw(t, "GET", srv.URL+"/openapi.json", ""); resp.StatusCode != 401 {
		t.Fatalf("/openapi.json without a key: %d, want 401", resp.StatusCode)
	}
	// Every event a webhook can carry is documented, and nothing else.
	events := slices.Sorted(maps.Keys(doc.Webhooks))
	if want := slices.Sorted(slices.Values(webhooks.Types)); !slices.Equal(events, want) {
		t.Fatalf("webhooks documented %v, sent %v", events, want)
	}
}
