package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/challenges"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/moments"
)

func challengeID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, badRequest("invalid_challenge_id", "a challenge id is a positive integer")
	}
	return id, nil
}

// launchChallenge answers POST /v1/challenges.
func (s *server) launchChallenge(c *gin.Context) {
	var d challenges.Definition
	if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &d); err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	ch, err := s.svc.LaunchChallenge(ctx, d, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, ch)
}

// challengeListResponse is the answer of GET /v1/challenges.
type challengeListResponse struct {
	Challenges []challenges.Challenge `json:"challenges"`
	Page
}

// listChallenges answers GET /v1/challenges: newest first, the current ones (not
// ended over a week ago) unless status=all.
func (s *server) listChallenges(c *gin.Context) {
	limit, before, err := newestFirst(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	st, err := enumParam(c, "status", []string{"current", "all"})
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	cs, err := s.svc.Challenges(ctx, challenges.ListFilter{Current: st != "all", Before: int64(before), Limit: limit + 1})
	if err != nil {
		s.writeError(c, err)
		return
	}
	cs, page := pageOf(cs, limit, func(ch challenges.Challenge) string { return idCursor(ch.ID) })
	s.cached(c, challengeListResponse{Challenges: cs, Page: page})
}

// challengeResponse is the answer of GET /v1/challenges/{id}.
type challengeResponse struct {
	challenges.Challenge
	// Leaderboard lists the first participants who consented to community
	// visibility, by first name, with their rank among everyone.
	Leaderboard []challenges.Entry `json:"leaderboard"`
}

func (s *server) getChallenge(c *gin.Context) {
	id, err := challengeID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	limit, err := intParam(c, "limit", 10, 1, 100)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	ch, board, err := s.svc.Challenge(ctx, id, limit)
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.cached(c, challengeResponse{Challenge: ch, Leaderboard: board})
}

// endChallenge answers POST /v1/challenges/{id}/end.
func (s *server) endChallenge(c *gin.Context) {
	id, err := challengeID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	if err := s.svc.EndChallenge(ctx, id); err != nil {
		s.writeError(c, err)
		return
	}
	ch, _, err := s.svc.Challenge(ctx, id, 1)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, ch)
}

// JoinRequest is the body of POST /v1/challenges/{id}/participants.
type JoinRequest struct {
	MemberID string `json:"member_id"`
}

// joinChallenge answers POST /v1/challenges/{id}/participants: 201 when the member
// joined, 200 when they were in it already.
func (s *server) joinChallenge(c *gin.Context) {
	id, err := challengeID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	var req JoinRequest
	if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &req); err != nil {
		s.writeError(c, err)
		return
	}
	req.MemberID = strings.TrimSpace(req.MemberID)
	if req.MemberID == "" || len(req.MemberID) > members.MaxIDLen {
		s.writeError(c, badRequest("invalid_member_id", "member_id is required (at most 128 characters)"))
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	p, joined, err := s.svc.JoinChallenge(ctx, id, req.MemberID)
	if err != nil {
		s.writeError(c, err)
		return
	}
	status := http.StatusOK
	if joined {
		status = http.StatusCreated
	}
	c.JSON(status, p)
}

// leaveChallenge answers DELETE /v1/challenges/{id}/participants/{member_id}.
func (s *server) leaveChallenge(c *gin.Context) {
	id, err := challengeID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	if err := s.svc.LeaveChallenge(ctx, id, c.Param("member_id")); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// memberChallengesResponse is the answer of GET /v1/members/{id}/challenges.
type memberChallengesResponse struct {
	MemberID   string                     `json:"member_id"`
	Challenges []challenges.Participation `json:"challenges"`
}

// memberChallenges answers GET /v1/members/{id}/challenges: the active ones, or with
// status=all also those scheduled, completed or ended in the last week.
func (s *server) memberChallenges(c *gin.Context) {
	st, err := enumParam(c, "status", []string{"active", "all"})
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	id := c.Param("id")
	ps, err := s.svc.MemberChallenges(ctx, id, st == "all")
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.cached(c, memberChallengesResponse{MemberID: id, Challenges: ps})
}

// memberBadgesResponse is the answer of GET /v1/members/{id}/badges.
type memberBadgesResponse struct {
	MemberID string          `json:"member_id"`
	Badges   []moments.Award `json:"badges"`
	// Reason says why the list is empty although there may be badges: no_consent.
	Reason string `json:"reason,omitempty"`
}

// memberBadges answers GET /v1/members/{id}/badges: the approved badges the member
// earned, newest first, in ?locale= (else the member's language).
func (s *server) memberBadges(c *gin.Context) {
	locale, err := enumParam(c, "locale", generation.Locales)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	id := c.Param("id")
	awards, consent, err := s.svc.MemberBadges(ctx, id, locale)
	if err != nil {
		s.writeError(c, err)
		return
	}
	res := memberBadgesResponse{MemberID: id, Badges: awards}
	if !consent {
		res.Reason = "no_consent"
	}
	s.cached(c, res)
}
