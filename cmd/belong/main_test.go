package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/demo"
	"github.com/belong-loyalty/belong/internal/openaitest"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine to write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// belong runs the real program in-process with the given environment.
func belong(t *testing.T, getenv func(string) string, stdin string, args ...string) (string, error) {
	t.Helper()
	out, _, err := belongLogs(t, getenv, stdin, args...)
	return out, err
}

// belongLogs is belong that also returns what the program logged.
func belongLogs(t *testing.T, getenv func(string) string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestEndToEnd drives the whole path the README promises: migrate, demo, embed,
// cluster, generate, then serve on a free port and ask for a member's communities.
func TestEndToEnd(t *testing.T) {
	url := dbtest.SchemaURL(t)
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return url
		}
		return ""
	}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"migrate"}, "up to date"},
		{[]string{"demo", "-members", "700", "-if-empty"}, "700 members (700 new)"},
		{[]string{"demo", "-if-empty"}, "nothing loaded"},
		{[]string{"embed"}, "embedded"},
		{[]string{"embed"}, " 0 embedded"},
		{[]string{"cluster", "-target-size", "35", "-if-changed"}, "published"},
		{[]string{"cluster", "-target-size", "35", "-if-changed"}, "nothing to do"},
		{[]string{"generate", "-locales", "en,sv"}, "drafts written"},
		{[]string{"generate", "-locales", "en,sv"}, "0 drafts"},
		{[]string{"generate", "-kind", "challenge", "-community", "c-1", "-locales", "it"}, "(challenge, it)"},
	}
	for _, s := range steps {
		out, err := belong(t, getenv, "", s.args...)
		if err != nil {
			t.Fatalf("belong %v: %v", s.args, err)
		}
		if !strings.Contains(out, s.want) {
			t.Fatalf("belong %v printed %q, want %q", s.args, out, s.want)
		}
	}

	// The openai generator through the CLI, against a server speaking chat JSON; a
	// broken answer falls back to templates and the draft says so.
	chat := openaitest.NewChat(t, func(_ int, _ map[string]any, w http.ResponseWriter, _ *http.Request) {
		openaitest.Answer(w, "not json")
	})
	voice := filepath.Join(t.TempDir(), "voice.md")
	os.WriteFile(voice, []byte("Warm, plain, never salesy."), 0o644)
	withOpenAI := func(k string) string {
		switch k {
		case "BELONG_GENERATOR":
			return "openai"
		case "OPENAI_BASE_URL":
			return chat.URL
		case "BELONG_VOICE_FILE":
			return voice
		}
		return getenv(k)
	}
	if out, err := belong(t, withOpenAI, "", "generate", "-kind", "community_prompt", "-community", "c-1", "-locales", "en"); err != nil || !strings.Contains(out, "(template fallback)") {
		t.Fatalf("openai generator with a broken answer: %q %v", out, err)
	}

	// A re-run on unchanged data keeps members where they were (the bound is
	// under 2%), and off a terminal its progress is logged as structured lines (cron).
	out, logs, err := belongLogs(t, getenv, "", "cluster", "-target-size", "35")
	if err != nil || !strings.Contains(logs, `msg="cluster progress" stage=k-means`) || !strings.Contains(logs, `msg="cluster run published"`) {
		t.Fatalf("cluster logs (err %v):\n%s", err, logs)
	}
	var churn float64
	if i := strings.Index(out, "churn "); i < 0 {
		t.Fatalf("cluster printed no churn: %q", out)
	} else if _, err := fmt.Sscanf(out[i:], "churn %f%%", &churn); err != nil || churn >= 2 {
		t.Fatalf("re-run on unchanged data: churn %.1f%% (err %v), want < 2%%: %q", churn, err, out)
	}

	if _, err := belong(t, getenv, "", "embed", "-refit"); err == nil || !strings.Contains(err.Error(), "at least 2000") {
		t.Fatalf("refit on a small membership: %v", err)
	}

	// A second run while one holds the lock fails with a clear message (and main
	// turns the error into exit status 1).
	lock, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(context.Background(), "SELECT pg_advisory_lock("+matching.RunLockKey+")"); err != nil {
		t.Fatal(err)
	}
	if _, err := belong(t, getenv, "", "cluster"); err == nil || !strings.Contains(err.Error(), "another cluster run is in progress") {
		t.Fatalf("concurrent cluster run: err = %v", err)
	}
	lock.Close(context.Background())
	if _, err := belong(t, getenv, "", "cluster", "-min-size", "100", "-max-size", "150"); err == nil {
		t.Fatal("impossible size bounds accepted")
	}

	// Ingest from stdin and from a file; a bad file names its line and writes nothing.
	if out, err := belong(t, getenv, `{"id":"m-new","interests":["padel"],"consent":{"personalization":true}}`, "ingest", "members", "-"); err != nil || !strings.Contains(out, "1 members inserted") {
		t.Fatalf("ingest members from stdin: %q %v", out, err)
	}
	bad := filepath.Join(t.TempDir(), "events.jsonl")
	os.WriteFile(bad, []byte(`{"id":"e-x1","member_id":"m-new","type":"match_played","at":"2026-11-01T07:00:00Z"}
{"id":"e-x2","member_id":"m-new","type":"match_played"}
`), 0o644)
	if _, err := belong(t, getenv, "", "ingest", "events", bad); err == nil || !strings.Contains(err.Error(), "line 2: at:") {
		t.Fatalf("bad events file: err = %v, want line 2 named", err)
	}
	if out, err := belong(t, getenv, "", "ingest", "events", "/no/such/file"); err == nil {
		t.Fatalf("missing file accepted: %q", out)
	}

	// A good batch queues a recognition; `belong jobs` shows it waiting, `belong
	// worker` works it, and then the queue shows it done.
	good := filepath.Join(t.TempDir(), "good.jsonl")
	os.WriteFile(good, []byte(`{"id":"e-w1","member_id":"m-00001","type":"first_ride","at":"`+time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)+`"}`+"\n"), 0o644)
	if out, err := belong(t, getenv, "", "ingest", "events", good); err != nil || !strings.Contains(out, "1 recognitions queued") {
		t.Fatalf("ingest events: %q %v", out, err)
	}
	if out, err := belong(t, getenv, "", "jobs"); err != nil || !regexp.MustCompile(`draft_recognition\s+available\s+1`).MatchString(out) {
		t.Fatalf("belong jobs before a worker: %q %v", out, err)
	}
	wctx, wstop := context.WithCancel(context.Background())
	wdone := make(chan error, 1)
	go func() { wdone <- run(wctx, []string{"worker"}, getenv, strings.NewReader(""), io.Discard, io.Discard) }()
	var jobsOut string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if jobsOut, _ = belong(t, getenv, "", "jobs"); regexp.MustCompile(`draft_recognition\s+completed\s+1`).MatchString(jobsOut) {
			break
		}
	}
	wstop()
	if err := <-wdone; err != nil {
		t.Fatalf("worker: %v", err)
	}
	if !strings.Contains(jobsOut, "completed") || !strings.Contains(jobsOut, "no failing jobs") {
		t.Fatalf("belong jobs after the worker: %q", jobsOut)
	}
	// The recognition was the schema's first job: done, it is not run twice.
	if _, err := belong(t, getenv, "", "jobs", "retry", "1"); err == nil || !strings.Contains(err.Error(), "the job is completed") {
		t.Fatalf("retrying a completed job: %v", err)
	}
	if _, err := belong(t, getenv, "", "jobs", "-failures", "0"); err == nil || !strings.Contains(err.Error(), "-failures") {
		t.Fatalf("jobs -failures 0: %v", err)
	}
	if out, err := belong(t, getenv, "", "serve", "-h"); err != nil || !strings.Contains(out, "-workers") {
		t.Fatalf("serve -h: %q %v; want its flags and no error", out, err)
	}
	badSchedule := func(k string) string {
		if k == "BELONG_NIGHTLY_SCHEDULE" {
			return "every night"
		}
		return getenv(k)
	}
	if _, err := belong(t, badSchedule, "", "worker"); err == nil || !strings.Contains(err.Error(), "BELONG_NIGHTLY_SCHEDULE") {
		t.Fatalf("bad schedule: %v", err)
	}
	if _, err := belong(t, getenv, "", "frobnicate"); err == nil {
		t.Fatal("unknown command accepted")
	}
	if _, err := belong(t, func(string) string { return "" }, "", "migrate"); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("no DATABASE_URL: %v", err)
	}
	badEmbedder := func(k string) string {
		if k == "BELONG_EMBEDDER" {
			return "word2vec"
		}
		return getenv(k)
	}
	if _, err := belong(t, badEmbedder, "", "embed"); err == nil || !strings.Contains(err.Error(), "BELONG_EMBEDDER") {
		t.Fatalf("unknown embedder: %v", err)
	}

	// Serve on :0, read the address it prints, and call it like the README does.
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0"}, getenv, strings.NewReader(""), stdout, io.Discard)
	}()
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		sc := bufio.NewScanner(strings.NewReader(stdout.String()))
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "serve: listening on "); ok {
				base = a
			}
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("server did not start: %q", stdout.String())
	}
	// The same seed gives the same members as `demo` loaded: pick one who consented.
	var member string
	for _, m := range demo.Generate(demo.Config{Members: 700, Seed: 1, NoConsentShare: 0.05, Synonyms: 0.2}).Members {
		if m.Consent.Personalization {
			member = m.ID
			break
		}
	}
	key, err := belong(t, getenv, "", "keys", "create", "--name", "e2e", "--scopes", "match:read")
	if err != nil || !strings.HasPrefix(key, "blg_") {
		t.Fatalf("keys create: %q %v", key, err)
	}
	key = strings.TrimSpace(key)
	if resp, err := http.Get(base + "/v1/members/" + member + "/communities"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("no key: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}
	req, _ := http.NewRequest("GET", base+"/v1/members/"+member+"/communities", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		RunID       string `json:"run_id"`
		Communities []struct {
			Name    string   `json:"name"`
			Primary bool     `json:"primary"`
			Labels  []string `json:"labels"`
		} `json:"communities"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body.RunID == "" || len(body.Communities) == 0 {
		t.Fatalf("member %s communities: %d %+v", member, resp.StatusCode, body)
	}
	if c := body.Communities[0]; !c.Primary || len(c.Labels) == 0 || c.Name == "" {
		t.Fatalf("first community %+v: want a named, labelled primary", c)
	}
	if out, err := belong(t, getenv, "", "keys", "list"); err != nil || !strings.Contains(out, "e2e") || strings.Contains(out, key) {
		t.Fatalf("keys list: %q %v (must show the key's name, never its secret)", out, err)
	}
	prefix := strings.Split(key, "_")[1]
	if out, err := belong(t, getenv, "", "keys", "revoke", prefix); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("keys revoke: %q %v", out, err)
	}
	if _, err := belong(t, getenv, "", "keys", "create", "--name", "x", "--scopes", "match:write"); err == nil {
		t.Fatal("unknown scope accepted")
	}
	// Console accounts: a generated password is printed once and never logged; one
	// from stdin is not printed; the list names people, never passwords.
	pw, logs, err := belongLogs(t, getenv, "", "users", "create", "--email", "ana@brand.example", "--name", "Ana Lima", "--role", "reviewer")
	pw = strings.TrimSpace(pw)
	if err != nil || len(pw) < 12 || strings.Contains(logs, pw) {
		t.Fatalf("users create: %q %v (logged: %v)", pw, err, strings.Contains(logs, pw))
	}
	if out, err := belong(t, getenv, "my own long password\n", "users", "create", "--email", "bo@brand.example", "--name", "Bo",
		"--role", "admin", "--password-stdin"); err != nil || out != "" {
		t.Fatalf("users create --password-stdin: %q %v", out, err)
	}
	if _, err := belong(t, getenv, "", "users", "create", "--email", "ANA@brand.example", "--name", "Ana", "--role", "reviewer"); err == nil {
		t.Fatal("a second account for one address")
	}
	if out, err := belong(t, getenv, "", "users", "list"); err != nil || !strings.Contains(out, "ana@brand.example") ||
		!strings.Contains(out, "Bo") || strings.Contains(out, pw) || strings.Contains(out, "argon2") {
		t.Fatalf("users list: %q %v", out, err)
	}
	if out, err := belong(t, getenv, "", "users", "disable", "ana@brand.example"); err != nil || !strings.Contains(out, "disable done") {
		t.Fatalf("users disable: %q %v", out, err)
	}
	// Graceful shutdown: a batch in flight when the server is told to stop still
	// gets its answer.
	wkey, err := belong(t, getenv, "", "keys", "create", "--name", "writer", "--scopes", "members:write")
	if err != nil {
		t.Fatal(err)
	}
	var batch strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&batch, `{"id":"m-bulk-%d","interests":["padel","yoga"],"consent":{"personalization":true}}`+"\n", i)
	}
	inflight := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/v1/members:batch", strings.NewReader(batch.String()))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(wkey))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inflight <- -1
			return
		}
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	time.Sleep(30 * time.Millisecond)
	cancel()
	if code := <-inflight; code != 200 {
		t.Fatalf("in-flight batch during shutdown: status %d, want 200", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop on cancel")
	}
}

// `belong migrate` on a fresh database (the README's DATABASE_URL path) enables
// pgvector itself when the role may; when it may not, it fails saying exactly what a
// superuser must run, and applies nothing.
func TestMigrateFreshDatabase(t *testing.T) {
	admin := dbtest.URL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) }) // after the drops below
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	fresh, limited := "fresh_"+suffix, "limited_"+suffix
	for _, q := range []string{"CREATE DATABASE " + fresh, "CREATE DATABASE " + limited,
		"CREATE ROLE " + limited + " LOGIN PASSWORD 'pw'", "ALTER DATABASE " + limited + " OWNER TO " + limited} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, q := range []string{"DROP DATABASE IF EXISTS " + fresh + " WITH (FORCE)", "DROP DATABASE IF EXISTS " + limited + " WITH (FORCE)",
			"DROP ROLE IF EXISTS " + limited} {
			if _, err := conn.Exec(context.Background(), q); err != nil {
				t.Error(err)
			}
		}
	})
	withDB := func(url, db, user string) func(string) string {
		u, err := neturl.Parse(url)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + db
		if user != "" {
			u.User = neturl.UserPassword(user, "pw")
		}
		return func(k string) string {
			if k == "DATABASE_URL" {
				return u.String()
			}
			return ""
		}
	}
	// The real binary, as an operator runs it.
	bin := filepath.Join(t.TempDir(), "belong")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	migrate := func(getenv func(string) string) (string, int) {
		cmd := exec.Command(bin, "migrate")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+getenv("DATABASE_URL"))
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return string(out), exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, code := migrate(withDB(admin, fresh, "")); code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("migrate a fresh database: exit %d %q", code, out)
	}
	if out, code := migrate(withDB(admin, fresh, "")); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate it again: exit %d %q", code, out)
	}
	out, code := migrate(withDB(admin, limited, limited))
	if code != 1 || !strings.Contains(out, "CREATE EXTENSION vector;") || !strings.Contains(out, limited) {
		t.Fatalf("migrate as a role that may not enable pgvector: exit %d %q", code, out)
	}
}

// Every command's -h says how to call it and exits 0 without configuration or a
// database; a command called the wrong way exits 2, a failing one 1; version needs
// nothing.
func TestCLIHelpAndExitCodes(t *testing.T) {
	none := func(string) string { return "" }
	for name, cmd := range commands {
		for _, h := range []string{"-h", "--help"} {
			out, err := belong(t, none, "", name, h)
			if err != nil || exitCode(err) != 0 || !strings.Contains(out, "usage: "+strings.SplitN(cmd.synopsis, " ", 3)[0]+" "+name) {
				t.Errorf("belong %s %s: %q %v", name, h, out, err)
			}
		}
	}
	if out, err := belong(t, none, "", "ingest", "members", "-h"); err != nil || !strings.Contains(out, "usage: belong ingest") {
		t.Errorf("belong ingest members -h: %q %v", out, err)
	}
	if out, err := belong(t, none, "", "version"); err != nil || !strings.HasPrefix(out, "belong ") || !strings.Contains(out, "revision") {
		t.Errorf("belong version: %q %v", out, err)
	}
	if _, err := belong(t, none, "", "bogus"); exitCode(err) != 2 {
		t.Errorf("an unknown command: %v, exit %d", err, exitCode(err))
	}
	db := func(k string) string {
		if k == "DATABASE_URL" {
			return "postgres://nobody@127.0.0.1:1/nothing" // never reached: the calls are wrong first
		}
		return ""
	}
	for _, args := range [][]string{{"keys"}, {"cluster", "-target-size", "x"}, {"ingest", "members"}, {"version", "extra"}} {
		if _, err := belong(t, db, "", args...); exitCode(err) != 2 {
			t.Errorf("belong %v: %v, exit %d, want 2", args, err, exitCode(err))
		}
	}
	if _, err := belong(t, db, "", "migrate"); exitCode(err) != 1 {
		t.Errorf("migrate without a database: %v, exit %d, want 1", err, exitCode(err))
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2027-03-01": time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
		"90d":        now.AddDate(0, 0, 90),
		"36h":        now.Add(36 * time.Hour),
	} {
		got, err := parseExpiry(in, now)
		if err != nil || got == nil || !got.Equal(want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"soon", "-3d", "0d", "-1h"} {
		if _, err := parseExpiry(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got, err := parseExpiry("", now); got != nil || err != nil {
		t.Errorf("empty: %v %v", got, err)
	}
}

// The image builds with podman from a binary built here, with no registry
// (deploy/Containerfile.local); deploy/Containerfile, which starts from registry
// images, is the same binary on Debian slim.
func TestContainerImageBuilds(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Fatal("podman is missing: make test installs Debian's podman (scripts/deps.sh)")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-buildvcs=false", "-trimpath", "-o", filepath.Join(dir, "belong"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
	recipe, err := os.ReadFile("../../deploy/Containerfile.local")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Containerfile"), recipe, 0o644); err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("localhost/belong-test:%d", time.Now().UnixNano())
	storage := []string{"--root", filepath.Join(dir, "storage"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs"}
	cmd := exec.Command(podman, append(storage, "build", "-q", "-t", tag, "-f", filepath.Join(dir, "Containerfile"), dir)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("podman build: %v\n%s", err, out)
	}
	out, err := exec.Command(podman, append(storage, "image", "inspect", "--format", "{{.Config.User}} {{json .Config.Entrypoint}}", tag)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `10001 ["/belong"]`) {
		t.Fatalf("the image: %s %v", out, err)
	}
	t.Cleanup(func() { _ = exec.Command(podman, append(storage, "rmi", "-f", tag)...).Run() })
}
