package moments

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reasons a due recognition is held back.
const (
	HeldQuietHours = "held_quiet_hours"
	HeldCapped     = "capped"
)

// Cap limits how many recognitions a member is sent on a channel ("*": all channels
// together) per local day or ISO week.
type Cap struct {
	Channel string
	N       int
	Week    bool // per week (Monday to Sunday); else per day
}

// Policy is when recognitions may go out: never inside quiet hours in the member's
// own time zone, and at most so many per day or week.
type Policy struct {
	// QuietFrom and QuietTo bound the quiet hours, as minutes after local midnight;
	// the hours wrap past midnight when QuietFrom > QuietTo, and equal values mean
	// none.
	QuietFrom, QuietTo int
	Caps               []Cap
}

// DefaultPolicy is quiet from 21:00 to 08:00, and at most one recognition a day and
// three a week across channels.
var DefaultPolicy = Policy{QuietFrom: 21 * 60, QuietTo: 8 * 60,
	Caps: []Cap{{Channel: "*", N: 1}, {Channel: "*", N: 3, Week: true}}}

// ParseQuietHours reads "21:00-08:00" ("off": none).
func ParseQuietHours(s string) (from, to int, err error) {
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("quiet hours %q: want HH:MM-HH:MM, such as 21:00-08:00, or off", s)
	}
	if from, err = minutes(a); err == nil {
		to, err = minutes(b)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("quiet hours %q: %w", s, err)
	}
	return from, to, nil
}

func minutes(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day such as 08:00", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// ParseCaps reads "*:1/day,*:3/week,push:1/day" ("off": none).
func ParseCaps(s string) ([]Cap, error) {
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return nil, nil
	}
	var caps []Cap
	for _, part := range strings.Split(s, ",") {
		ch, rest, ok1 := strings.Cut(strings.TrimSpace(part), ":")
		n, per, ok2 := strings.Cut(rest, "/")
		count, err := strconv.Atoi(n)
		if !ok1 || !ok2 || ch == "" || err != nil || count < 0 || (per != "day" && per != "week") {
			return nil, fmt.Errorf("cap %q: want CHANNEL:N/day or CHANNEL:N/week (* for all channels), such as push:1/day", part)
		}
		caps = append(caps, Cap{Channel: ch, N: count, Week: per == "week"})
	}
	return caps, nil
}

// Sent is a recognition delivered (acknowledged) on a channel.
type Sent struct {
	At      time.Time
	Channel string
}

// Hold says whether a recognition due now for a member in loc may go out on channel
// ("" for any: a recognition.due announcement), given what the member was sent:
// "" when it may, else the reason (HeldQuietHours, HeldCapped) and when the hold
// ends. Quiet hours come first: a capped member inside them waits for both.
func (p Policy) Hold(now time.Time, loc *time.Location, channel string, sent []Sent) (string, time.Time) {
	local := now.In(loc)
	if until, quiet := p.quiet(local); quiet {
		return HeldQuietHours, until
	}
	dayStart := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	weekStart := dayStart.AddDate(0, 0, -((int(local.Weekday()) + 6) % 7)) // Monday
	var until time.Time
	for _, c := range p.Caps {
		if c.Channel != "*" && c.Channel != channel {
			continue
		}
		start, next := dayStart, dayStart.AddDate(0, 0, 1)
		if c.Week {
			start, next = weekStart, weekStart.AddDate(0, 0, 7)
		}
		n := 0
		for _, s := range sent {
			if !s.At.Before(start) && s.At.Before(next) && (c.Channel == "*" || s.Channel == c.Channel) {
				n++
			}
		}
		if n >= c.N && next.After(until) {
			until = next
		}
	}
	if until.IsZero() {
		return "", time.Time{}
	}
	// A hold that ends inside quiet hours lasts until they end.
	if end, quiet := p.quiet(until.In(loc)); quiet {
		until = end
	}
	return HeldCapped, until
}

// quiet reports whether local falls inside the quiet hours, and when they end.
func (p Policy) quiet(local time.Time) (time.Time, bool) {
	if p.QuietFrom == p.QuietTo {
		return time.Time{}, false
	}
	m := local.Hour()*60 + local.Minute()
	in := m >= p.QuietFrom || m < p.QuietTo
	if p.QuietFrom < p.QuietTo {
		in = m >= p.QuietFrom && m < p.QuietTo
	}
	if !in {
		return time.Time{}, false
	}
	day := local
	if m >= p.QuietTo { // the quiet hours end tomorrow
		day = local.AddDate(0, 0, 1)
	}
	end := time.Date(day.Year(), day.Month(), day.Day(), p.QuietTo/60, p.QuietTo%60, 0, 0, local.Location())
	return end, true
}
