package api_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/api"
	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// proxy forwards TCP connections to target until stopped; it can be started again on
// the same address, so a test can take "the database" away and bring it back.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func (p *proxy) start(t *testing.T) {
	t.Helper()
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var (
		ln  net.Listener
		err error
	)
	for i := 0; i < 50; i++ { // the port may linger briefly after a stop
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestDatabaseOutageAnswers503AndRecovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := dbtest.SchemaURL(t)
	seed, err := database.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Close()
	key := newKey(t, seed, apikey.ScopeMatchRead)

	cfg, err := database.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{target: net.JoinHostPort(cfg.ConnConfig.Host, fmt.Sprint(cfg.ConnConfig.Port))}
	p.start(t)
	host, port, _ := net.SplitHostPort(p.addr)
	cfg.ConnConfig.Host = host
	fmt.Sscan(port, &cfg.ConnConfig.Port)
	cfg.ConnConfig.ConnectTimeout = time.Second
	pool, err := database.OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	srv := httptest.NewServer(api.New(api.Config{DB: pool, Service: newService(t, pool), Embedder: embeddings.NewLocal(), QueryTimeout: 2 * time.Second}))
	defer srv.Close()

	if resp, body := raw(t, "GET", srv.URL+"/v1/communities", "", bearer(key)...); resp.StatusCode != 503 || !strings.Contains(body, "no_cluster_run") {
		t.Fatalf("before the outage: %d %s", resp.StatusCode, body)
	}
	p.stop()
	resp, body := raw(t, "GET", srv.URL+"/v1/communities", "", bearer(key)...)
	if resp.StatusCode != 503 || !strings.Contains(body, "database_unavailable") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("during the outage: %d %s (Retry-After %q)", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if resp, body := raw(t, "GET", srv.URL+"/readyz", ""); resp.StatusCode != 503 || !strings.Contains(body, "database_unavailable") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("readyz during the outage: %d %s", resp.StatusCode, body)
	}
	if resp, _ := raw(t, "GET", srv.URL+"/healthz", ""); resp.StatusCode != 200 {
		t.Fatalf("healthz during the outage: %d", resp.StatusCode)
	}
	p.start(t)
	defer p.stop()
	var last string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, body := raw(t, "GET", srv.URL+"/v1/communities", "", bearer(key)...)
		last = fmt.Sprint(resp.StatusCode, " ", body)
		if strings.Contains(body, "no_cluster_run") {
			return // the database answers again: recovered without a restart
		}
	}
	t.Fatalf("no recovery after the database came back; last answer %s", last)
}
