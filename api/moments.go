package api

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/changes"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/service"
)

// localTimeSlack is how far a moment's local_time may be from now.
const localTimeSlack = 24 * time.Hour

// moment answers GET /v1/members/{id}/moment (service.Moment).
func (s *server) moment(c *gin.Context) {
	channel, err := checkChannel(c.DefaultQuery("channel", "api"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	now, zone := time.Now(), (*time.Location)(nil)
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
		// Its offset is the member's zone now (travel, a zone not in the profile):
		// quiet hours are judged on it.
		now, zone = t, t.Location()
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
	deps := []string{changes.Member(id), changes.Content}
	var m service.Moment
	err = s.fromReplica(ctx, run, func(ctx context.Context, db database.DBTX) ([]string, error) {
		var err error
		m, err = s.svc.Moment(ctx, service.MomentQuery{MemberID: id, Channel: channel, Now: now, Zone: zone, Reader: db})
		return deps, err
	})
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.answer(c, key, t, deps, m)
}

// channelRe is a channel name: a short word such as app, email or push.
var channelRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// checkChannel reads a channel name, in lower case (PUSH and push are one channel).
func checkChannel(ch string) (string, error) {
	ch = strings.ToLower(ch)
	if !channelRe.MatchString(ch) {
		return "", badRequest("invalid_channel", "channel is a short word (letters, digits, - and _, at most 32) such as app, email or push")
	}
	return ch, nil
}

// DeliveryRequest is the body of POST /v1/recognitions/{id}/deliveries.
type DeliveryRequest struct {
	Channel string `json:"channel"`
}

// deliveryResponse is its answer.
type deliveryResponse struct {
	// Delivered is false when an earlier acknowledgement had recorded the delivery.
	Delivered   bool                `json:"delivered"`
	Recognition moments.Recognition `json:"recognition"`
}

// deliver answers POST /v1/recognitions/{id}/deliveries: the journey platform
// acknowledges that a recognition went out, and the member's moment moves on.
func (s *server) deliver(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		s.writeError(c, moments.ErrNoRecognition)
		return
	}
	var req DeliveryRequest
	if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &req); err != nil {
		s.writeError(c, err)
		return
	}
	if req.Channel, err = checkChannel(req.Channel); err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	r, delivered, err := s.svc.DeliverRecognition(ctx, id, req.Channel)
	if err != nil {
		s.writeError(c, err)
		return
	}
	code := http.StatusOK
	if delivered {
		code = http.StatusCreated
	}
	c.JSON(code, deliveryResponse{Delivered: delivered, Recognition: r})
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
