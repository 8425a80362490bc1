// Command load sends GET requests at a fixed rate (open loop) to a Belong server on
// loopback and reports latency percentiles and errors. Latency is measured from each
// request's scheduled send time, so a server that falls behind shows it (no
// coordinated omission). With -body it POSTs that body instead. It reports its own CPU
// time (cpu_s) so a benchmark can split the machine's CPU between the parts.
//
//	go run ./bench/load -url http://127.0.0.1:18080 -key "$KEY" -members 100000 -rate 1000 -duration 60s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// cpuSeconds is the CPU time this process has used (user and system).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func main() {
	base := flag.String("url", "http://127.0.0.1:18080", "server base URL (loopback only)")
	key := flag.String("key", os.Getenv("BELONG_KEY"), "API key")
	members := flag.Int("members", 100000, "member ids m-00001..m-N to spread requests over")
	path := flag.String("path", "/v1/members/%s/communities", "request path; %s is a member id")
	rate := flag.Int("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 60*time.Second, "how long to send")
	conns := flag.Int("conns", 512, "most requests in flight")
	body := flag.String("body", "", "a JSON body to POST (GET when empty)")
	flag.Parse()
	if !strings.HasPrefix(*base, "http://127.") && !strings.HasPrefix(*base, "http://localhost") && !strings.HasPrefix(*base, "http://[::1]") {
		fmt.Fprintln(os.Stderr, "load: only loopback targets are allowed")
		os.Exit(2)
	}
	tr := &http.Transport{MaxIdleConns: *conns, MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	total := int(duration.Seconds() * float64(*rate))
	lat := make([]time.Duration, total)
	var errs, non200 atomic.Int64
	firstErr := atomic.Value{}
	jobs := make(chan int, *conns)
	start := time.Now().Add(100 * time.Millisecond)
	var wg sync.WaitGroup
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 1))
			for i := range jobs {
				sched := start.Add(time.Duration(i) * time.Second / time.Duration(*rate))
				id := fmt.Sprintf("m-%05d", 1+rng.IntN(*members))
				method, rd := http.MethodGet, io.Reader(nil)
				if *body != "" {
					method, rd = http.MethodPost, strings.NewReader(*body)
				}
				target := *path
				if strings.Contains(target, "%s") {
					target = fmt.Sprintf(target, id)
				}
				req, err := http.NewRequestWithContext(context.Background(), method, *base+target, rd)
				if err != nil {
					fmt.Fprintln(os.Stderr, "load:", err)
					os.Exit(2)
				}
				if *body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				req.Header.Set("Authorization", "Bearer "+*key)
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					lat[i] = time.Since(sched)
					continue
				}
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					non200.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d: %.200s", resp.StatusCode, body))
				}
				lat[i] = time.Since(sched)
			}
		}(uint64(w))
	}
	for i := 0; i < total; i++ {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(*rate))); d > 0 {
			time.Sleep(d)
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(total-1))].Microseconds()) / 1000 }
	res := map[string]any{
		"rate": *rate, "duration_s": duration.Seconds(), "requests": total,
		"achieved_rps": float64(total) / elapsed.Seconds(),
		"p50_ms":       pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": float64(lat[total-1].Microseconds()) / 1000,
		"errors": errs.Load(), "non_200": non200.Load(), "cpu_s": cpuSeconds(),
	}
	if e := firstErr.Load(); e != nil {
		res["first_error"] = e
	}
	json.NewEncoder(os.Stdout).Encode(res)
}
