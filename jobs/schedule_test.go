package jobs_test

import (
	"testing"
	"time"

	"github.com/belong-loyalty/belong/jobs"
)

func TestNightlyScheduleIsUTCUnlessItNamesItsZone(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		expr string
		want time.Time
	}{
		{"", time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)},            // the default, 03:00 UTC
		{"30 1 * * *", time.Date(2026, 11, 24, 1, 30, 0, 0, time.UTC)}, // UTC, whatever the machine's zone
		{"CRON_TZ=Europe/Stockholm 0 3 * * *", time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		s, err := jobs.ParseSchedule(c.expr)
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		if got := s.Next(at).UTC(); !got.Equal(c.want) {
			t.Errorf("%q: next run %v, want %v", c.expr, got, c.want)
		}
	}
	if s, err := jobs.ParseSchedule("off"); err != nil || s != nil {
		t.Fatalf("off: %v, %v; want no schedule", s, err)
	}
	for _, bad := range []string{"every night", "61 * * * *", "CRON_TZ=Mars/Olympus 0 3 * * *"} {
		if _, err := jobs.ParseSchedule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
