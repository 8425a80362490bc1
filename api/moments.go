package api

import (
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/changes"
	"github.com/belong-loyalty/belong/moments"
)

// localTimeSlack is how far a moment's local_time may be from now.
const localTimeSlack = 24 * time.Hour

// moment answers GET /v1/members/{id}/moment (service.Moment).
func (s *server) moment(c *gin.Context) {
	channel := c.DefaultQuery("channel", "api")
	if len(channel) > 32 || strings.ContainsAny(channel, " \t\n") {
		s.writeError(c, badRequest("invalid_channel", "channel is a short word such as app, email or push"))
		return
	}
	now := time.Now()
	if lt := c.Query("local_time"); lt != "" {
		t, err := time.Parse(time.RFC3339, lt)
		if err != nil {
			s.writeError(c, badRequest("invalid_local_time", "local_time is an RFC 3339 time with its offset, such as 2026-11-22T08:30:00+01:00"))
			return
		}
		// The member's clock shows this instant in their own zone: it is now, give or
		// take a scheduled send, never another day's moment.
		if d := t.Sub(now); d > localTimeSlack || d < -localTimeSlack {
			s.writeError(c, badRequest("invalid_local_time", "local_time must be within 24 hours of now: it is the member's clock, not another date"))
			return
		}
		now = t
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	// Keyed by the run too: the moment shows the member's primary community.
	var run int64
	if v, err := s.svc.View(ctx); err == nil {
		run = v.ID
	}
	key := answerKey(c, run)
	t, done := s.fromCache(c, key)
	if done {
		return
	}
	id := c.Param("id")
	m, err := s.svc.Moment(ctx, id, channel, now)
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.answer(c, key, t, []string{changes.Member(id), changes.Content}, m)
}

// recognitionsResponse is the answer of GET /v1/members/{id}/recognitions.
type recognitionsResponse struct {
	MemberID     string                `json:"member_id"`
	Recognitions []moments.Recognition `json:"recognitions"`
}

func (s *server) recognitions(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	id := c.Param("id")
	rs, err := s.svc.Recognitions(ctx, id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.cached(c, recognitionsResponse{MemberID: id, Recognitions: rs})
}
