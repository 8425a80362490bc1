package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/webhooks"
)

// endpointID reads an endpoint id from the path; an id that cannot be one is not found.
func endpointID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, webhooks.ErrNoEndpoint
	}
	return id, nil
}

// EndpointCreated is the answer of creating an endpoint or rotating its secret: the
// only time the secret is shown.
type EndpointCreated struct {
	webhooks.Endpoint
	Secret string `json:"secret"`
}

func (s *server) createEndpoint(c *gin.Context) {
	var spec webhooks.Spec
	if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &spec); err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	ep, secret, err := s.svc.CreateEndpoint(ctx, spec)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Header("Location", "/v1/webhook-endpoints/"+strconv.FormatInt(ep.ID, 10))
	c.JSON(http.StatusCreated, EndpointCreated{Endpoint: ep, Secret: secret})
}

func (s *server) listEndpoints(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	eps, err := s.svc.Endpoints(ctx)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"endpoints": eps})
}

func (s *server) getEndpoint(c *gin.Context) {
	id, err := endpointID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	ep, err := s.svc.Endpoint(ctx, id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, ep)
}

func (s *server) updateEndpoint(c *gin.Context) {
	id, err := endpointID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	var p webhooks.Patch
	if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &p); err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	ep, err := s.svc.UpdateEndpoint(ctx, id, p)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, ep)
}

func (s *server) deleteEndpoint(c *gin.Context) {
	id, err := endpointID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	if err := s.svc.DeleteEndpoint(ctx, id); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// RotateRequest is the body of POST /v1/webhook-endpoints/{id}/rotate-secret.
type RotateRequest struct {
	// KeepPrevious is how long the old secret keeps signing (a Go duration, at most
	// a week); 24h when empty.
	KeepPrevious string `json:"keep_previous"`
}

func (s *server) rotateEndpoint(c *gin.Context) {
	id, err := endpointID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	var req RotateRequest
	if c.Request.ContentLength != 0 {
		if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &req); err != nil {
			s.writeError(c, err)
			return
		}
	}
	keep := 24 * time.Hour
	if req.KeepPrevious != "" {
		keep, err = time.ParseDuration(req.KeepPrevious)
		if err != nil || keep < 0 || keep > 7*24*time.Hour {
			s.writeError(c, badRequest("invalid_keep_previous", "keep_previous is a duration from 0s to 168h, such as 24h"))
			return
		}
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	ep, secret, err := s.svc.RotateEndpointSecret(ctx, id, keep)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, EndpointCreated{Endpoint: ep, Secret: secret})
}

// ReplayRequest is the body of POST /v1/webhook-endpoints/{id}/replay.
type ReplayRequest struct {
	From  time.Time  `json:"from"`
	Until *time.Time `json:"until"`
}

func (s *server) replayEndpoint(c *gin.Context) {
	id, err := endpointID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	var req ReplayRequest
	if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &req); err != nil {
		s.writeError(c, err)
		return
	}
	until := time.Now()
	if req.Until != nil {
		until = *req.Until
	}
	if req.From.IsZero() || !req.From.Before(until) {
		s.writeError(c, badRequest("invalid_range", "from is an RFC 3339 time before until (now when absent)"))
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	n, err := s.svc.ReplayEndpoint(ctx, id, req.From, until)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"scheduled": n})
}

// deliveryStatuses are the statuses a delivery list can be filtered by.
var deliveryStatuses = []string{"pending", "delivered", "failed"}

func (s *server) endpointDeliveries(c *gin.Context) {
	id, err := endpointID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	status, err := enumParam(c, "status", deliveryStatuses)
	if err != nil {
		s.writeError(c, err)
		return
	}
	limit, err := intParam(c, "limit", 50, 1, 500)
	if err != nil {
		s.writeError(c, err)
		return
	}
	var before int64
	if b := cursorParam(c, "before"); b != "" {
		if before, err = strconv.ParseInt(b, 10, 64); err != nil || before < 1 {
			s.writeError(c, badRequest("invalid_cursor", "cursor is a next_cursor from the previous page"))
			return
		}
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	ds, err := s.svc.EndpointDeliveries(ctx, id, status, before, limit+1)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ds, page := pageOf(ds, limit, func(d webhooks.DeliveryInfo) string { return idCursor(d.ID) })
	c.JSON(http.StatusOK, deliveriesResponse{Deliveries: ds, Page: page})
}

// deliveriesResponse is the answer of GET /v1/webhook-endpoints/{id}/deliveries.
type deliveriesResponse struct {
	Deliveries []webhooks.DeliveryInfo `json:"deliveries"`
	Page
}

// withdraw answers POST /v1/content/drafts/{id}/withdraw.
func (s *server) withdraw(c *gin.Context) {
	id, err := draftID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody), &req); err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	d, err := s.svc.Withdraw(ctx, id, strings.TrimSpace(req.Reason), actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}
