package console

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/challenges"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/pilots"
	"github.com/belong-loyalty/belong/service"
)

// runsPage is what the cluster runs page shows: the runs, and for admins the dry
// runs with the form to request one.
type runsPage struct {
	page
	Runs     []matching.Run
	Admin    bool
	DryRuns  []service.DryRun
	Defaults service.Settings
	// Form holds what was typed when a request was refused, to correct it.
	Form map[string]string
}

// refreshEvery is how often a page showing a queued or running dry run reloads.
const refreshEvery = 5

func (s *Console) consoleRuns(c *gin.Context) {
	s.renderRuns(c, http.StatusOK, "", nil)
}

// renderRuns shows the runs page with status and, when a request was refused, its
// message and the form as it was typed.
func (s *Console) renderRuns(c *gin.Context, status int, msg string, form map[string]string) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	p := runsPage{page: s.signedIn(c, "Cluster runs"), Admin: isAdmin(c), Form: form}
	runs, err := matching.ListRuns(ctx, s.db, 0, 50)
	if err == nil && p.Admin {
		p.DryRuns, err = s.svc.DryRuns(ctx, 0, 20)
	}
	p.Runs = runs
	if err != nil {
		p.Error = err.Error()
	}
	if msg != "" {
		p.Error = msg
	}
	var derr error
	if p.Defaults, derr = s.svc.CurrentSettings(ctx); derr != nil && p.Error == "" {
		p.Error = derr.Error()
	}
	if p.Form == nil {
		p.Form = map[string]string{"target_size": strconv.Itoa(p.Defaults.TargetSize), "min_size": strconv.Itoa(p.Defaults.MinSize),
			"max_size": strconv.Itoa(p.Defaults.MaxSize), "seed": strconv.FormatUint(p.Defaults.Seed, 10),
			"facets": facetsText(p.Defaults.Facets)}
	}
	for _, d := range p.DryRuns {
		if d.Status == service.DryRunQueued || d.Status == service.DryRunRunning {
			p.Refresh = refreshEvery
		}
	}
	s.render(c, status, "runs", p)
}

func facetsText(fs []string) string {
	if len(fs) == 0 {
		return "none"
	}
	return strings.Join(fs, ", ")
}

// errAdminOnly refuses what only admins may do, as in the API.
var errAdminOnly = belong.New(belong.EINVALID, "admin_only", "Dry runs and publishing a run are for admins, as in the API (admin scope).")

// settingsForm reads the dry run form: a blank field keeps the server's setting;
// facets are comma-separated, "none" for none.
func settingsForm(c *gin.Context) (service.ClusterSettings, error) {
	var cs service.ClusterSettings
	for _, f := range []struct {
		name string
		dst  **int
	}{{"target_size", &cs.TargetSize}, {"min_size", &cs.MinSize}, {"max_size", &cs.MaxSize}} {
		v := strings.TrimSpace(c.PostForm(f.name))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return cs, belong.Errorf(belong.EINVALID, "invalid_"+f.name, "%s must be a whole number", f.name)
		}
		*f.dst = &n
	}
	if v := strings.TrimSpace(c.PostForm("seed")); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return cs, belong.New(belong.EINVALID, "invalid_seed", "seed must be a whole number of at least 0")
		}
		cs.Seed = &n
	}
	if v := strings.TrimSpace(c.PostForm("facets")); v != "" {
		fs := []string{}
		if !strings.EqualFold(v, "none") {
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f != "" {
					fs = append(fs, f)
				}
			}
		}
		cs.Facets = &fs
	}
	return cs, nil
}

// messageOf is what a reviewer is told of err: the vocabulary's message, or, for
// anything else, that it was logged.
func (s *Console) messageOf(c *gin.Context, err error) string {
	var be *belong.Error
	if errors.As(err, &be) && be.Kind != belong.EINTERNAL {
		return be.Message
	}
	s.logger.ErrorContext(c.Request.Context(), "console request failed", slog.String("error", err.Error()))
	return "Something went wrong on our side; it has been logged."
}

// consoleRequestDryRun queues a dry run with the form's settings (admin only) and
// shows it; a refused form comes back with the reason and what was typed.
func (s *Console) consoleRequestDryRun(c *gin.Context) {
	form := map[string]string{}
	for _, k := range []string{"target_size", "min_size", "max_size", "seed", "facets"} {
		form[k] = c.PostForm(k)
	}
	if !isAdmin(c) {
		s.renderRuns(c, http.StatusForbidden, errAdminOnly.Message, form)
		return
	}
	cs, err := settingsForm(c)
	if err == nil {
		ctx, cancel := s.ctx(c)
		defer cancel()
		var d service.DryRun
		if d, err = s.svc.RequestDryRun(ctx, cs, actorOf(c)); err == nil {
			c.Redirect(http.StatusSeeOther, "/console/dry-runs/"+strconv.FormatInt(d.ID, 10))
			return
		}
	}
	s.renderRuns(c, api.StatusOf(err), s.messageOf(c, err), form)
}

// dryRunPage is what a dry run's page shows.
type dryRunPage struct {
	page
	DryRun service.DryRun
	// Sizes pairs the current and proposed runs' size buckets.
	Sizes []sizeRow
	// Shown caps the splits, merges and renames listed.
	Shown int
}

type sizeRow struct {
	Label             string
	Current, Proposed int
	CurrentW, PropW   float64
}

const shownChanges = 50

func sizeRows(r *matching.DryRunReport) []sizeRow {
	if r == nil {
		return nil
	}
	var rows []sizeRow
	most := 1
	for i, b := range r.Sizes {
		row := sizeRow{Proposed: b.Communities}
		if i < len(r.CurrentSizes) {
			row.Current = r.CurrentSizes[i].Communities
		}
		switch {
		case b.UpTo > 0 && i == 0:
			row.Label = fmt.Sprintf("up to %d", b.UpTo)
		case b.UpTo > 0:
			row.Label = fmt.Sprintf("%d to %d", r.Sizes[i-1].UpTo+1, b.UpTo)
		case i > 0:
			row.Label = fmt.Sprintf("over %d", r.Sizes[i-1].UpTo)
		}
		most = max(most, row.Current, row.Proposed)
		rows = append(rows, row)
	}
	for i := range rows {
		rows[i].CurrentW, rows[i].PropW = 200*float64(rows[i].Current)/float64(most), 200*float64(rows[i].Proposed)/float64(most)
	}
	return rows
}

func (s *Console) dryRunOf(c *gin.Context) (service.DryRun, bool) {
	if !isAdmin(c) {
		s.renderRuns(c, http.StatusForbidden, errAdminOnly.Message, nil)
		return service.DryRun{}, false
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		s.renderRuns(c, http.StatusNotFound, service.ErrDryRunNotFound.Message, nil)
		return service.DryRun{}, false
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	d, err := s.svc.GetDryRun(ctx, id)
	if err != nil {
		s.renderRuns(c, api.StatusOf(err), s.messageOf(c, err), nil)
		return service.DryRun{}, false
	}
	return d, true
}

func (s *Console) consoleDryRun(c *gin.Context) {
	d, ok := s.dryRunOf(c)
	if !ok {
		return
	}
	p := dryRunPage{page: s.signedIn(c, fmt.Sprintf("Dry run %d", d.ID)), DryRun: d, Sizes: sizeRows(d.Report), Shown: shownChanges}
	if d.Status == service.DryRunQueued || d.Status == service.DryRunRunning {
		p.Refresh = refreshEvery
	}
	s.render(c, http.StatusOK, "dryrun", p)
}

// consolePublishDryRun queues the run that publishes a dry run's settings (admin
// only); the job computes and publishes it.
func (s *Console) consolePublishDryRun(c *gin.Context) {
	d, ok := s.dryRunOf(c)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	if _, err := s.svc.PublishDryRun(ctx, d.ID, actorOf(c)); err != nil {
		p := dryRunPage{page: s.signedIn(c, fmt.Sprintf("Dry run %d", d.ID)), DryRun: d, Sizes: sizeRows(d.Report), Shown: shownChanges}
		p.Error = s.messageOf(c, err)
		s.render(c, api.StatusOf(err), "dryrun", p)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/dry-runs/"+strconv.FormatInt(d.ID, 10))
}

// communityPage is what a community's page shows.
type communityPage struct {
	page
	Community   matching.Community
	Composition *matching.Composition
	// Approved and Pending are its content (profiles, challenges, prompts), not
	// the recognitions of its members.
	Approved []generation.Draft
	Pending  []generation.Draft
	// FirstNames are a few members who consented to be seen by their community.
	FirstNames []string
	// Profile is its approved profile (in English if there is one), if any.
	Profile *generation.Draft
	// Sizes are its sizes in the last runs, newest first, with the largest.
	Sizes   []matching.RunSize
	MaxSize int
	// Stages count its members by lifecycle stage.
	Stages     []service.StageCount
	Challenges []challenges.Challenge
	// Feedback summarises what its members said in pilots (admins only).
	Feedback *pilots.Summary
}

// sampleMembers is how many first names a community's page shows.
const sampleMembers = 8

func (s *Console) consoleCommunity(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	p := communityPage{page: s.signedIn(c, "Community")}
	fail := func(err error) {
		p.Error = s.messageOf(c, err)
		s.render(c, api.StatusOf(err), "community", p)
	}
	v, err := s.svc.View(ctx)
	if err != nil {
		fail(err)
		return
	}
	cm, err := matching.GetCommunity(v, c.Param("id"))
	if err != nil {
		fail(err)
		return
	}
	p.Community, p.Title = cm, cm.Name
	if p.Composition, err = matching.CommunityComposition(ctx, s.db, v.ID, cm.ID); err != nil {
		fail(err)
		return
	}
	// Content about the community itself: recognitions are about one member each
	// (the review queue has them).
	for _, kind := range generation.Kinds {
		if kind == generation.KindRecognition {
			continue
		}
		for _, st := range []struct {
			status string
			dst    *[]generation.Draft
		}{{generation.StatusApproved, &p.Approved}, {generation.StatusDraft, &p.Pending}} {
			ds, err := s.svc.ReviewQueue(ctx, generation.Filter{Kind: kind, Community: cm.ID, Status: st.status, Limit: 20})
			if err != nil {
				fail(err)
				return
			}
			*st.dst = append(*st.dst, ds...)
		}
	}
	if p.FirstNames, err = matching.FirstNames(ctx, s.db, v.ID, cm.ID, sampleMembers); err != nil {
		fail(err)
		return
	}
	for i, d := range p.Approved {
		if d.Kind == generation.KindCommunityProfile && (p.Profile == nil || d.Locale == "en") {
			p.Profile = &p.Approved[i]
		}
	}
	if p.Profile != nil {
		if name, _ := p.Profile.Body["name"].(string); name != "" {
			p.Title = name
		}
	}
	if p.Sizes, err = matching.SizeHistory(ctx, s.db, cm.ID, 10); err != nil {
		fail(err)
		return
	}
	for _, rs := range p.Sizes {
		p.MaxSize = max(p.MaxSize, rs.Size)
	}
	if p.Stages, err = s.svc.LifecycleMix(ctx, v.ID, cm.ID); err != nil {
		fail(err)
		return
	}
	if p.Challenges, err = s.svc.Challenges(ctx, challenges.ListFilter{Community: cm.ID, Limit: 20}); err != nil {
		fail(err)
		return
	}
	if isAdmin(c) {
		f, err := pilots.Summarize(ctx, s.db, 0, cm.ID)
		if err != nil {
			fail(err)
			return
		}
		p.Feedback = &f
	}
	s.render(c, http.StatusOK, "community", p)
}
