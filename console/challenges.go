package console

import (
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/challenges"
	"github.com/belong-loyalty/belong/generation"
)

// The challenge pages: the list, the launch form (from an approved challenge draft),
// one challenge with its live progress, leaderboard and badge, and ending one early.
// Launching and ending are for admins, as in the API (admin scope).

var errChallengeAdminOnly = belong.New(belong.EINVALID, "admin_only", "Launching and ending challenges are for admins, as in the API (admin scope).")

// challengeRefresh is how often an active challenge's progress updates, in seconds.
const challengeRefresh = 15

type challengesPage struct {
	page
	Admin      bool
	All        bool
	Challenges []challenges.Challenge
	// Launchable is approved challenge content a challenge can be launched from.
	Launchable []generation.Draft
}

func (s *Console) consoleChallenges(c *gin.Context) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	p := challengesPage{page: s.signedIn(c, "Challenges"), Admin: isAdmin(c), All: c.Query("status") == "all"}
	var err error
	p.Challenges, err = s.svc.Challenges(ctx, challenges.ListFilter{Current: !p.All, Limit: 100})
	if err == nil && p.Admin {
		p.Launchable, err = s.svc.ReviewQueue(ctx, generation.Filter{Kind: generation.KindChallenge, Status: generation.StatusApproved, Limit: 50})
	}
	if err != nil {
		p.Error = "The challenges could not be read: " + s.messageOf(c, err)
	}
	for _, ch := range p.Challenges {
		if ch.Status == challenges.StatusActive {
			p.Refresh = challengeRefresh
		}
	}
	s.render(c, http.StatusOK, "challenges", p)
}

// launchPage is the launch form: the content it launches from, and the fields as
// last typed (defaults from the content on first view).
type launchPage struct {
	page
	Content    generation.Draft
	Launchable []generation.Draft
	Form       map[string]string
	Stages     []string
}

func (s *Console) consoleLaunchForm(c *gin.Context) {
	if !isAdmin(c) {
		s.forbid(c, errChallengeAdminOnly)
		return
	}
	s.renderLaunch(c, http.StatusOK, "", nil)
}

// renderLaunch shows the launch form for the content in the form (or ?content=),
// with msg as its error and form as typed (nil: the content's defaults).
func (s *Console) renderLaunch(c *gin.Context, status int, msg string, form map[string]string) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	p := launchPage{page: s.signedIn(c, "Launch a challenge"), Form: form, Stages: challenges.Stages}
	p.Error = msg
	var err error
	p.Launchable, err = s.svc.ReviewQueue(ctx, generation.Filter{Kind: generation.KindChallenge, Status: generation.StatusApproved, Limit: 50})
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	id := c.Query("content")
	if form != nil {
		id = form["content"]
	}
	for _, d := range p.Launchable {
		if strconv.FormatInt(d.ID, 10) == id || id == "" {
			p.Content = d
			break
		}
	}
	if p.Form == nil {
		days, _ := p.Content.Body["duration_days"].(float64)
		today := time.Now().UTC()
		p.Form = map[string]string{
			"content": strconv.FormatInt(p.Content.ID, 10), "target_kind": challenges.TargetCommunity, "target_id": p.Content.SubjectID,
			"kind": challenges.KindIndividual, "goal_type": challenges.GoalCount, "target": "10",
			"starts_on": today.Format(time.DateOnly), "ends_on": today.AddDate(0, 0, max(int(days), 1)-1).Format(time.DateOnly),
			"timezone": challenges.MemberZone, "recurrence": challenges.RecurNone, "enrolment": challenges.EnrolOptIn, "thresholds": "50",
		}
	}
	s.render(c, status, "launch", p)
}

// launchFields are the launch form's fields.
var launchFields = []string{"content", "target_kind", "target_id", "kind", "goal_type", "event", "category", "prop", "target",
	"steps", "adaptive_min", "adaptive_max", "starts_on", "ends_on", "timezone", "recurrence", "enrolment", "thresholds"}

func (s *Console) consoleLaunch(c *gin.Context) {
	form := make(map[string]string, len(launchFields))
	for _, f := range launchFields {
		form[f] = strings.TrimSpace(c.PostForm(f))
	}
	if !isAdmin(c) {
		s.renderLaunch(c, http.StatusForbidden, errChallengeAdminOnly.Message, form)
		return
	}
	d, err := definitionOf(form)
	if err != nil {
		s.renderLaunch(c, http.StatusBadRequest, err.Error(), form)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	ch, err := s.svc.LaunchChallenge(ctx, d, actorOf(c))
	if err != nil {
		s.renderLaunch(c, api.StatusOf(err), s.messageOf(c, err), form)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/console/challenges/%d", ch.ID))
}

// definitionOf reads the launch form into a definition (the service validates it).
func definitionOf(f map[string]string) (challenges.Definition, error) {
	d := challenges.Definition{Target: challenges.Target{Kind: f["target_kind"], ID: f["target_id"]}, Kind: f["kind"],
		Goal:     challenges.Goal{Type: f["goal_type"], Event: f["event"], Category: f["category"], Prop: f["prop"]},
		StartsOn: f["starts_on"], EndsOn: f["ends_on"], Timezone: f["timezone"], Recurrence: f["recurrence"], Enrolment: f["enrolment"]}
	var err error
	if d.ContentID, err = strconv.ParseInt(f["content"], 10, 64); err != nil {
		return d, fmt.Errorf("choose the approved content to launch from")
	}
	if d.Goal.Type != challenges.GoalSequence {
		if d.Goal.Target, err = strconv.ParseFloat(f["target"], 64); err != nil {
			return d, fmt.Errorf("the goal's target must be a number, not %q", f["target"])
		}
	}
	for _, line := range strings.Split(f["steps"], "\n") {
		if event, category, _ := strings.Cut(strings.TrimSpace(line), "/"); event != "" && d.Goal.Type == challenges.GoalSequence {
			d.Goal.Steps = append(d.Goal.Steps, challenges.Step{Event: strings.TrimSpace(event), Category: strings.TrimSpace(category)})
		}
	}
	if f["adaptive_min"] != "" || f["adaptive_max"] != "" {
		var a challenges.Adaptive
		if a.Min, err = strconv.ParseFloat(f["adaptive_min"], 64); err != nil {
			return d, fmt.Errorf("an adaptive goal needs a lowest goal (a number)")
		}
		if a.Max, err = strconv.ParseFloat(f["adaptive_max"], 64); err != nil {
			return d, fmt.Errorf("an adaptive goal needs a highest goal (a number)")
		}
		d.Adaptive = &a
	}
	d.Thresholds = []int{}
	for _, t := range strings.Split(f["thresholds"], ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		n, err := strconv.Atoi(t)
		if err != nil {
			return d, fmt.Errorf("thresholds are whole percentages separated by commas, not %q", t)
		}
		d.Thresholds = append(d.Thresholds, n)
	}
	return d, nil
}

type challengePage struct {
	page
	Admin       bool
	Challenge   challenges.Challenge
	Leaderboard []challenges.Entry
	// Badges are the drafts of the challenge's badge, newest first, any status.
	Badges []generation.Draft
}

func (s *Console) consoleChallenge(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.consoleFail(c, challenges.ErrNotFound)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	ch, board, err := s.svc.Challenge(ctx, id, 20)
	if err != nil {
		s.consoleFail(c, err)
		return
	}
	p := challengePage{page: s.signedIn(c, cmp.Or(ch.Title, "Challenge")), Admin: isAdmin(c), Challenge: ch, Leaderboard: board}
	p.Badges, err = s.svc.ReviewQueue(ctx, generation.Filter{Kind: generation.KindBadge, Community: ch.CommunityID,
		Occasion: ch.BadgeOccasion(), Limit: 10})
	if err != nil {
		p.Error = "The challenge's badge could not be read: " + s.messageOf(c, err)
	}
	if ch.Status == challenges.StatusActive || ch.Status == challenges.StatusScheduled {
		p.Refresh = challengeRefresh
	}
	s.render(c, http.StatusOK, "challenge", p)
}

func (s *Console) consoleEndChallenge(c *gin.Context) {
	if !isAdmin(c) {
		s.forbid(c, errChallengeAdminOnly)
		return
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.consoleFail(c, challenges.ErrNotFound)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	if err := s.svc.EndChallenge(ctx, id); err != nil {
		s.consoleFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/console/challenges/%d", id))
}

// emblem draws a badge draft's emblem with its name on the ribbon (safe to inline:
// generation.Emblem escapes every text and draws only its own shapes).
func emblem(d generation.Draft) template.HTML {
	name, _ := d.Body["name"].(string)
	return template.HTML(generation.Emblem(d.Body, d.SubjectID, name)) //nolint:gosec // escaped by generation.Emblem
}

// number shows a goal or progress as people write it: 12, 12.5.
func number(f float64) string {
	return strconv.FormatFloat(float64(int64(f*10+0.5))/10, 'f', -1, 64)
}
