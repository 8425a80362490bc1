package metrics_test

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/belong-loyalty/belong/metrics"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// promtool is Debian's (package prometheus), installed by scripts/deps.sh for make test.
const promtool = "/usr/bin/promtool"

// The shipped alert rules are valid and fire when they should (promtool's own unit
// tests), and every Belong metric they and the Grafana dashboard name is one Belong
// exposes: a renamed metric cannot leave an alert silently watching nothing.
func TestMonitoringAssets(t *testing.T) {
	if _, err := os.Stat(promtool); err != nil {
		t.Fatalf("%s is missing: make test installs Debian's prometheus (scripts/deps.sh)", promtool)
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "../deploy/monitoring"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %v: %v\n%s", args, err, out)
		}
	}
	names := metrics.New(dbtest.Schema(t), metrics.Build{Version: "test", Revision: "r"}, nil).Names()
	used := regexp.MustCompile(`\b(belong_[a-z_]+|go_[a-z_]+|process_[a-z_]+)`)
	for _, file := range []string{"../deploy/monitoring/alerts.yml", "../deploy/monitoring/grafana-belong.json"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range used.FindAllString(string(raw), -1) {
			base := name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				base = strings.TrimSuffix(base, suffix)
			}
			if !slices.Contains(names, base) {
				t.Errorf("%s uses %s, which Belong does not expose (it has %v)", file, name, names)
			}
		}
	}
}
