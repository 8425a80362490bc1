package console

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/generation"
)

// The brand page: the brand settings in force (banned phrases, voice guide, tone,
// channel limits) with who saved them, the form to save a new version (admins), and
// the versions before. Withdrawing approved content is here too: it is governance.

var errBrandAdminOnly = belong.New(belong.EINVALID, "admin_only", "Brand settings are edited by admins; reviewers read them.")

type brandPage struct {
	page
	Brand   generation.Brand
	History []generation.Brand
	// Form is the form's fields: as typed after a refusal, else the settings in force.
	Form   map[string]string
	Notice string
}

func (s *Console) renderBrand(c *gin.Context, status int, form map[string]string, msg, notice string) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	p := brandPage{page: s.signedIn(c, "Brand settings"), Form: form, Notice: notice}
	p.Error = msg
	var err error
	if p.Brand, err = s.svc.Brand(ctx); err == nil {
		p.History, err = s.svc.BrandHistory(ctx, 20)
	}
	if err != nil {
		p.Error = s.messageOf(c, err)
	}
	if p.Form == nil {
		p.Form = map[string]string{"banned": strings.Join(p.Brand.Banned, "\n"), "voice": p.Brand.Voice, "tone": p.Brand.Tone,
			"limits": limitsText(p.Brand.ChannelLimits)}
	}
	s.render(c, status, "brand", p)
}

func (s *Console) consoleBrand(c *gin.Context) { s.renderBrand(c, http.StatusOK, nil, "", "") }

func (s *Console) consoleSaveBrand(c *gin.Context) {
	form := map[string]string{"banned": c.PostForm("banned"), "voice": c.PostForm("voice"), "tone": c.PostForm("tone"),
		"limits": c.PostForm("limits")}
	if !isAdmin(c) {
		s.renderBrand(c, http.StatusForbidden, form, errBrandAdminOnly.Message, "")
		return
	}
	b := generation.Brand{Banned: strings.Split(form["banned"], "\n"), Voice: form["voice"], Tone: form["tone"]}
	var err error
	if b.ChannelLimits, err = parseLimits(form["limits"]); err != nil {
		s.renderBrand(c, http.StatusBadRequest, form, err.Error(), "")
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	saved, err := s.svc.SaveBrand(ctx, b, actorOf(c))
	if err != nil {
		s.renderBrand(c, api.StatusOf(err), form, s.messageOf(c, err), "")
		return
	}
	s.renderBrand(c, http.StatusOK, nil, "", fmt.Sprintf("Saved as version %d: drafts and edits are checked against it from now on.", saved.Version))
}

// limitsText writes channel limits as the form shows them: "push 120, sms 160".
func limitsText(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for ch, n := range m {
		parts = append(parts, ch+" "+strconv.Itoa(n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// parseLimits reads "push 120, sms 160" (or "push: 120").
func parseLimits(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		fields := strings.Fields(strings.ReplaceAll(part, ":", " "))
		if len(fields) == 0 {
			continue
		}
		bad := fmt.Errorf("channel limits are a channel and a number of characters, separated by commas (push 120, sms 160), not %q",
			strings.TrimSpace(part))
		if len(fields) != 2 {
			return nil, bad
		}
		n, err := strconv.Atoi(fields[1])
		if err != nil {
			return nil, bad
		}
		out[strings.ToLower(fields[0])] = n
	}
	return out, nil
}

// consoleWithdraw takes approved content out of service, with a reason.
func (s *Console) consoleWithdraw(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.consoleFail(c, generation.ErrNotFound)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	if _, err := s.svc.Withdraw(ctx, id, strings.TrimSpace(c.PostForm("reason")), actorOf(c)); err != nil {
		s.consoleFail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/console/queue?status=withdrawn")
}
