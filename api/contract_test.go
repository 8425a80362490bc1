package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
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
	}
}
