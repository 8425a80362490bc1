// Package console is the review console: server-rendered pages under /console for
// loyalty teams. People sign in with their own account (package accounts: an e-mail
// address and a password; a reviewer or an admin role mapped to the API's scopes), and
// the audit trail names them. The session's random token lives in a Secure, HttpOnly,
// SameSite=Strict cookie, and every form carries a CSRF token derived from it, so any
// replica can check it. Errors get the API's statuses (api.StatusOf).
package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/accounts"
	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/internal/logctx"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/pilots"
	"github.com/belong-loyalty/belong/service"
	"github.com/belong-loyalty/belong/trends"
)

//go:embed templates/*.html
var templatesFS embed.FS

//go:embed static/*.js
var staticFS embed.FS

var consoleTmpl = template.Must(template.New("console").Funcs(template.FuncMap{
	"inc":      func(i int) int { return i + 1 },
	"emblem":   emblem,
	"changes":  changeLines,
	"diff":     diffRows,
	"barWidth": func(n, top int) int { return 200 * n / max(top, 1) },
	"length":   lengthClass,
	"blocking": func(d generation.Draft) bool { return len(generation.Blocking(d.Findings)) > 0 },
	"number":   number,
	"list":     func(xs ...string) []string { return xs },
	"percent":  func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
}).ParseFS(templatesFS, "templates/*.html"))

const sessionCookie = "belong_session"

type page struct {
	Title    string
	SignedIn bool
	// Person is who is signed in.
	Person accounts.User
	CSRF   string
	Error  string
	// Refresh, when above zero, updates the page's live region (template "live")
	// every that many seconds while something it shows is under way; Self is the
	// page's URL, which the region is fetched from.
	Refresh int
	Self    string
}

// csrfToken is the CSRF token of the forms of a session: derived from its token,
// which only the reviewer's browser holds (an HttpOnly cookie), so any replica can
// check it and a page from another site cannot produce it.
func csrfToken(session string) string {
	sum := sha256.Sum256([]byte("belong-console-csrf|" + session))
	return hex.EncodeToString(sum[:])
}

func (s *Console) render(c *gin.Context, status int, name string, data any) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Header("X-Frame-Options", "DENY")
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")
	c.Status(status)
	if err := consoleTmpl.ExecuteTemplate(c.Writer, name, data); err != nil {
		s.logger.ErrorContext(c.Request.Context(), "console template failed", "template", name, "error", err.Error())
	}
}

// reviewer admits console requests with a live server-side session of an enabled
// account (every role reviews), and checks the CSRF token of every POST. Others go to
// sign-in.
func (s *Console) reviewer(c *gin.Context) {
	token, err := c.Cookie(sessionCookie)
	if err == nil {
		var u accounts.User
		ctx, cancel := s.ctx(c)
		u, err = accounts.SessionUser(ctx, s.db, token)
		cancel()
		if err == nil && !u.Allows(apikey.ScopeContentReview) {
			err = errors.New("scope")
		}
		if err == nil {
			if c.Request.Method == http.MethodPost && !hmac.Equal([]byte(c.PostForm("csrf")), []byte(csrfToken(token))) {
				s.render(c, http.StatusForbidden, "login", s.loginPage(c, "The form expired or did not come from this console; sign in again.", ""))
				c.Abort()
				return
			}
			c.Set(userContext, u)
			c.Request = c.Request.WithContext(logctx.With(c.Request.Context(), slog.Int64("user_id", u.ID)))
			c.Set("csrf", csrfToken(token))
			c.Set(sessionContext, token)
			c.Next()
			return
		}
	}
	c.Redirect(http.StatusSeeOther, "/console/login")
	c.Abort()
}

// cleanForm refuses a form whose values hold invalid UTF-8 or control characters
// other than tabs and line breaks: the API refuses them, and so does the console,
// rather than store or "repair" them.
func (s *Console) cleanForm(c *gin.Context) {
	if c.Request.Method != http.MethodPost {
		c.Next()
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		s.consoleFail(c, belong.New(belong.EINVALID, "invalid_form", "the form could not be read"))
		c.Abort()
		return
	}
	for _, vs := range c.Request.PostForm {
		for _, v := range vs {
			if !utf8.ValidString(v) || members.HasControl(v) {
				s.consoleFail(c, belong.New(belong.EINVALID, "invalid_text", "The form holds a control character or invalid UTF-8; nothing was saved."))
				c.Abort()
				return
			}
		}
	}
	c.Next()
}

// sessionTTL is how long a console session lasts.
const sessionTTL = 12 * time.Hour

const (
	sessionContext = "belong.console_session"
	// loginCookie carries the sign-in form's own CSRF token (double submit): a page
	// from another site cannot read it, so it cannot sign a reviewer in as someone else.
	loginCookie = "belong_login"
)

// loginPage is the sign-in form with msg as its error, the address as typed, and a
// fresh login CSRF token (also set in a cookie).
type loginPage struct {
	page
	Email string
}

func (s *Console) loginPage(c *gin.Context, msg, email string) loginPage {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	c.SetSameSite(http.SameSiteStrictMode)
	c.SetCookie(loginCookie, token, int((15 * time.Minute).Seconds()), "/console", "", true, true)
	return loginPage{page: page{Title: "Sign in", CSRF: token, Error: msg}, Email: email}
}

// Config wires the console to its dependencies.
type Config struct {
	DB *pgxpool.Pool
	// Service runs the review use cases (the same as the API's).
	Service *service.Service
	Logger  *slog.Logger
	// Timeout bounds each page's database work; 5 s when zero.
	Timeout time.Duration
}

// Console serves the pages.
type Console struct {
	db      *pgxpool.Pool
	svc     *service.Service
	logger  *slog.Logger
	timeout time.Duration
}

const userContext = "belong.console_user"

func (s *Console) ctx(c *gin.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request.Context(), s.timeout)
}

// userOf is the signed-in person.
func userOf(c *gin.Context) accounts.User {
	v, _ := c.Get(userContext)
	u, _ := v.(accounts.User)
	return u
}

// isAdmin reports whether the signed-in person is an admin.
func isAdmin(c *gin.Context) bool { return userOf(c).Allows(apikey.ScopeAdmin) }

// actorOf names the signed-in person in the audit trail.
func actorOf(c *gin.Context) string { return userOf(c).Actor() }

// Register adds the console's routes to r.
func Register(r gin.IRouter, cfg Config) {
	s := &Console{db: cfg.DB, svc: cfg.Service, logger: cfg.Logger, timeout: cfg.Timeout}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.logger = slog.New(logctx.Handler(s.logger.Handler()))
	if s.timeout <= 0 {
		s.timeout = 5 * time.Second
	}
	s.routes(r)
}

func (s *Console) routes(r gin.IRouter) {
	r.GET("/console", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/console/queue") })
	r.GET("/console/login", func(c *gin.Context) { s.render(c, http.StatusOK, "login", s.loginPage(c, "", "")) })
	r.POST("/console/login", s.consoleLogin)
	static := http.FileServerFS(staticFS)
	r.GET("/console/static/:file", func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=86400")
		c.Request.URL.Path = "/static/" + c.Param("file")
		static.ServeHTTP(c.Writer, c.Request)
	})
	g := r.Group("/console", s.reviewer, s.cleanForm)
	g.POST("/logout", s.consoleLogout)
	g.GET("/queue", s.consoleQueue)
	g.POST("/drafts/:id/approve", s.consoleDecide(true))
	g.POST("/drafts/:id/reject", s.consoleDecide(false))
	g.POST("/drafts/:id/withdraw", s.consoleWithdraw)
	g.GET("/brand", s.consoleBrand)
	g.POST("/brand", s.consoleSaveBrand)
	g.POST("/bulk-approve", s.consoleBulk(true))
	g.POST("/bulk-reject", s.consoleBulk(false))
	g.GET("/drafts/:id/edit", s.consoleEditForm)
	g.POST("/drafts/:id/edit", s.consoleEdit)
	g.GET("/communities", s.consoleCommunities)
	g.GET("/runs", s.consoleRuns)
	g.POST("/dry-runs", s.consoleRequestDryRun)
	g.GET("/dry-runs/:id", s.consoleDryRun)
	g.POST("/dry-runs/:id/publish", s.consolePublishDryRun)
	g.GET("/communities/:id", s.consoleCommunity)
	g.GET("/tribes", s.consoleTribes)
	g.GET("/trends", s.consoleTrends)
	g.GET("/pilots", s.consolePilots)
	g.GET("/people", s.consolePeople)
	g.POST("/people", s.consoleAddPerson)
	g.POST("/people/:id/:action", s.consolePersonAction)
	g.GET("/challenges", s.consoleChallenges)
	g.GET("/challenges/new", s.consoleLaunchForm)
	g.POST("/challenges", s.consoleLaunch)
	g.GET("/challenges/:id", s.consoleChallenge)
	g.POST("/challenges/:id/end", s.consoleEndChallenge)
}

// consoleLogin checks the key and opens a server-side session: the cookie holds the
// session's random token, never the key, and signing out ends it everywhere.
func (s *Console) consoleLogin(c *gin.Context) {
	email := strings.TrimSpace(c.PostForm("email"))
	want, err := c.Cookie(loginCookie)
	if err != nil || want == "" || !hmac.Equal([]byte(c.PostForm("csrf")), []byte(want)) {
		s.render(c, http.StatusForbidden, "login", s.loginPage(c, "The sign-in form expired or did not come from this console; try again.", email))
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	u, err := accounts.Authenticate(ctx, s.db, email, c.PostForm("password"), time.Now())
	if err != nil {
		s.render(c, api.StatusOf(err), "login", s.loginPage(c, s.messageOf(c, err), email))
		return
	}
	token, err := accounts.StartSession(ctx, s.db, u, sessionTTL)
	if err != nil {
		s.render(c, api.StatusOf(err), "login", s.loginPage(c, "Signing in failed; try again.", email))
		return
	}
	s.logger.InfoContext(ctx, "console sign-in", slog.Int64("user_id", u.ID))
	c.SetSameSite(http.SameSiteStrictMode)
	c.SetCookie(loginCookie, "", -1, "/console", "", true, true)
	c.SetCookie(sessionCookie, token, int(sessionTTL.Seconds()), "/console", "", true, true)
	c.Redirect(http.StatusSeeOther, "/console/queue")
}

// consoleLogout ends the session on the server: the old cookie no longer works.
func (s *Console) consoleLogout(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	if err := accounts.EndSession(ctx, s.db, c.GetString(sessionContext)); err != nil {
		s.consoleFail(c, err)
		return
	}
	c.SetSameSite(http.SameSiteStrictMode)
	c.SetCookie(sessionCookie, "", -1, "/console", "", true, true)
	c.Redirect(http.StatusSeeOther, "/console/login")
}

func (s *Console) signedIn(c *gin.Context, title string) page {
	return page{Title: title, SignedIn: true, CSRF: c.GetString("csrf"), Person: userOf(c), Self: c.Request.URL.RequestURI()}
}

type field struct {
	Name, Value string
	Rows        int
}

func (s *Console) consoleEditForm(c *gin.Context) {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	ctx, cancel := s.ctx(c)
	defer cancel()
	r, err := s.svc.DraftForReview(ctx, id)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	s.renderEdit(c, http.StatusOK, r, nil, "")
}

// renderEdit shows the edit form of a draft: its fields as typed (typed, by field
// name) or as stored, its findings and its history, with msg as the error.
func (s *Console) renderEdit(c *gin.Context, status int, r service.Review, typed map[string]string, msg string) {
	d := r.Draft
	var fields []field
	for _, k := range sortedKeys(d.Body) {
		var f field
		switch t := d.Body[k].(type) {
		case []any:
			lines := make([]string, len(t))
			for i, x := range t {
				lines[i] = fmt.Sprint(x)
			}
			f = field{k, strings.Join(lines, "\n"), len(lines) + 1}
		default:
			f = field{k, fmt.Sprint(t), 3}
		}
		if v, ok := typed[k]; ok {
			f.Value = v
		}
		fields = append(fields, f)
	}
	p := s.signedIn(c, "Edit draft")
	p.Error = msg
	s.render(c, status, "edit", struct {
		page
		Draft   generation.Draft
		Fields  []field
		History []generation.Review
	}{p, d, fields, r.History})
}

func (s *Console) consoleEdit(c *gin.Context) {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	ctx, cancel := s.ctx(c)
	defer cancel()
	r, err := s.svc.DraftForReview(ctx, id)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	typed := map[string]string{}
	body := generation.Body{}
	for k, v := range r.Draft.Body {
		val := strings.TrimSpace(c.PostForm("f_" + k))
		typed[k] = val
		switch v.(type) {
		case []any:
			var lines []string
			for _, l := range strings.Split(val, "\n") {
				if l = strings.TrimSpace(l); l != "" {
					lines = append(lines, l)
				}
			}
			body[k] = lines
		case float64:
			n, err := strconv.Atoi(val)
			if err != nil {
				s.renderEdit(c, http.StatusBadRequest, r, typed, k+" must be a whole number; nothing was saved.")
				return
			}
			body[k] = n
		default:
			body[k] = val
		}
	}
	if _, err := s.svc.EditDraft(ctx, id, body, actorOf(c)); err != nil {
		s.renderEdit(c, api.StatusOf(err), r, typed, s.messageOf(c, err)+" Nothing was saved; your edits are below.")
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/queue")
}

// changeLines reads an audit entry's changes as lines a person reads: "narrative:
// “old” → “new”", or "override: personal_data, markup".
func changeLines(changes map[string]any) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(changes)) {
		switch v := changes[k].(type) {
		case map[string]any:
			out = append(out, fmt.Sprintf("%s: “%v” → “%v”", k, v["from"], v["to"]))
		default:
			out = append(out, fmt.Sprintf("%s: %v", k, v))
		}
	}
	return out
}

type mapPoint struct {
	X, Y, R float64
	Color   string
	Label   string
	ID      string
}

var tribeColors = []string{"#4c6ef5", "#f08c00", "#2b8a3e", "#c2255c", "#7048e8", "#0b7285", "#e8590c", "#5c940d", "#a61e4d", "#364fc7"}

func (s *Console) consoleCommunities(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	p := s.signedIn(c, "Communities")
	var (
		cs  []matching.Community
		pts map[string][2]float64
	)
	v, err := s.svc.View(ctx)
	var comps map[string]matching.Composition
	if err == nil {
		cs, pts = matching.ListCommunities(v, "", 500), matching.Map(v)
		comps, err = matching.Compositions(ctx, s.db, v.ID)
	}
	if err != nil {
		p.Error = err.Error()
	}
	// Feedback is members' own words: the API keeps it for admin keys, and the console
	// for admins.
	var feedback map[string]pilots.Summary
	if isAdmin(c) {
		var ferr error
		if feedback, ferr = pilots.SummarizeCommunities(ctx, s.db); ferr != nil && err == nil {
			p.Error = ferr.Error()
		}
	}
	const w, h, pad = 720.0, 420.0, 24.0
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, q := range pts {
		minX, maxX = math.Min(minX, q[0]), math.Max(maxX, q[0])
		minY, maxY = math.Min(minY, q[1]), math.Max(maxY, q[1])
	}
	legend := tribeLegend(cs)
	colour := map[string]string{}
	for _, t := range legend {
		colour[t.ID] = t.Color
	}
	var points []mapPoint
	for _, cm := range cs {
		q, ok := pts[cm.ID]
		if !ok {
			continue
		}
		color := tribeColors[0]
		if cm.Tribe != nil {
			color = colour[cm.Tribe.ID]
		}
		points = append(points, mapPoint{
			X: pad + (q[0]-minX)/math.Max(maxX-minX, 1e-9)*(w-2*pad), Y: pad + (q[1]-minY)/math.Max(maxY-minY, 1e-9)*(h-2*pad),
			R: 2 + math.Sqrt(float64(cm.Size)), Color: color, Label: fmt.Sprintf("%s (%d)", cm.Name, cm.Size), ID: cm.ID})
	}
	s.render(c, http.StatusOK, "communities", struct {
		page
		Communities  []matching.Community
		Compositions map[string]matching.Composition
		Feedback     map[string]pilots.Summary
		Points       []mapPoint
		Legend       []tribeEntry
		MapW, MapH   float64
	}{p, cs, comps, feedback, points, legend, w, h})
}

// tribeEntry is a tribe as the map's legend and the tribes page show it.
type tribeEntry struct {
	ID, Name, Color string
	Communities     []matching.Community
	Members         int
}

// tribeLegend lists the tribes of communities cs in order of first appearance, each
// with its colour, communities and members.
func tribeLegend(cs []matching.Community) []tribeEntry {
	var out []tribeEntry
	at := map[string]int{}
	for _, cm := range cs {
		if cm.Tribe == nil {
			continue
		}
		i, ok := at[cm.Tribe.ID]
		if !ok {
			i = len(out)
			at[cm.Tribe.ID] = i
			out = append(out, tribeEntry{ID: cm.Tribe.ID, Name: cm.Tribe.Name, Color: tribeColors[i%len(tribeColors)]})
		}
		out[i].Communities = append(out[i].Communities, cm)
		out[i].Members += cm.Size
	}
	return out
}

// consoleTribes lists the tribes with their communities.
func (s *Console) consoleTribes(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	p := s.signedIn(c, "Tribes")
	var tribes []tribeEntry
	v, err := s.svc.View(ctx)
	if err != nil {
		p.Error = s.messageOf(c, err)
	} else {
		tribes = tribeLegend(matching.ListCommunities(v, "", 500))
	}
	s.render(c, http.StatusOK, "tribes", struct {
		page
		Tribes []tribeEntry
	}{p, tribes})
}

func sortedKeys(b generation.Body) []string { return slices.Sorted(maps.Keys(b)) }

type bar struct {
	X, W         float64
	Y            int
	TextX, TextY int
	Anchor       string
	Color, Label string
}

type chart struct {
	Title  string
	Bars   []bar
	Height int
}

// trendChart draws rising changes to the right of the axis and falling ones to the
// left, bar length ∝ |z|.
func trendChart(title string, up, down []trends.Change) chart {
	ch := chart{Title: title}
	maxZ := 3.0
	for _, c := range append(append([]trends.Change{}, up...), down...) {
		maxZ = math.Max(maxZ, math.Abs(c.Z))
	}
	y := 6
	add := func(c trends.Change, rising bool) {
		w := 280 * math.Abs(c.Z) / maxZ
		b := bar{Y: y, W: w, TextY: y + 12, Label: fmt.Sprintf("%s (%d → %d, z %.1f)", c.Name, c.Before, c.After, c.Z)}
		if rising {
			b.X, b.Color, b.TextX, b.Anchor = 320, "#2b8a3e", 326, "start"
		} else {
			b.X, b.Color, b.TextX, b.Anchor = 320-w, "#c92a2a", 314, "end"
		}
		ch.Bars = append(ch.Bars, b)
		y += 22
	}
	for i, c := range up {
		if i < 10 {
			add(c, true)
		}
	}
	for i, c := range down {
		if i < 10 {
			add(c, false)
		}
	}
	ch.Height = y + 4
	return ch
}

func (s *Console) consoleTrends(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	p := s.signedIn(c, "Trends")
	r, err := trends.Read(ctx, s.db, time.Now(), 30*24*time.Hour, trends.Config{})
	if err != nil {
		p.Error = err.Error()
	}
	s.render(c, http.StatusOK, "trends", struct {
		page
		Report trends.Report
		Charts []chart
	}{p, r, []chart{trendChart("Communities", r.Growing, r.Shrinking), trendChart("Interests, causes and activities", r.Rising, r.Falling)}})
}

type pilotRow struct {
	Pilot   pilots.Pilot
	Invited int
	Summary pilots.Summary
}

func (s *Console) consolePilots(c *gin.Context) {
	if !isAdmin(c) {
		p := s.signedIn(c, "Pilots")
		p.Error = "Pilots and their feedback are for admins, as in the API (admin scope)."
		s.render(c, http.StatusForbidden, "pilots", struct {
			page
			Pilots []pilotRow
		}{p, nil})
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	p := s.signedIn(c, "Pilots")
	ps, invited, err := pilots.List(ctx, s.db, 50)
	var rows []pilotRow
	for i, pl := range ps {
		sum, serr := pilots.Summarize(ctx, s.db, pl.ID, "")
		if serr != nil {
			err = serr
			break
		}
		rows = append(rows, pilotRow{pl, invited[i], sum})
	}
	if err != nil {
		p.Error = err.Error()
	}
	s.render(c, http.StatusOK, "pilots", struct {
		page
		Pilots []pilotRow
	}{p, rows})
}
