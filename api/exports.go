package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/service"
)

// exportMembers answers GET /v1/exports/members: NDJSON, one line per member in id
// order, streamed page by page from one snapshot. The API's one pagination style, in
// headers (the body is lines): X-Has-More, X-Next-Cursor and a Link header to the
// next page (?cursor=; ?after= reads it too).
func (s *server) exportMembers(c *gin.Context) {
	limit, err := intParam(c, "limit", 10_000, 1, 100_000)
	if err != nil {
		s.writeError(c, err)
		return
	}
	q := service.ExportQuery{After: cursorParam(c, "after"), Limit: limit}
	if len(q.After) > 128 {
		s.writeError(c, badRequest("invalid_cursor", "cursor is the X-Next-Cursor of the previous page"))
		return
	}
	if raw := c.Query("since"); raw != "" {
		t, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			s.writeError(c, badRequest("invalid_since", "since is an RFC 3339 time such as 2026-11-22T00:00:00Z"))
			return
		}
		q.Since = &t
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), exportTimeout)
	defer cancel()
	// A page is one snapshot, streamed: it is read from a replica caught up with the
	// current run and the change listener (lagging at most BELONG_REPLICA_MAX_LAG), with
	// no retry once it has started.
	if v, err := s.svc.View(ctx); err == nil && s.replicas != nil {
		if since, ok := s.fresh.since(v.ID); ok {
			if db, _, ok := s.replicas.Pick(since); ok {
				q.Reader = db
			}
		}
	}
	w := bufio.NewWriterSize(c.Writer, 64<<10)
	enc := json.NewEncoder(w)
	started := false
	err = s.svc.Export(ctx, q, func(next string, more bool) error {
		c.Header("Content-Type", "application/x-ndjson")
		c.Header("Cache-Control", "no-store")
		c.Header("X-Has-More", strconv.FormatBool(more))
		if more {
			u := url.Values{"cursor": {next}, "limit": {strconv.Itoa(limit)}}
			if q.Since != nil {
				u.Set("since", q.Since.Format(time.RFC3339))
			}
			c.Header("X-Next-Cursor", next)
			c.Header("Link", "</v1/exports/members?"+u.Encode()+`>; rel="next"`)
		}
		c.Status(http.StatusOK)
		started = true
		return nil
	}, func(l service.ExportLine) error { return enc.Encode(l) })
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		if !started {
			s.writeError(c, err)
			return
		}
		// Halfway through a stream the status is sent: end the connection, so the
		// client sees a truncated export rather than a short one.
		s.logger.ErrorContext(ctx, "export failed midway", "error", err.Error())
		panic(http.ErrAbortHandler)
	}
}

// exportTimeout bounds one export page (100,000 members at most).
const exportTimeout = 5 * time.Minute
