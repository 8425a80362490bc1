package api

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong/service"
)

// dryRunListResponse is the answer of GET /v1/cluster-runs/dry-runs.
type dryRunListResponse struct {
	DryRuns []service.DryRun `json:"dry_runs"`
	Page
}

// publishResponse is the answer of POST /v1/cluster-runs/dry-runs/{id}/publish.
type publishResponse struct {
	JobID  int64          `json:"job_id,string"`
	DryRun service.DryRun `json:"dry_run"`
}

func dryRunID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, badRequest("invalid_dry_run_id", "a dry run id is a positive integer")
	}
	return id, nil
}

// createDryRun queues a dry run with changed settings: 202 with the queued dry run,
// computed by a job. An empty body takes the server's settings.
func (s *server) createDryRun(c *gin.Context) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody))
	if err != nil {
		s.writeError(c, err)
		return
	}
	var req service.ClusterSettings
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeJSON(bytes.NewReader(body), &req); err != nil {
			s.writeError(c, err)
			return
		}
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	d, err := s.svc.RequestDryRun(ctx, req, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Header("Location", "/v1/cluster-runs/dry-runs/"+strconv.FormatInt(d.ID, 10))
	c.JSON(http.StatusAccepted, d)
}

func (s *server) getDryRun(c *gin.Context) {
	id, err := dryRunID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	d, err := s.svc.GetDryRun(ctx, id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	// A queued dry run changes without a write of the client's: never cached.
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, d)
}

func (s *server) listDryRuns(c *gin.Context) {
	limit, before, err := newestFirst(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	ds, err := s.svc.DryRuns(ctx, int64(before), limit+1)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ds, page := pageOf(ds, limit, func(d service.DryRun) string { return idCursor(d.ID) })
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, dryRunListResponse{DryRuns: ds, Page: page})
}

// publishDryRun queues a cluster run with a done dry run's settings: 202 with the
// job's id; the job publishes it.
func (s *server) publishDryRun(c *gin.Context) {
	id, err := dryRunID(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	job, err := s.svc.PublishDryRun(ctx, id, actorOf(c))
	if err != nil {
		s.writeError(c, err)
		return
	}
	d, err := s.svc.GetDryRun(ctx, id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, publishResponse{JobID: job, DryRun: d})
}
