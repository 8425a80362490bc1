package console

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/generation"
)

// The review queue: paged and searchable, with counts per kind, status and locale
// that follow the other filters; the locales of one piece of content together; each
// draft's copy previewed as the member sees it, with its length against each
// channel's limit. Approving or rejecting replaces the draft's row in place (htmx);
// without JavaScript the form posts and the queue comes back with its filters.
// console.js adds select-all and the keys: j/k next and previous, a approve, r
// reject, e edit, x select.

// pageSize is how many drafts a queue page shows.
const pageSize = 25

// facet is one value of a filter with how many drafts it has.
type facet struct {
	Value    string
	N        int
	Selected bool
}

// channelLength is a draft's text length against a channel's limit.
type channelLength struct {
	Channel  string
	N, Limit int
}

// queueRow is one draft as the queue shows it; a row is also rendered alone, after
// an in-place decision, so it carries what its forms need.
type queueRow struct {
	generation.Draft
	// First is the first row of a piece of content (its other locales follow).
	First   bool
	Preview generation.Flat
	Lengths []channelLength
	// Back is the queue's URL with its filters, where a decision without JavaScript
	// returns to.
	Back, CSRF string
	Admin      bool
	// Note says what just happened to the row, or why it could not.
	Note, Error string
}

type queuePage struct {
	page
	Rows                     []queueRow
	Filter                   generation.Filter
	Kinds, Statuses, Locales []facet
	Total, PageNo, Pages     int
	PrevURL, NextURL, Back   string
	Admin                    bool
	AllKinds, AllStatuses    []string
	HasDrafts                bool
}

// queueFilter reads the queue's filters from the query: status is draft unless given
// (empty for every status).
func queueFilter(q url.Values) (generation.Filter, int) {
	f := generation.Filter{Kind: q.Get("kind"), Status: q.Get("status"), Community: strings.TrimSpace(q.Get("community")),
		Locale: q.Get("locale"), Search: strings.TrimSpace(q.Get("q")), Limit: pageSize}
	if !q.Has("status") {
		f.Status = generation.StatusDraft
	}
	pageNo, err := strconv.Atoi(q.Get("page"))
	if err != nil || pageNo < 1 {
		pageNo = 1
	}
	f.Offset = (pageNo - 1) * pageSize
	return f, pageNo
}

// queueURL is the queue's URL for filter f at page n.
func queueURL(f generation.Filter, n int) string {
	q := url.Values{}
	for k, v := range map[string]string{"kind": f.Kind, "community": f.Community, "locale": f.Locale, "q": f.Search} {
		if v != "" {
			q.Set(k, v)
		}
	}
	q.Set("status", f.Status)
	if n > 1 {
		q.Set("page", strconv.Itoa(n))
	}
	return "/console/queue?" + q.Encode()
}

func (s *Console) consoleQueue(c *gin.Context) {
	f, pageNo := queueFilter(c.Request.URL.Query())
	ctx, cancel := s.ctx(c)
	defer cancel()
	p := queuePage{page: s.signedIn(c, "Review queue"), Filter: f, PageNo: pageNo, Admin: isAdmin(c), Back: queueURL(f, pageNo),
		AllKinds: generation.Kinds, AllStatuses: generation.Statuses}
	ds, err := s.svc.ReviewQueue(ctx, f)
	var counts []generation.Count
	if err == nil {
		counts, err = s.svc.QueueCounts(ctx, f)
	}
	var brand generation.Brand
	if err == nil {
		brand, err = s.svc.Brand(ctx)
	}
	if err != nil {
		p.Error = "The queue could not be read: " + s.messageOf(c, err)
	}
	p.Kinds, p.Statuses, p.Locales, p.Total = facets(counts, f)
	p.Pages = max(1, (p.Total+pageSize-1)/pageSize)
	if pageNo > 1 {
		p.PrevURL = queueURL(f, pageNo-1)
	}
	if pageNo < p.Pages {
		p.NextURL = queueURL(f, pageNo+1)
	}
	for i, d := range ds {
		r := s.row(c, d, brand, p.Back)
		r.First = i == 0 || contentKey(ds[i-1]) != contentKey(d)
		p.Rows = append(p.Rows, r)
		p.HasDrafts = p.HasDrafts || d.Status == generation.StatusDraft
	}
	s.render(c, http.StatusOK, "queue", p)
}

// contentKey is what the locales of one piece of content share.
func contentKey(d generation.Draft) string {
	return d.Kind + "|" + d.SubjectID + "|" + d.Occasion + "|" + d.MemberID
}

// row prepares a draft for the queue: its preview and its lengths per channel.
func (s *Console) row(c *gin.Context, d generation.Draft, brand generation.Brand, back string) queueRow {
	r := queueRow{Draft: d, Preview: generation.Flatten(d.Kind, d.Locale, d.Body), Back: back, CSRF: c.GetString("csrf"), Admin: isAdmin(c)}
	n := utf8.RuneCountInString(r.Preview.Text)
	for _, ch := range slices.Sorted(maps.Keys(brand.ChannelLimits)) {
		r.Lengths = append(r.Lengths, channelLength{Channel: ch, N: n, Limit: brand.ChannelLimits[ch]})
	}
	return r
}

// facets counts the drafts per kind, status and locale, each under the other two
// filters, and how many match all three.
func facets(counts []generation.Count, f generation.Filter) (kinds, statuses, locales []facet, total int) {
	match := func(want, got string) bool { return want == "" || want == got }
	tally := func(values []string, selected string, pick func(generation.Count) string, keep func(generation.Count) bool) []facet {
		n := map[string]int{}
		for _, c := range counts {
			if keep(c) {
				n[pick(c)] += c.N
			}
		}
		for v := range n {
			if !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		out := make([]facet, len(values))
		for i, v := range values {
			out[i] = facet{Value: v, N: n[v], Selected: v == selected}
		}
		return out
	}
	kinds = tally(slices.Clone(generation.Kinds), f.Kind, func(c generation.Count) string { return c.Kind },
		func(c generation.Count) bool { return match(f.Status, c.Status) && match(f.Locale, c.Locale) })
	statuses = tally(slices.Clone(generation.Statuses), f.Status, func(c generation.Count) string { return c.Status },
		func(c generation.Count) bool { return match(f.Kind, c.Kind) && match(f.Locale, c.Locale) })
	locales = tally(slices.Clone(generation.Locales), f.Locale, func(c generation.Count) string { return c.Locale },
		func(c generation.Count) bool { return match(f.Kind, c.Kind) && match(f.Status, c.Status) })
	for _, c := range counts {
		if match(f.Kind, c.Kind) && match(f.Status, c.Status) && match(f.Locale, c.Locale) {
			total += c.N
		}
	}
	return kinds, statuses, locales, total
}

var errOverrideAdminOnly = belong.New(belong.EINVALID, "admin_only", "Only an admin may approve a draft despite blocking findings.")

// inPlace reports whether the request came from htmx, which wants the row back.
func inPlace(c *gin.Context) bool { return c.GetHeader("HX-Request") == "true" }

// backTo is where a decision returns: the queue URL the form came from, if it is one.
func backTo(c *gin.Context) string {
	if b := c.PostForm("back"); strings.HasPrefix(b, "/console/queue?") || b == "/console/queue" {
		return b
	}
	return "/console/queue"
}

func (s *Console) consoleDecide(approve bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil {
			s.consoleFail(c, generation.ErrNotFound)
			return
		}
		override := c.PostForm("override") != ""
		if override && (!approve || !isAdmin(c)) {
			s.decided(c, id, errOverrideAdminOnly, http.StatusForbidden)
			return
		}
		ctx, cancel := s.ctx(c)
		defer cancel()
		dec := generation.Decision{Approve: approve, Override: override, Reason: strings.TrimSpace(c.PostForm("reason")), Actor: actorOf(c)}
		s.decided(c, id, s.svc.Decide(ctx, []int64{id}, dec), 0)
	}
}

// decided answers a decision on draft id: in place, the draft's row (with what
// happened, or err); otherwise back to the queue, or the queue with err.
func (s *Console) decided(c *gin.Context, id int64, err error, status int) {
	if !inPlace(c) {
		switch {
		case err == nil:
			c.Redirect(http.StatusSeeOther, backTo(c))
		case status == http.StatusForbidden:
			s.forbid(c, errOverrideAdminOnly)
		default:
			s.consoleFail(c, err)
		}
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	d, gerr := s.svc.DraftForReview(ctx, id)
	brand, berr := s.svc.Brand(ctx)
	if gerr != nil || berr != nil {
		s.consoleFail(c, errors.Join(gerr, berr))
		return
	}
	r := s.row(c, d.Draft, brand, backTo(c))
	r.First = true
	if err != nil {
		r.Error = s.messageOf(c, err)
	} else {
		r.Note = d.Draft.Status
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	// htmx swaps only successful answers: the row says what went wrong.
	c.Status(http.StatusOK)
	if err := consoleTmpl.ExecuteTemplate(c.Writer, "queue-row", r); err != nil {
		s.logger.ErrorContext(c.Request.Context(), "console template failed", "template", "queue-row", "error", err.Error())
	}
}

// consoleBulk approves, or rejects with a reason, the selected drafts: all or none.
func (s *Console) consoleBulk(approve bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		var ids []int64
		for _, raw := range c.PostFormArray("id") {
			if id, err := strconv.ParseInt(raw, 10, 64); err == nil {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			ctx, cancel := s.ctx(c)
			defer cancel()
			dec := generation.Decision{Approve: approve, Reason: strings.TrimSpace(c.PostForm("reason")), Actor: actorOf(c)}
			if err := s.svc.Decide(ctx, ids, dec); err != nil {
				s.consoleFail(c, err)
				return
			}
		}
		c.Redirect(http.StatusSeeOther, backTo(c))
	}
}

// forbid refuses what the signed-in person's role may not do (403), saying why.
func (s *Console) forbid(c *gin.Context, err *belong.Error) {
	p := s.signedIn(c, "Not allowed")
	p.Error = err.Message
	s.render(c, http.StatusForbidden, "error", p)
}

// consoleFail shows an error page with the status the API would give and the
// vocabulary's message; anything else is logged and shown as an internal error.
func (s *Console) consoleFail(c *gin.Context, err error) {
	p := s.signedIn(c, "Something went wrong")
	p.Error = s.messageOf(c, err)
	s.render(c, api.StatusOf(err), "error", p)
}

// lengthClass marks a channel length over its limit.
func lengthClass(l channelLength) string {
	if l.N > l.Limit {
		return "over"
	}
	return "fits"
}
