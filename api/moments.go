package api

import (
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/moments"
)

// momentResponse is everything a journey platform needs for one message.
type momentResponse struct {
	MemberID   string               `json:"member_id"`
	Stage      string               `json:"stage"`
	NextAction momentAction         `json:"next_action"`
	Signals    moments.Signals      `json:"signals"`
	Community  *matching.Match      `json:"community"`
	Content    *servedContent       `json:"content"`
	Due        *moments.Recognition `json:"recognition,omitempty"`
}

type momentAction struct {
	Action string `json:"action"`
	Reason string `json:"reason"`
}

// moment answers GET /v1/members/{id}/moment: the member's stage, the next best action
// and why, their primary community, and the approved content to show now — a due
// recognition (marked delivered on the channel), else a challenge for their community.
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
		now = t
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	id := c.Param("id")
	snap, err := moments.Read(ctx, s.db, id, now)
	if err != nil {
		s.writeError(c, err)
		return
	}
	resp := momentResponse{MemberID: id}
	if !snap.Consent {
		resp.NextAction = momentAction{moments.ActionNone, "no personalization consent"}
		c.JSON(http.StatusOK, resp)
		return
	}
	dueText := ""
	if snap.Due != nil {
		dueText = snap.Due.Occasion + ", " + snap.Due.Detail
	}
	as := moments.Assess(now, snap.JoinedAt, snap.Activity, dueText)
	resp.Stage, resp.Signals = as.Stage, as.Signals
	resp.NextAction = momentAction{as.Action, as.Reason}
	if pc := snap.Community; pc != nil {
		m := matching.Match{ID: pc.ID, Name: pc.Name, Score: math.Round(pc.Score*1000) / 1000, Primary: true, Rank: 1,
			Labels: pc.Labels, Reasons: matching.Shared(snap.Terms, pc.Labels)}
		if pc.TribeID != nil {
			m.Tribe = &matching.Tribe{ID: *pc.TribeID, Name: *pc.TribeName, Labels: pc.TribeLabels}
		}
		resp.Community = &m
	}
	contentID := snap.ChallengeID
	if snap.Due != nil {
		contentID = *snap.Due.DraftID
	}
	if contentID > 0 {
		draft, err := generation.Get(ctx, s.db, contentID)
		if err != nil {
			s.writeError(c, err)
			return
		}
		sc := served([]generation.Draft{draft})[0]
		resp.Content = &sc
	}
	if snap.Due != nil {
		resp.Due = snap.Due
		if err := moments.Deliver(ctx, s.db, id, snap.Due.Key, channel, time.Now()); err != nil {
			s.writeError(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, resp)
}

func (s *server) recognitions(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	id := c.Param("id")
	if _, err := members.Get(ctx, s.db, id); err != nil {
		s.writeError(c, err)
		return
	}
	rs, err := moments.List(ctx, s.db, id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.cached(c, gin.H{"member_id": id, "recognitions": rs})
}
