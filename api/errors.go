package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/members"
)

// Error is the body of every error response: {"error":{"code":...,"message":...}}.
// Code is stable and meant for programs; Message is for people.
type Error struct {
	Code    string              `json:"code"`
	Message string              `json:"message"`
	Details []members.LineError `json:"details,omitempty"`
}

// apiError is an error of the HTTP layer itself (authentication, rate limits) that
// already knows its status; everything else is a *belong.Error mapped by kind.
type apiError struct {
	status int
	body   Error
}

func (e *apiError) Error() string { return e.body.Message }

func badRequest(code, msg string) error { return belong.New(belong.EINVALID, code, msg) }

// StatusOf is the HTTP status the API answers err with (the console uses it too):
// its kind's status, or 500.
func StatusOf(err error) int {
	var de *belong.Error
	if errors.As(err, &de) {
		if st, ok := statusOf[de.Kind]; ok {
			return st
		}
	}
	return http.StatusInternalServerError
}

// statusOf maps the error vocabulary's kinds to HTTP statuses: the one place that
// decides what a client sees (the console uses it too).
var statusOf = map[string]int{
	belong.ENOTFOUND:      http.StatusNotFound,
	belong.EINVALID:       http.StatusBadRequest,
	belong.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	belong.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	belong.ECONFLICT:      http.StatusConflict,
	belong.EUNAVAILABLE:   http.StatusServiceUnavailable,
}

// writeError answers with err's status and code. Unknown errors are a 500 whose
// details go to the log only.
func (s *server) writeError(c *gin.Context, err error) {
	var (
		ae *apiError
		be *members.BatchError
		me *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		c.AbortWithStatusJSON(ae.status, gin.H{"error": ae.body})
		return
	case errors.As(err, &be):
		msg := "the batch has bad lines; nothing was written"
		if be.More > 0 {
			msg += " (the first 20 are listed)"
		}
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, gin.H{"error": Error{Code: "invalid_batch", Message: msg, Details: be.Lines}})
		return
	case errors.As(err, &me):
		c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, gin.H{"error": Error{Code: "body_too_large",
			Message: "the request body is larger than the limit"}})
		return
	}
	var de *belong.Error
	if errors.As(err, &de) && de.Kind != belong.EINTERNAL {
		if de.Kind == belong.EUNAVAILABLE {
			c.Header("Retry-After", "5")
		}
		c.AbortWithStatusJSON(statusOf[de.Kind], gin.H{"error": Error{Code: de.Code, Message: de.Message}})
		return
	}
	if database.BadText(err) {
		// Text PostgreSQL cannot hold that reached it untranslated: still the caller's.
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": Error{Code: "invalid_text",
			Message: "the request holds text that cannot be stored: a NUL character or invalid UTF-8"}})
		return
	}
	if database.Gone(err) {
		c.AbortWithStatusJSON(http.StatusConflict, gin.H{"error": Error{Code: "concurrent_update",
			Message: "something the request refers to was deleted meanwhile; retry it"}})
		return
	}
	if database.Unavailable(err) {
		// The database is down or too slow: say so, and when to come back. The pool
		// reconnects by itself once it is back.
		c.Header("Retry-After", "5")
		s.logger.WarnContext(c.Request.Context(), "database unavailable", slog.String("request_id", requestIDOf(c)),
			slog.String("route", route(c)), slog.String("error", err.Error()))
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"error": Error{Code: "database_unavailable",
			Message: "the database is unavailable; retry later"}})
		return
	}
	if c.Request.Context().Err() != nil && errors.Is(err, context.Canceled) {
		// The client went away; nobody reads this answer.
		c.AbortWithStatus(499)
		return
	}
	s.logger.ErrorContext(c.Request.Context(), "request failed", slog.String("request_id", requestIDOf(c)),
		slog.String("method", c.Request.Method), slog.String("route", route(c)), slog.String("error", err.Error()))
	c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": Error{Code: "internal", Message: "internal error; it has been logged"}})
}
