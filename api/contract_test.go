package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/belong-loyalty/belong/api"
)

// The contract: every answer an API test receives is checked against openapi.json
// (status documented, JSON body matching its schema where the document gives one),
// through raw, which every API test calls.
var contract struct {
	once   sync.Once
	router routers.Router
	err    error
}

func contractRouter() (routers.Router, error) {
	contract.once.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
		if err != nil {
			contract.err = err
			return
		}
		doc.Servers = nil // any host: the test servers' ports vary
		contract.router, contract.err = gorillamux.NewRouter(doc)
		// The export is JSON Lines: each line must match the schema.
		openapi3filter.RegisterBodyDecoder("application/x-ndjson", func(r io.Reader, _ http.Header, schema *openapi3.SchemaRef,
			_ openapi3filter.EncodingFn) (any, error) {
			var last any
			dec := json.NewDecoder(r)
			for dec.More() {
				var v any
				if err := dec.Decode(&v); err != nil {
					return nil, err
				}
				if err := schema.Value.VisitJSON(v); err != nil {
					return nil, err
				}
				last = v
			}
			return last, nil
		})
	})
	return contract.router, contract.err
}

// checkContract reports where an answer departs from the document. Pages and assets
// outside the API (the console, static files) are not in it.
func checkContract(t *testing.T, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	if strings.HasPrefix(req.URL.Path, "/console") {
		return
	}
	r, err := contractRouter()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	u := *req.URL
	u.Host, u.Scheme = "", ""
	probe := req.Clone(context.Background())
	probe.URL = &url.URL{Path: u.Path, RawQuery: u.RawQuery}
	route, params, err := r.FindRoute(probe)
	if err != nil {
		return // an undocumented path: TestOpenAPICoversEveryRoute guards the routes
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true,
			// An empty page of JSON Lines has no line to check.
			ExcludeResponseBody: len(bytes.TrimSpace(body)) == 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson")},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s answered %d, which openapi.json does not allow: %v\nbody: %.300s", req.Method, req.URL.Path, resp.StatusCode, err, body)
		return
	}
	recordExample(route, resp, body)
}

// examples keeps the first successful JSON answer of each operation the tests make;
// with BELONG_UPDATE_OPENAPI_EXAMPLES=1, writeExamples puts them in openapi.json as
// each operation's example (TestOpenAPIExamples checks every operation has one).
var examples sync.Map // "METHOD /path" → example

type example struct {
	status int
	body   any
}

func recordExample(route *routers.Route, resp *http.Response, body []byte) {
	if resp.StatusCode < 200 || resp.StatusCode > 299 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		route.Path == "/openapi.json" { // the document itself: an example of it would hold itself
		return
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return
	}
	examples.LoadOrStore(route.Method+" "+route.Path, example{resp.StatusCode, trim(v)})
}

// trim shortens lists to two items and hides secrets, for a readable example.
func trim(v any) any {
	switch t := v.(type) {
	case []any:
		if len(t) > 2 {
			t = t[:2]
		}
		for i := range t {
			t[i] = trim(t[i])
		}
		return t
	case map[string]any:
		for k, x := range t {
			if k == "secret" || k == "previous_secret" || k == "svg" {
				if s, ok := x.(string); ok && len(s) > 12 {
					t[k] = s[:12] + "…"
				}
				continue
			}
			t[k] = trim(x)
		}
	}
	return v
}

// writeExamples puts the recorded examples into api/openapi.json, when asked to.
func writeExamples() {
	if os.Getenv("BELONG_UPDATE_OPENAPI_EXAMPLES") != "1" {
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		panic(err)
	}
	paths := doc["paths"].(map[string]any)
	examples.Range(func(k, v any) bool {
		method, path, _ := strings.Cut(k.(string), " ")
		ex := v.(example)
		op, _ := paths[path].(map[string]any)[strings.ToLower(method)].(map[string]any)
		if op == nil {
			return true
		}
		r, _ := op["responses"].(map[string]any)[strconv.Itoa(ex.status)].(map[string]any)
		if r == nil {
			return true
		}
		if c, ok := r["content"].(map[string]any)["application/json"].(map[string]any); ok {
			c["example"] = ex.body
		}
		return true
	})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		panic(err)
	}
	if err := os.WriteFile("openapi.json", buf.Bytes(), 0o644); err != nil {
		panic(err)
	}
}
