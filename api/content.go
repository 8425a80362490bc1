package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/service"
)

func actorOf(c *gin.Context) string {
	k := keyOf(c)
	return "key:" + k.Prefix + " (" + k.Name + ")"
}

func (s *server) createDraft(c *gin.Context) {
	var req service.DraftRequest
	if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &req); err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	id, err := s.svc.RequestDraft(ctx, req, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	job, err := s.svc.DraftJobStatus(ctx, id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Header("Location", "/v1/content/jobs/"+strconv.FormatInt(id, 10))
	c.JSON(http.StatusAccepted, job)
}

// draftJob answers GET /v1/content/jobs/{id}: where a requested draft is.
func (s *server) draftJob(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		s.writeError(c, badRequest("invalid_job_id", "a job id is a positive integer"))
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	job, err := s.svc.DraftJobStatus(ctx, id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, job)
}

func (s *server) queue(c *gin.Context) {
	limit, err := intParam(c, "limit", 100, 1, 500)
	if err != nil {
		s.writeError(c, err)
		return
	}
	kind, err := enumParam(c, "kind", generation.Kinds)
	if err != nil {
		s.writeError(c, err)
		return
	}
	status, err := enumParam(c, "status", generation.Statuses)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	ds, err := s.svc.ReviewQueue(ctx, generation.Filter{Kind: kind, Status: status, Community: c.Query("community"), Limit: limit})
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, draftsResponse{Drafts: ds})
}

func draftID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, badRequest("invalid_draft_id", "a draft id is a positive integer")
	}
	return id, nil
}

func (s *server) getDraft(c *gin.Context) {
	id, err := draftID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	r, err := s.svc.DraftForReview(ctx, id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (s *server) editDraft(c *gin.Context) {
	id, err := draftID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	var req struct {
		Body generation.Body `json:"body"`
	}
	if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &req); err != nil {
		s.writeError(c, err)
		return
	}
	if len(req.Body) == 0 {
		s.writeError(c, badRequest("invalid_draft", "an edit needs the draft's whole body"))
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	d, err := s.svc.EditDraft(ctx, id, req.Body, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, d)
}

func (s *server) decide(approve bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req struct {
			IDs      []string `json:"ids"`
			Reason   string   `json:"reason"`
			Override bool     `json:"override"`
		}
		if c.Request.ContentLength != 0 {
			if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &req); err != nil {
				s.writeError(c, err)
				return
			}
		}
		var ids []int64
		if c.Param("id") != "" {
			id, err := draftID(c)
			if err != nil {
				s.writeError(c, err)
				return
			}
			ids = []int64{id}
		} else {
			for _, raw := range req.IDs {
				id, err := strconv.ParseInt(raw, 10, 64)
				if err != nil {
					s.writeError(c, badRequest("invalid_draft_id", "ids are draft ids as strings"))
					return
				}
				ids = append(ids, id)
			}
			if len(ids) == 0 || len(ids) > 500 {
				s.writeError(c, badRequest("invalid_draft_id", "send 1 to 500 ids"))
				return
			}
		}
		if req.Override && (!approve || !keyOf(c).Allows(apikey.ScopeAdmin)) {
			s.writeError(c, &apiError{http.StatusForbidden, Error{Code: "forbidden",
				Message: "only an approval overrides blocking findings, and only with an admin key"}})
			return
		}
		ctx, cancel := s.ctx(c)
		defer cancel()
		dec := generation.Decision{Approve: approve, Override: req.Override, Reason: strings.TrimSpace(req.Reason), Actor: actorOf(c)}
		if err := s.svc.Decide(ctx, ids, dec); err != nil {
			s.writeError(c, err)
			return
		}
		status := generation.StatusApproved
		if !approve {
			status = generation.StatusRejected
		}
		c.JSON(http.StatusOK, decisionResponse{Decided: len(ids), Status: status})
	}
}

// draftsResponse is the review queue.
type draftsResponse struct {
	Drafts []generation.Draft `json:"drafts"`
}

// decisionResponse says how many drafts a decision changed, and to what.
type decisionResponse struct {
	Decided int    `json:"decided"`
	Status  string `json:"status"`
}

// contentFilter reads the content endpoints' kind and locale filters.
func contentFilter(c *gin.Context) (kind, locale string, err error) {
	if kind, err = enumParam(c, "kind", generation.Kinds); err != nil {
		return "", "", err
	}
	locale, err = enumParam(c, "locale", generation.Locales)
	return kind, locale, err
}

// contentResponse is the answer of the content endpoints.
type contentResponse struct {
	CommunityID string            `json:"community_id,omitempty"`
	MemberID    string            `json:"member_id,omitempty"`
	Content     []service.Content `json:"content"`
	// Reason says why a member's content is empty: no_consent.
	Reason string `json:"reason,omitempty"`
}

func (s *server) communityContent(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	id := c.Param("id")
	kind, locale, err := contentFilter(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	cs, err := s.svc.CommunityContent(ctx, id, kind, locale)
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.cached(c, contentResponse{CommunityID: id, Content: cs})
}

func (s *server) memberContent(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	id := c.Param("id")
	kind, locale, err := contentFilter(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	cs, reason, err := s.svc.MemberContent(ctx, id, kind, locale)
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.cached(c, contentResponse{MemberID: id, Content: cs, Reason: reason})
}
