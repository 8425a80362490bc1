package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
)

// DraftRequest is the body of POST /v1/content/drafts.
type DraftRequest struct {
	Kind        string `json:"kind"`
	CommunityID string `json:"community_id"`
	Locale      string `json:"locale"`
	MemberID    string `json:"member_id"`
	Occasion    string `json:"occasion"`
	Detail      string `json:"detail"`
}

// NewDraft generates and stores one draft for review. A recognition names its member;
// the community defaults to the member's primary one.
func NewDraft(c *gin.Context, s *server, req DraftRequest, actor string) (generation.Draft, error) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	r := generation.Request{Kind: req.Kind, Locale: req.Locale, Occasion: req.Occasion, Detail: req.Detail}
	if r.Locale == "" {
		r.Locale = "en"
	}
	var others []string
	if req.Kind == generation.KindRecognition {
		m, err := members.Get(ctx, s.db, req.MemberID)
		if err != nil {
			return generation.Draft{}, err
		}
		names := strings.Fields(m.Name)
		if len(names) == 0 {
			return generation.Draft{}, badRequest("invalid_draft", "the member has no name to address them by")
		}
		r.FirstName, others = names[0], names[1:]
		if req.CommunityID == "" {
			_, ms, err := matching.MemberCommunities(ctx, s.db, m.ID, 1)
			if err != nil {
				return generation.Draft{}, err
			}
			if len(ms) == 0 {
				return generation.Draft{}, badRequest("invalid_draft", "the member is in no community (or has not consented)")
			}
			req.CommunityID = ms[0].ID
		}
	} else if req.MemberID != "" {
		return generation.Draft{}, badRequest("invalid_draft", "only a recognition is about a member")
	}
	comm, mix, err := matching.Facts(ctx, s.db, req.CommunityID)
	if err != nil {
		return generation.Draft{}, err
	}
	r.Community = generation.CommunityFacts{ID: comm.ID, Name: comm.Name, Labels: comm.Labels, Size: comm.Size, SkillMix: mix}
	if err := r.Validate(); err != nil {
		return generation.Draft{}, badRequest("invalid_draft", err.Error())
	}
	return s.drafting.Draft(ctx, s.db, r, req.MemberID, others, actor)
}

func actorOf(c *gin.Context) string {
	k := keyOf(c)
	return "key:" + k.Prefix + " (" + k.Name + ")"
}

func (s *server) createDraft(c *gin.Context) {
	var req DraftRequest
	if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &req); err != nil {
		s.writeError(c, err)
		return
	}
	d, err := NewDraft(c, s, req, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, d)
}

func (s *server) queue(c *gin.Context) {
	limit, err := intParam(c, "limit", 100, 1, 500)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	ds, err := generation.Queue(ctx, s.db, generation.Filter{Kind: c.Query("kind"), Status: c.Query("status"),
		Community: c.Query("community"), Limit: limit})
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"drafts": ds})
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
	d, err := generation.Get(ctx, s.db, id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	hist, err := generation.History(ctx, s.db, d.GroupID)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"draft": d, "history": hist})
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
	d, err := generation.Edit(ctx, s.db, id, req.Body, s.drafting.Guardrails, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, d)
}

func (s *server) decide(approve bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req struct {
			IDs    []string `json:"ids"`
			Reason string   `json:"reason"`
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
		ctx, cancel := s.ctx(c)
		defer cancel()
		if err := generation.Decide(ctx, s.db, ids, approve, strings.TrimSpace(req.Reason), actorOf(c)); err != nil {
			s.writeError(c, err)
			return
		}
		status := generation.StatusApproved
		if !approve {
			status = generation.StatusRejected
		}
		c.JSON(http.StatusOK, gin.H{"decided": len(ids), "status": status})
	}
}

func (s *server) communityContent(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	id := c.Param("id")
	if _, err := matching.GetCommunity(ctx, s.db, id); err != nil {
		s.writeError(c, err)
		return
	}
	ds, err := generation.Approved(ctx, s.db, id, "", c.Query("kind"), c.Query("locale"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.cached(c, gin.H{"community_id": id, "content": served(ds)})
}

func (s *server) memberContent(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	id := c.Param("id")
	m, err := members.Get(ctx, s.db, id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ds := []generation.Draft{}
	if m.Consent.Personalization {
		if ds, err = generation.Approved(ctx, s.db, "", id, c.Query("kind"), c.Query("locale")); err != nil {
			s.writeError(c, err)
			return
		}
	}
	s.cached(c, gin.H{"member_id": id, "content": served(ds)})
}

// servedContent is approved content as members may see it: no review metadata.
type servedContent struct {
	ID          string          `json:"id"`
	Kind        string          `json:"kind"`
	CommunityID string          `json:"community_id"`
	Occasion    string          `json:"occasion,omitempty"`
	Locale      string          `json:"locale"`
	Version     int             `json:"version"`
	Body        generation.Body `json:"body"`
}

func served(ds []generation.Draft) []servedContent {
	out := make([]servedContent, len(ds))
	for i, d := range ds {
		out[i] = servedContent{ID: strconv.FormatInt(d.ID, 10), Kind: d.Kind, CommunityID: d.SubjectID, Occasion: d.Occasion,
			Locale: d.Locale, Version: d.Version, Body: d.Body}
	}
	return out
}
