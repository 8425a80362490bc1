// Command ceiling serves the real-time reads' database queries from a trivial
// net/http handler: no router, no auth, no middleware, no view, no cache; the
// sqlc-generated call and json.Marshal of its rows. Load-tested beside belong serve
// (bench/realtime.sh), it shows what the same query costs with nothing around it.
//
//	go run ./bench/ceiling -addr 127.0.0.1:18090   (DATABASE_URL, run id from current_run)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/storage"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address (loopback)")
	flag.Parse()
	ctx := context.Background()
	pool, err := database.Open(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	q := storage.New(pool)
	cur, err := q.CurrentRunModel(ctx)
	if err != nil {
		log.Fatal(err)
	}
	write := func(w http.ResponseWriter, v any, err error) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		b, _ := json.Marshal(v)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
	http.HandleFunc("/v1/members/", func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.URL.Path, "/") // "", v1, members, id, what
		if len(parts) != 5 {
			http.NotFound(w, r)
			return
		}
		id := parts[3]
		switch parts[4] {
		case "communities":
			v, err := q.MemberMemberships(r.Context(), storage.MemberMembershipsParams{RunID: cur.ID, MemberID: id, Lim: 3, Model: cur.Model})
			write(w, v, err)
		case "peers":
			v, err := q.RunPeers(r.Context(), storage.RunPeersParams{RunID: cur.ID, MemberID: id, Lim: 10})
			write(w, v, err)
		case "moment":
			v, err := q.MomentSnapshot(r.Context(), storage.MomentSnapshotParams{MemberID: id, RunID: cur.ID})
			write(w, v, err)
		default:
			http.NotFound(w, r)
		}
	})
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
