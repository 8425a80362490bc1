// Package api is Belong's HTTP interface: a gin router that journey platforms call in
// real time (which communities fit this member, who their peers are, what to say),
// batch exports post members and events to, and loyalty teams review content through
// (the JSON draft endpoints and the HTML console under /console). Every route but
// /healthz and /readyz needs an API key with the route's scope. Errors are JSON
// {"error":{"code","message"}} with a stable code; bad input is a 4xx and writes
// nothing. openapi.json documents all of it.
//
// The real-time reads (a member's communities, peers and moment) keep their answers
// in a per-process cache (answers.go) that the service's change notices void.
package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/changes"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/internal/logctx"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/metrics"
	"github.com/belong-loyalty/belong/migrations"
	"github.com/belong-loyalty/belong/service"
)

// Config wires the API to its dependencies.
type Config struct {
	DB       *pgxpool.Pool
	Embedder embeddings.Embedder
	Logger   *slog.Logger
	// MaxBatch caps the records of one batch request; 10,000 when zero.
	MaxBatch int
	// QueryTimeout bounds each request's database work; 5 s when zero.
	QueryTimeout time.Duration
	// RateLimit is each API key's sustained requests per second (bursts of twice
	// that); 0 means no limit. Ignored when Limiter is set.
	RateLimit float64
	// Limiter is the keys' rate limit, shared with other nodes when its Share runs;
	// one of RateLimit for this process alone when nil.
	Limiter *apikey.Limiter
	// Keys verifies API keys; the console shares it. A verifier over DB when nil.
	Keys *apikey.Verifier
	// Service runs the use cases that write (ingest); its jobs do what follows.
	Service *service.Service
	// BatchTimeout bounds a batch write (storing a batch and the milestones it
	// fires, in one transaction); 25 s when zero, under the server's write timeout.
	BatchTimeout time.Duration
	// AnswerCacheSize is how many real-time answers (communities, peers, moment) are
	// kept, 100,000 when zero; AnswerTTL how long, 60 s when zero, none when negative.
	// Writes through Service void what they change (Service.Changes); run a
	// changes.Listener to hear other processes' writes.
	AnswerCacheSize int
	AnswerTTL       time.Duration
	// Metrics is the process's registry (/metrics, scope metrics:read); one over DB
	// when nil.
	Metrics *metrics.Metrics
	// Replicas, when set, answers the real-time reads (a member's communities, peers
	// and moment, a community, the export) from read replicas caught up with what
	// each answer depends on; writes and everything else stay on DB.
	Replicas *database.Replicas
}

// embedTimeout bounds embedding a profile on the request path.
const embedTimeout = 2 * time.Second

// Limits on request bodies.
const (
	maxBatchBody = 32 << 20
	maxJSONBody  = 1 << 20
)

type server struct {
	db        *pgxpool.Pool
	embedder  embeddings.Embedder
	logger    *slog.Logger
	maxBatch  int
	timeout   time.Duration
	keys      *apikey.Verifier
	limit     *apikey.Limiter
	metrics   *metrics.Metrics
	svc       *service.Service
	batchTime time.Duration
	answers   *answers
	replicas  *database.Replicas
	fresh     *freshness
}

// New returns the router. gin's mode is the caller's choice (gin.SetMode).
func New(cfg Config) *gin.Engine {
	s := &server{db: cfg.DB, embedder: cfg.Embedder, logger: cfg.Logger, maxBatch: cfg.MaxBatch, timeout: cfg.QueryTimeout,
		limit: cfg.Limiter}
	if s.limit == nil {
		s.limit = apikey.NewLimiter(cfg.RateLimit)
	}
	s.svc, s.batchTime = cfg.Service, cmp.Or(cfg.BatchTimeout, 25*time.Second)
	s.keys, s.metrics = cfg.Keys, cfg.Metrics
	s.answers = newAnswers(cmp.Or(cfg.AnswerCacheSize, 100_000), cmp.Or(cfg.AnswerTTL, time.Minute))
	if s.answers != nil {
		s.svc.Changes().Subscribe(s.answers)
	}
	if cfg.Replicas != nil {
		s.replicas, s.fresh = cfg.Replicas, newFreshness(time.Minute)
		s.svc.Changes().Subscribe(s.fresh)
	}
	if s.keys == nil {
		s.keys = &apikey.Verifier{DB: cfg.DB, Timeout: cfg.QueryTimeout}
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	// Lines logged with a request's context carry its id, route and key.
	s.logger = slog.New(logctx.Handler(s.logger.Handler()))
	if s.metrics == nil {
		s.metrics = metrics.New(cfg.DB, metrics.Build{Version: "devel", Revision: "unknown"}, s.logger)
	}
	if s.maxBatch <= 0 {
		s.maxBatch = 10_000
	}
	if s.timeout <= 0 {
		s.timeout = 5 * time.Second
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// No proxy is trusted unless configured: client addresses are the socket's.
	_ = r.SetTrustedProxies(nil)
	r.Use(s.requestID, s.accessLog, s.observe, s.recover, s.cleanText)
	r.NoRoute(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"error": Error{Code: "route_not_found", Message: "no such endpoint: " + c.Request.URL.Path}})
	})
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, gin.H{"error": Error{Code: "method_not_allowed", Message: c.Request.Method + " is not allowed here"}})
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.ready)
	r.GET("/openapi.json", s.require(""), func(c *gin.Context) {
		c.Data(http.StatusOK, "application/json; charset=utf-8", OpenAPI)
	})
	metricsHandler := s.metrics.Handler()
	r.GET("/metrics", s.require(apikey.ScopeMetricsRead), func(c *gin.Context) { metricsHandler.ServeHTTP(c.Writer, c.Request) })

	read := s.require(apikey.ScopeMatchRead)
	write := s.require(apikey.ScopeMembersWrite)
	v1 := r.Group("/v1")
	// `\:` is gin's escape for a literal colon (custom methods in the AIP-136 style).
	v1.POST(`/members\:batch`, write, s.idempotent, s.membersBatch)
	v1.POST(`/events\:batch`, write, s.idempotent, s.eventsBatch)
	v1.DELETE("/members/:id", write, s.deleteMember)
	v1.GET("/members/:id/communities", read, s.memberCommunities)
	v1.GET("/members/:id/peers", read, s.peers)
	v1.POST("/match", read, s.validateJSONBody("/v1/match", http.MethodPost), s.match)
	v1.GET("/communities", read, s.listCommunities)
	v1.GET("/communities/:id", read, s.getCommunity)
	v1.GET("/cluster-runs", read, s.listRuns)
	v1.GET("/cluster-runs/:id", read, s.getRun)
	v1.GET("/communities/:id/content", read, s.communityContent)
	v1.GET("/members/:id/content", read, s.memberContent)
	v1.GET("/members/:id/moment", read, s.moment)
	v1.GET("/members/:id/recognitions", read, s.recognitions)
	v1.GET("/exports/members", read, s.exportMembers)
	v1.GET("/members/:id/challenges", read, s.memberChallenges)
	v1.GET("/members/:id/badges", read, s.memberBadges)
	v1.GET("/challenges", read, s.listChallenges)
	v1.GET("/challenges/:id", read, s.getChallenge)
	v1.POST("/challenges/:id/participants", write, s.idempotent, s.joinChallenge)
	v1.DELETE("/challenges/:id/participants/:member_id", write, s.leaveChallenge)
	v1.POST("/recognitions/:id/deliveries", write, s.idempotent, s.deliver)

	admin := s.require(apikey.ScopeAdmin)
	v1.POST("/challenges", admin, s.idempotent, s.launchChallenge)
	v1.POST("/challenges/:id/end", admin, s.endChallenge)
	v1.POST("/pilots", admin, s.createPilot)
	v1.GET("/pilots/:id", admin, s.getPilot)
	v1.POST("/pilots/:id/close", admin, s.closePilot)
	v1.GET("/pilots/:id/feedback", admin, s.pilotFeedback)
	v1.GET("/communities/:id/feedback", admin, s.communityFeedback)
	v1.POST("/feedback", write, s.addFeedback)
	v1.GET("/trends", read, s.trends)
	v1.POST("/webhook-endpoints", admin, s.createEndpoint)
	v1.GET("/webhook-endpoints", admin, s.listEndpoints)
	v1.GET("/webhook-endpoints/:id", admin, s.getEndpoint)
	v1.PATCH("/webhook-endpoints/:id", admin, s.updateEndpoint)
	v1.DELETE("/webhook-endpoints/:id", admin, s.deleteEndpoint)
	v1.POST("/webhook-endpoints/:id/rotate-secret", admin, s.rotateEndpoint)
	v1.POST("/webhook-endpoints/:id/replay", admin, s.replayEndpoint)
	v1.GET("/webhook-endpoints/:id/deliveries", admin, s.endpointDeliveries)
	v1.POST("/cluster-runs/dry-runs", admin, s.idempotent, s.createDryRun)
	v1.GET("/cluster-runs/dry-runs", admin, s.listDryRuns)
	v1.GET("/cluster-runs/dry-runs/:id", admin, s.getDryRun)
	v1.POST("/cluster-runs/dry-runs/:id/publish", admin, s.idempotent, s.publishDryRun)

	review := s.require(apikey.ScopeContentReview)
	v1.POST("/content/drafts", review, s.validateJSONBody("/v1/content/drafts", http.MethodPost), s.createDraft)
	v1.GET("/content/drafts", review, s.queue)
	v1.GET("/content/jobs/:id", review, s.draftJob)
	v1.POST(`/content/drafts\:approve`, review, s.decide(true))
	v1.GET("/content/drafts/:id", review, s.getDraft)
	v1.PUT("/content/drafts/:id", review, s.editDraft)
	v1.POST("/content/drafts/:id/approve", review, s.decide(true))
	v1.POST("/content/drafts/:id/reject", review, s.decide(false))
	v1.POST("/content/drafts/:id/withdraw", review, s.withdraw)
	return r
}

func (s *server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			s.writeError(c, fmt.Errorf("panic: %v", v))
		}
	}()
	c.Next()
}

func (s *server) ctx(c *gin.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request.Context(), s.timeout)
}

// batchCtx bounds a batch write: longer than a read, since a legal batch of 10,000
// events commits with every milestone it fires.
func (s *server) batchCtx(c *gin.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request.Context(), s.batchTime)
}

func (s *server) ready(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	notReady := func(code, msg string) {
		c.Header("Retry-After", "5")
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"error": Error{Code: code, Message: msg}})
	}
	if err := s.db.Ping(ctx); err != nil {
		notReady("database_unavailable", "the database does not answer")
		return
	}
	if err := migrations.Check(ctx, s.db); err != nil {
		notReady("migrations_pending", err.Error())
		return
	}
	// Ready before the first cluster run: ingest works, and reads of communities say
	// no_cluster_run until one is published. The answer says which.
	run, err := matching.CurrentRun(ctx, s.db)
	if errors.Is(err, matching.ErrNoRun) {
		c.JSON(http.StatusOK, gin.H{"status": "ready", "run_id": nil,
			"note": "no cluster run yet: ingest works; reads of communities answer 503 no_cluster_run until the first run is published"})
		return
	}
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "run_id": strconv.FormatInt(run, 10)})
}

func (s *server) membersBatch(c *gin.Context) {
	ms, err := members.DecodeMembers(http.MaxBytesReader(c.Writer, c.Request.Body, maxBatchBody), s.maxBatch)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.batchCtx(c)
	defer cancel()
	res, err := s.svc.IngestMembers(ctx, ms)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

func (s *server) eventsBatch(c *gin.Context) {
	es, lines, err := members.DecodeEvents(http.MaxBytesReader(c.Writer, c.Request.Body, maxBatchBody), s.maxBatch)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.batchCtx(c)
	defer cancel()
	// The events, the milestones they fire and the recognition jobs commit together.
	res, err := s.svc.IngestEvents(ctx, es, lines)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

// peersResponse is the answer of GET /v1/members/{id}/peers.
type peersResponse struct {
	MemberID string `json:"member_id"`
	// Scope is where peers were searched; CommunityID the community asked for.
	Scope       string          `json:"scope"`
	CommunityID string          `json:"community_id,omitempty"`
	Peers       []matching.Peer `json:"peers"`
}

// Page is what every list answer carries, the one pagination style of the API:
// has_more, and when it is true next_cursor, which ?cursor= takes to read the next
// page (the lists' older ?before= and ?after= still read it too).
type Page struct {
	HasMore    bool   `json:"has_more"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// pageOf trims a list read with one item more than limit and says whether more
// follow, with the cursor of the last item kept.
func pageOf[T any](items []T, limit int, cursor func(T) string) ([]T, Page) {
	if len(items) <= limit {
		return items, Page{}
	}
	items = items[:limit]
	return items, Page{HasMore: true, NextCursor: cursor(items[limit-1])}
}

// cursorParam is a list's ?cursor=, else the older parameter it replaces.
func cursorParam(c *gin.Context, older string) string {
	if v := c.Query("cursor"); v != "" {
		return v
	}
	return c.Query(older)
}

// communityListResponse is the answer of GET /v1/communities.
type communityListResponse struct {
	RunID       string               `json:"run_id"`
	Communities []matching.Community `json:"communities"`
	Page
}

// runListResponse is the answer of GET /v1/cluster-runs.
type runListResponse struct {
	Runs []matching.Run `json:"cluster_runs"`
	Page
}

// communitiesResponse is the answer of both match endpoints.
type communitiesResponse struct {
	MemberID    string           `json:"member_id,omitempty"`
	RunID       string           `json:"run_id"`
	Communities []matching.Match `json:"communities"`
	// Reason says why a member's communities are empty: no_consent, not_embedded_yet.
	Reason string `json:"reason,omitempty"`
}

func (s *server) memberCommunities(c *gin.Context) {
	limit, err := intParam(c, "limit", 3, 1, 20)
	if err != nil {
		s.writeError(c, err)
		return
	}
	id := c.Param("id")
	ctx, cancel := s.ctx(c)
	defer cancel()
	v, key, t, done := s.memberAnswer(ctx, c, id)
	if done {
		return
	}
	deps := []string{changes.Member(id), changes.Content}
	var mm matching.MemberMatches
	err = s.fromReplica(ctx, v.ID, func(ctx context.Context, db database.DBTX) ([]string, error) {
		var err error
		mm, err = matching.MemberCommunities(ctx, db, v, id, limit)
		return deps, err
	})
	if err == nil {
		err = s.svc.NameCommunities(ctx, mm.Communities, mm.Locale)
	}
	if err != nil {
		s.writeError(c, err)
		return
	}
	// Names come from approved content: the answer goes when content changes.
	s.answer(c, key, t, deps, communitiesResponse{MemberID: id,
		RunID: strconv.FormatInt(v.ID, 10), Communities: mm.Communities, Reason: mm.Reason})
}

// answerKey names a real-time answer in the answer cache: the run and the request.
func answerKey(c *gin.Context, run int64) string {
	return strconv.FormatInt(run, 10) + " " + c.Request.URL.RequestURI()
}

// memberAnswer starts a real-time read about a member: the current run's view, the
// answer's cache key and the ticket to keep it under. done means the request is
// answered already, from the cache or with an error (before the first run an unknown
// member is still not found, 404, rather than unavailable).
func (s *server) memberAnswer(ctx context.Context, c *gin.Context, memberID string) (v *matching.View, key string, t uint64, done bool) {
	v, err := s.svc.View(ctx)
	if errors.Is(err, matching.ErrNoRun) {
		if _, merr := members.Get(ctx, s.db, memberID); merr != nil {
			err = merr
		}
	}
	if err != nil {
		s.writeError(c, err)
		return nil, "", 0, true
	}
	key = answerKey(c, v.ID)
	t, done = s.fromCache(c, key)
	return v, key, t, done
}

// MatchRequest is the body of POST /v1/match.
type MatchRequest struct {
	Profile members.Profile `json:"profile"`
	Limit   int             `json:"limit"`
}

// DecodeMatchRequest reads and validates a match request; limit defaults to 3.
func DecodeMatchRequest(r io.Reader) (MatchRequest, error) {
	var req MatchRequest
	if err := decodeJSON(r, &req); err != nil {
		return req, err
	}
	if err := req.Profile.Normalize(); err != nil {
		return req, badRequest("invalid_profile", "profile."+err.Error())
	}
	if len(req.Profile.Interests)+len(req.Profile.Causes) == 0 && req.Profile.SkillLevel == "" {
		return req, badRequest("invalid_profile", "profile needs at least one interest, cause or skill_level")
	}
	switch {
	case req.Limit == 0:
		req.Limit = 3
	case req.Limit < 1 || req.Limit > 20:
		return req, badRequest("invalid_limit", "limit must be between 1 and 20")
	}
	return req, nil
}

func (s *server) match(c *gin.Context) {
	req, err := DecodeMatchRequest(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody))
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	p := req.Profile
	// A remote embedder gets a short leash on the request path; the profile cannot be
	// matched in another model's space, so a failure is a 503, not a fallback.
	ectx, ecancel := context.WithTimeout(ctx, embedTimeout)
	vecs, err := s.embedder.Embed(ectx, []embeddings.Profile{{Interests: p.Interests, Causes: p.Causes, SkillLevel: p.SkillLevel}})
	ecancel()
	if err != nil {
		s.logger.WarnContext(ctx, "profile embedding failed", slog.String("model", s.embedder.Model()), slog.String("error", err.Error()))
		s.writeError(c, &apiError{http.StatusServiceUnavailable, Error{Code: "embedder_unavailable",
			Message: "the embedding model did not answer in time; retry later"}})
		return
	}
	v, err := s.svc.View(ctx)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ms, err := matching.MatchVector(v, s.embedder.Model(), vecs[0], append(p.Interests, p.Causes...), req.Limit)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, communitiesResponse{RunID: strconv.FormatInt(v.ID, 10), Communities: ms})
}

func (s *server) deleteMember(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	if err := s.svc.EraseMember(ctx, c.Param("id")); err != nil {
		s.writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *server) peers(c *gin.Context) {
	limit, err := intParam(c, "limit", 10, 1, 50)
	if err != nil {
		s.writeError(c, err)
		return
	}
	scope, err := enumParam(c, "scope", matching.Scopes)
	if err != nil {
		s.writeError(c, err)
		return
	}
	q := matching.PeerQuery{MemberID: c.Param("id"), Scope: cmp.Or(scope, matching.ScopeCommunity), Community: c.Query("community"), Limit: limit}
	if q.Community != "" && scope != "" && scope != matching.ScopeCommunity {
		s.writeError(c, badRequest("invalid_scope", "community searches one community: leave scope out, or set it to community"))
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	v, key, t, done := s.memberAnswer(ctx, c, q.MemberID)
	if done {
		return
	}
	// The answer goes stale when the member, any peer it shows, or any member of the
	// communities it searched changes (one who consents again belongs in it).
	var res matching.PeerResult
	var deps []string
	err = s.fromReplica(ctx, v.ID, func(ctx context.Context, db database.DBTX) ([]string, error) {
		var err error
		if res, err = matching.Peers(ctx, db, v, q); err != nil {
			return nil, err
		}
		deps = []string{changes.Member(q.MemberID)}
		for _, p := range res.Peers {
			deps = append(deps, changes.Member(p.MemberID))
		}
		for _, id := range res.Communities {
			deps = append(deps, changes.Community(id))
		}
		if res.Scope == matching.ScopeAll {
			deps = append(deps, changes.Everyone)
		}
		return deps, nil
	})
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.answer(c, key, t, deps, peersResponse{MemberID: q.MemberID, Scope: res.Scope, CommunityID: q.Community, Peers: res.Peers})
}

func (s *server) listCommunities(c *gin.Context) {
	limit, err := intParam(c, "limit", 50, 1, 500)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	v, err := s.svc.View(ctx)
	if err != nil {
		s.writeError(c, err)
		return
	}
	cs, page := pageOf(matching.ListCommunities(v, cursorParam(c, "after"), limit+1), limit, func(cm matching.Community) string { return cm.ID })
	s.cached(c, communityListResponse{RunID: strconv.FormatInt(v.ID, 10), Communities: cs, Page: page})
}

func (s *server) getCommunity(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	v, err := s.svc.View(ctx)
	if err != nil {
		s.writeError(c, err)
		return
	}
	cm, err := matching.GetCommunity(v, c.Param("id"))
	if err == nil {
		err = s.fromReplica(ctx, v.ID, func(ctx context.Context, db database.DBTX) ([]string, error) {
			var err error
			cm.Composition, err = matching.CommunityComposition(ctx, db, v.ID, cm.ID)
			return nil, err
		})
	}
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.cached(c, cm)
}

// newestFirst reads the paging of a newest-first list: limit (1–200, 20) and the
// cursor, the id the page starts before (0: the newest; ?before= reads it too).
func newestFirst(c *gin.Context) (limit, before int, err error) {
	if limit, err = intParam(c, "limit", 20, 1, 200); err != nil {
		return 0, 0, err
	}
	raw := cursorParam(c, "before")
	if raw == "" {
		return limit, 0, nil
	}
	before, err = strconv.Atoi(raw)
	if err != nil || before < 1 {
		return 0, 0, badRequest("invalid_cursor", "cursor is a next_cursor from the previous page")
	}
	return limit, before, nil
}

// idCursor is the cursor of an item of a newest-first list: its id.
func idCursor(id int64) string { return strconv.FormatInt(id, 10) }

func (s *server) listRuns(c *gin.Context) {
	limit, before, err := newestFirst(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	runs, err := matching.ListRuns(ctx, s.db, int64(before), limit+1)
	if err != nil {
		s.writeError(c, err)
		return
	}
	runs, page := pageOf(runs, limit, func(r matching.Run) string { return idCursor(r.ID) })
	s.cached(c, runListResponse{Runs: runs, Page: page})
}

func (s *server) getRun(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		s.writeError(c, badRequest("invalid_run_id", "a cluster run id is a positive integer"))
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	run, err := matching.GetRun(ctx, s.db, id)
	if err != nil {
		s.writeError(c, err)
		return
	}
	s.cached(c, run)
}

// enumParam reads a query parameter that must be one of allowed ("" when absent): an
// unknown value is a 400, never a filter that silently matches nothing.
func enumParam(c *gin.Context, name string, allowed []string) (string, error) {
	v, ok := c.GetQuery(name)
	if !ok || v == "" {
		return "", nil
	}
	if !slices.Contains(allowed, v) {
		return "", badRequest("invalid_"+name, fmt.Sprintf("%s must be one of %s", name, strings.Join(allowed, ", ")))
	}
	return v, nil
}

// intParam reads an integer query parameter in [lo, hi], def when absent.
func intParam(c *gin.Context, name string, def, lo, hi int) (int, error) { //nolint:unparam // lo is 1 today; the bounds read better together
	raw, ok := c.GetQuery(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("invalid_"+name, fmt.Sprintf("%s must be an integer between %d and %d", name, lo, hi))
	}
	return n, nil
}

// hasControl reports control or bidi-reordering characters, other than tabs and line
// breaks, anywhere in a decoded JSON value's strings or keys.
func hasControl(v any) bool {
	bad := members.HasControl
	switch t := v.(type) {
	case string:
		return bad(t)
	case map[string]any:
		for k, x := range t {
			if bad(k) || hasControl(x) {
				return true
			}
		}
	case []any:
		for _, x := range t {
			if hasControl(x) {
				return true
			}
		}
	}
	return false
}

// decodeJSON reads exactly one JSON object with no unknown fields, in valid UTF-8
// (encoding/json would quietly replace bad bytes with U+FFFD).
func decodeJSON(r io.Reader, v any) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return badRequest("invalid_text", "the request body is not valid UTF-8")
	}
	var raw any
	if json.Unmarshal(body, &raw) == nil && hasControl(raw) {
		return badRequest("invalid_text", "the request body holds control characters (only tabs and line breaks may appear in text)")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var me *http.MaxBytesError
		if errors.As(err, &me) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return badRequest("invalid_json", "the request body is empty")
		}
		msg := strings.TrimPrefix(err.Error(), "json: ")
		return badRequest("invalid_json", "the request body is not valid: "+msg)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("invalid_json", "the request body must hold exactly one JSON object")
	}
	return nil
}
