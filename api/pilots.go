package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/pilots"
	"github.com/belong-loyalty/belong/trends"
)

// PilotRequest is the body of POST /v1/pilots.
type PilotRequest struct {
	Name   string        `json:"name"`
	Size   int           `json:"size"`
	Target pilots.Target `json:"target"`
	Seed   int64         `json:"seed"`
}

func pilotID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, badRequest("invalid_pilot_id", "a pilot id is a positive integer")
	}
	return id, nil
}

func (s *server) createPilot(c *gin.Context) {
	var req PilotRequest
	if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &req); err != nil {
		s.writeError(c, err)
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	switch {
	case req.Name == "" || len(req.Name) > 100:
		s.writeError(c, badRequest("invalid_pilot", "a pilot needs a name of 1 to 100 characters"))
		return
	case req.Size < 1 || req.Size > 10_000:
		s.writeError(c, badRequest("invalid_pilot", "size must be between 1 and 10000"))
		return
	case len(req.Target.Communities)+len(req.Target.Tribes)+len(req.Target.Stages) == 0:
		s.writeError(c, badRequest("invalid_pilot", "target needs communities, tribes or stages"))
		return
	}
	for _, st := range req.Target.Stages {
		if !slices.Contains([]string{moments.StageOnboarding, moments.StageActivation, moments.StageGrowth, moments.StageRetention, moments.StageAdvocacy}, st) {
			s.writeError(c, badRequest("invalid_pilot", "stage "+strconv.Quote(st)+" is not onboarding, activation, growth, retention or advocacy"))
			return
		}
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	p, err := s.svc.CreatePilot(ctx, req.Name, req.Size, req.Target, req.Seed)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, p)
}

func (s *server) getPilot(c *gin.Context) {
	id, err := pilotID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	p, err := s.svc.Pilot(ctx, id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

func (s *server) closePilot(c *gin.Context) {
	id, err := pilotID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	if err := s.svc.ClosePilot(ctx, id); err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, pilotStatusResponse{ID: strconv.FormatInt(id, 10), Status: "closed"})
}

// pilotStatusResponse answers a change of a pilot's status.
type pilotStatusResponse struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// FeedbackRequest is the body of POST /v1/feedback.
type FeedbackRequest struct {
	MemberID string `json:"member_id"`
	PilotID  string `json:"pilot_id"`
	Rating   int    `json:"rating"`
	Text     string `json:"text"`
}

func (s *server) addFeedback(c *gin.Context) {
	var req FeedbackRequest
	if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &req); err != nil {
		s.writeError(c, err)
		return
	}
	if req.Rating < 1 || req.Rating > 5 {
		s.writeError(c, badRequest("invalid_feedback", "rating must be 1 to 5"))
		return
	}
	if len(req.Text) > 2000 {
		s.writeError(c, badRequest("invalid_feedback", "text is longer than 2000 bytes"))
		return
	}
	f := pilots.Feedback{MemberID: req.MemberID, Rating: req.Rating, Text: req.Text}
	if req.PilotID != "" {
		id, err := strconv.ParseInt(req.PilotID, 10, 64)
		if err != nil {
			s.writeError(c, badRequest("invalid_pilot_id", "pilot_id is a pilot id as a string"))
			return
		}
		f.PilotID = &id
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	out, err := s.svc.AddFeedback(ctx, f)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

func (s *server) pilotFeedback(c *gin.Context) {
	id, err := pilotID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	sum, err := s.svc.PilotFeedback(ctx, id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, sum)
}

func (s *server) communityFeedback(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	sum, err := s.svc.CommunityFeedback(ctx, c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, sum)
}

func (s *server) trends(c *gin.Context) {
	days, err := intParam(c, "window_days", 30, 1, 365)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	r, err := trends.Read(ctx, s.db, time.Now(), time.Duration(days)*24*time.Hour, trends.Config{})
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.cached(c, r)
}
