package api

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/gin-gonic/gin"
)

// OpenAPI is the API's OpenAPI 3 document, served at /openapi.json. Tests hold the
// router to it: every route is documented and every documented route answers.
//
//go:embed openapi.json
var OpenAPI []byte

var (
	docOnce sync.Once
	doc     *openapi3.T
	docErr  error
)

func openAPIDoc() (*openapi3.T, error) {
	docOnce.Do(func() {
		l := openapi3.NewLoader()
		doc, docErr = l.LoadFromData(OpenAPI)
		if docErr == nil {
			docErr = doc.Validate(context.Background())
		}
	})
	return doc, docErr
}

// validateJSONBody checks a JSON request body against the document's schema for the
// route before any handler sees it: a mismatch is a 400 invalid_request naming the
// problem. The body is read as JSON whatever Content-Type says (curl -d sends a form
// type), so the header is set for the check.
func (s *server) validateJSONBody(path, method string) gin.HandlerFunc {
	return func(c *gin.Context) {
		d, err := openAPIDoc()
		if err != nil {
			s.writeError(c, err)
			return
		}
		op := d.Paths.Find(path).GetOperation(method)
		if op == nil || op.RequestBody == nil {
			s.writeError(c, errors.New("openapi: no request body documented for "+method+" "+path))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody))
		if err != nil {
			s.writeError(c, err)
			return
		}
		if len(bytes.TrimSpace(body)) == 0 {
			s.writeError(c, badRequest("invalid_json", "the request body is empty"))
			return
		}
		if !json.Valid(body) {
			s.writeError(c, badRequest("invalid_json", "the request body is not one valid JSON value"))
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		c.Request.Header.Set("Content-Type", "application/json")
		in := &openapi3filter.RequestValidationInput{Request: c.Request,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if err := openapi3filter.ValidateRequestBody(c.Request.Context(), in, op.RequestBody.Value); err != nil {
			s.writeError(c, badRequest("invalid_request", "the request body does not match the API's schema: "+schemaReason(err)))
			return
		}
		// The handler reads the body exactly as it came.
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		c.Next()
	}
}

// schemaReason is the readable part of a validation error.
func schemaReason(err error) string {
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			if p := se.JSONPointer(); len(p) > 0 {
				return strings.Join(p, ".") + ": " + se.Reason
			}
			return se.Reason
		}
		if re.Err != nil {
			return re.Err.Error()
		}
		return re.Reason
	}
	return err.Error()
}
