package fleet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/internal/leaktest"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// bin is the belong binary the tests run, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "belong-fleet-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "belong")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/belong-loyalty/belong/cmd/belong").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build belong: %v\n%s", err, out)
		os.Exit(1)
	}
	leaktest.Main(m, func() { os.RemoveAll(dir) })
}

// freshDatabase creates a database of its own on the test server (a schema is not
// enough: a transaction pooler takes no search_path at connection time) and returns
// its URL; it is dropped when the test ends.
func freshDatabase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	admin := dbtest.URL(t)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("fleet_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
		conn.Close(context.Background())
	})
	u, err := neturl.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// withHostPort is url pointing at another server.
func withHostPort(t *testing.T, url string, port int) string {
	t.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return u.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// asPostgres runs a PostgreSQL-side program (pgbouncer, postgres) as the
// unprivileged postgres user when the tests run as root: both refuse root.
func asPostgres(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	return cmd
}

// sharedDir is a temporary directory the postgres user may write too.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "belong-fleet-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// pgBouncer starts a PgBouncer in transaction mode in front of the server url names,
// and returns its port; it is stopped when the test ends.
func pgBouncer(t *testing.T, url string) int {
	t.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	dir := sharedDir(t)
	port := freePort(t)
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s/users.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 200
logfile = %s/pgbouncer.log
pidfile = %s/pgbouncer.pid
`, u.Hostname(), u.Port(), port, dir, dir, dir)
	for name, body := range map[string]string{"pgbouncer.ini": ini, "users.txt": `"` + u.User.Username() + `" ""` + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := asPostgres(t, "/usr/sbin/pgbouncer", filepath.Join(dir, "pgbouncer.ini"))
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pgbouncer (make test installs it): %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Logf("pgbouncer's log:\n%s", log)
		}
	})
	waitFor(t, 10*time.Second, "pgbouncer to listen", func() bool {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return port
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

// proc is a running belong process.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *lines
	done chan struct{}
	addr string // serve's base URL
}

// lines collects a process's output, safe to read while it runs.
type lines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// belong runs a command to its end and returns its output, failing the test when it
// fails.
func belong(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("belong %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// start starts a long-running command (serve, worker); serve's is waited for until
// it listens. It is stopped (SIGTERM) when the test ends, unless killed first.
func start(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &lines{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stdout = io.MultiWriter(p.out, pw)
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "serve: listening on "); ok {
				listening <- a
			}
		}
	}()
	go func() {
		_ = p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s's output:\n%s", p.name, p.out)
		}
	})
	if len(args) > 0 && args[0] == "serve" {
		select {
		case p.addr = <-listening:
		case <-p.done:
			t.Fatalf("%s exited before listening:\n%s", name, p.out)
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not listen within 30 s:\n%s", name, p.out)
		}
	}
	return p
}

// stop ends the process with SIGTERM, then SIGKILL after 15 s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends the process at once, as a crash would.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// call sends a request to a node with the key and returns the status, headers and
// body.
func call(t *testing.T, method, url, key, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

// newKey creates an admin API key and returns its secret.
func newKey(t *testing.T, env []string, name string) string {
	t.Helper()
	out := belong(t, env, "", "keys", "create", "--name", name, "--scopes", "admin")
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "blg_") {
			return f
		}
	}
	t.Fatalf("keys create printed no key: %q", out)
	return ""
}

// pgBin is where Debian keeps PostgreSQL 15's server programs.
const pgBin = "/usr/lib/postgresql/15/bin"

// server is a PostgreSQL server the test started.
type server struct {
	port int
	dir  string
	proc *exec.Cmd
	done chan struct{}
	log  *lines
}

// url is the server's URL for database db.
func (s *server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// startServer starts postgres on data directory dir (extra settings on its command
// line) and waits until it accepts connections; it is stopped when the test ends.
func startServer(t *testing.T, dir string, settings ...string) *server {
	t.Helper()
	s := &server{port: freePort(t), dir: dir, done: make(chan struct{}), log: &lines{}}
	args := []string{"-D", dir, "-c", "listen_addresses=127.0.0.1", "-c", "port=" + strconv.Itoa(s.port),
		"-c", "unix_socket_directories=" + filepath.Dir(dir), "-c", "fsync=off", "-c", "shared_buffers=32MB"}
	for _, kv := range settings {
		args = append(args, "-c", kv)
	}
	s.proc = asPostgres(t, filepath.Join(pgBin, "postgres"), args...)
	s.proc.Stdout, s.proc.Stderr = s.log, s.log
	if err := s.proc.Start(); err != nil {
		t.Fatalf("start postgres: %v", err)
	}
	go func() { _ = s.proc.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("postgres on %d:\n%s", s.port, s.log)
		}
	})
	waitFor(t, 30*time.Second, "postgres to accept connections", func() bool {
		c, err := pgx.Connect(context.Background(), s.url("postgres"))
		if err == nil {
			c.Close(context.Background())
		}
		return err == nil
	})
	return s
}

// stop shuts the server down fast (SIGINT), as an operator or a crash of the host
// would take a replica away.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.proc.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.proc.Process.Kill()
		<-s.done
	}
}

// run runs a PostgreSQL client or server program to its end, as postgres.
func runPG(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := asPostgres(t, filepath.Join(pgBin, name), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// primaryAndStandby starts a fresh primary with a database named db (pgvector
// enabled), and a hot standby streaming from it through PostgreSQL's own
// replication (pg_basebackup -R), which applies what it receives only after
// applyDelay (recovery_min_apply_delay), so that it is always that far behind.
func primaryAndStandby(t *testing.T, db string, applyDelay time.Duration) (primary, standby *server) {
	t.Helper()
	dir := sharedDir(t)
	pdir, sdir := filepath.Join(dir, "primary"), filepath.Join(dir, "standby")
	runPG(t, "initdb", "-D", pdir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8")
	primary = startServer(t, pdir, "wal_level=replica", "max_wal_senders=4")
	conn, err := pgx.Connect(context.Background(), primary.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"CREATE DATABASE " + db} {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(context.Background())
	runPG(t, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port), "-U", "postgres", "-D", sdir, "-R", "-X", "stream", "-c", "fast")
	standby = startServer(t, sdir, "hot_standby=on", fmt.Sprintf("recovery_min_apply_delay=%dms", applyDelay.Milliseconds()))
	return primary, standby
}
