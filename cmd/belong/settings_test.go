package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// settingsTable is the README's settings section as the settings list makes it.
func settingsTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | what it sets |\n|---|---|---|\n")
	for _, s := range settings {
		def := "—"
		if s.def != "" {
			def = "`" + s.def + "`"
		}
		b.WriteString("| `" + s.name + "` | " + def + " | " + strings.ReplaceAll(s.doc, "|", `\|`) + " |\n")
	}
	return b.String()
}

// TestREADMESettingsMatchTheSettingsList keeps the README's settings table equal to
// the one list of environment variables. BELONG_UPDATE_README=1 rewrites it.
func TestREADMESettingsMatchTheSettingsList(t *testing.T) {
	const path = "../../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- settings: generated from cmd/belong/settings.go -->\n", "<!-- end of settings -->"
	i, j := bytes.Index(readme, []byte(begin)), bytes.Index(readme, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("README.md has no settings section between %q and %q", begin, end)
	}
	want := settingsTable()
	if got := string(readme[i+len(begin) : j]); got != want {
		if os.Getenv("BELONG_UPDATE_README") == "1" {
			out := append(append(append([]byte{}, readme[:i+len(begin)]...), want...), readme[j:]...)
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("README.md's settings table is out of date (BELONG_UPDATE_README=1 go test -run READMESettings ./cmd/belong rewrites it); want:\n%s", want)
	}
}

func TestUsageListsEverySetting(t *testing.T) {
	var out bytes.Buffer
	usage(&out)
	for _, s := range settings {
		if !strings.Contains(out.String(), s.name) {
			t.Errorf("usage does not mention %s", s.name)
		}
	}
}

func TestBadSettingsAreNamedAndSecretsNeverShown(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "postgres://u:hunter2@db/belong", "BELONG_KEEP_RUNS": "0"}
	_, err := loadConfig(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "BELONG_KEEP_RUNS") || !strings.Contains(err.Error(), "1 to 1000") {
		t.Fatalf("bad BELONG_KEEP_RUNS: %v", err)
	}
	env = map[string]string{"DATABASE_URL": "postgres://u:hunter2@db/belong", "OPENAI_API_KEY": "sk-secret", "BELONG_GENERATOR": "poet"}
	_, err = loadConfig(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "BELONG_GENERATOR") || strings.Contains(err.Error(), "sk-secret") {
		t.Fatalf("bad generator: %v", err)
	}
	cfg, err := loadConfig(func(k string) string { return map[string]string{"DATABASE_URL": "x"}[k] })
	if err != nil || cfg.KeepRuns != 7 || cfg.RateLimit != 10_000 || cfg.Embedder != "auto" || cfg.NightlySchedule != "0 3 * * *" {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
}
