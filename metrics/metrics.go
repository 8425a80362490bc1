// Package metrics is what Belong tells Prometheus, through client_golang on a
// registry of its own (no global state): the Go runtime and the process, the build,
// HTTP requests by route template, the connection pool, the job queue (depth by kind
// and state, and each job's run time and outcome as workers finish them), the nightly
// pipeline (its last success and failure, each stage's time) and webhook deliveries.
//
// What many processes share (the queue, the pipeline, deliveries) is read from the
// database at each scrape, with a short timeout, so every replica reports the same
// and a scrape never writes; what is per process (requests, the pool, the jobs this
// process ran) is counted in memory.
package metrics

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/storage"
)

// Build names what runs: belong_build_info{version, revision} is 1.
type Build struct {
	Version, Revision string
}

// Metrics holds the registry and the instruments the rest of Belong feeds.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	jobRuns  *prometheus.HistogramVec
	jobEnds  *prometheus.CounterVec
	reads    *prometheus.CounterVec
	logger   *slog.Logger
}

// New makes the registry with the runtime, process and build collectors, the HTTP and
// job instruments, and, when pool is not nil, the pool's statistics and what is read
// from the database at each scrape.
func New(pool *pgxpool.Pool, build Build, logger *slog.Logger) *Metrics {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), logger: logger,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belong_http_requests_total",
			Help: "HTTP requests by method, route template and status."}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "belong_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route template.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}}, []string{"method", "route"}),
		jobRuns: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "belong_job_run_duration_seconds",
			Help:    "How long jobs this process worked ran, by kind.",
			Buckets: []float64{0.01, 0.05, 0.25, 1, 5, 30, 120, 600, 3600}}, []string{"kind"}),
		jobEnds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belong_jobs_finished_total",
			Help: "Jobs this process worked, by kind and outcome (completed, failed: to be retried, discarded: given up, cancelled)."},
			[]string{"kind", "outcome"}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belong_db_reads_total",
			Help: "Real-time reads by where they were answered: replica, or primary (no replica configured, none caught up far enough, or the replica failed)."},
			[]string{"source"}),
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "belong_build_info", Help: "The build that runs (always 1).",
		ConstLabels: prometheus.Labels{"version": build.Version, "revision": build.Revision}})
	info.Set(1)
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		info, m.requests, m.latency, m.jobRuns, m.jobEnds, m.reads)
	if pool != nil {
		m.reg.MustRegister(poolCollector{pool}, &dbCollector{pool: pool, logger: logger})
	}
	return m
}

// Names lists the metric families the registry can expose (histograms by their base
// name), whether or not they have a sample yet.
func (m *Metrics) Names() []string {
	ch := make(chan *prometheus.Desc, 256)
	go func() {
		m.reg.Describe(ch)
		close(ch)
	}()
	var names []string
	for d := range ch {
		if match := fqName.FindStringSubmatch(d.String()); match != nil {
			names = append(names, match[1])
		}
	}
	return names
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Handler serves the registry in Prometheus' text format (or OpenMetrics when asked).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// ObserveRequest counts one HTTP request by its route template (never the raw path).
func (m *Metrics) ObserveRequest(method, route string, status int, took time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(took.Seconds())
}

// ObserveRead counts a real-time read answered by source (replica or primary).
func (m *Metrics) ObserveRead(source string) { m.reads.WithLabelValues(source).Inc() }

// WatchReplicas exports each read replica's lag and whether it serves, as status
// reports them at each scrape.
func (m *Metrics) WatchReplicas(status func() []database.ReplicaStatus) {
	m.reg.MustRegister(replicaCollector(status))
}

var (
	replicaLag = prometheus.NewDesc("belong_db_replica_lag_seconds",
		"How far a read replica is behind the primary: the time since the newest primary WAL position it has replayed was sampled.", []string{"replica"}, nil)
	replicaServing = prometheus.NewDesc("belong_db_replica_serving",
		"1 when reads go to the replica (it answers, is in recovery and lags at most BELONG_REPLICA_MAX_LAG), else 0.", []string{"replica"}, nil)
)

type replicaCollector func() []database.ReplicaStatus

func (c replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- replicaLag
	ch <- replicaServing
}

func (c replicaCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c() {
		serving := 0.0
		if r.Serving {
			serving = 1
		}
		ch <- prometheus.MustNewConstMetric(replicaLag, prometheus.GaugeValue, r.Lag.Seconds(), r.Name)
		ch <- prometheus.MustNewConstMetric(replicaServing, prometheus.GaugeValue, serving, r.Name)
	}
}

// WatchJobs counts the jobs client works, as it finishes them, until ctx ends.
func (m *Metrics) WatchJobs(ctx context.Context, client *river.Client[pgx.Tx]) {
	events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	go func() {
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				m.job(ev)
			}
		}
	}()
}

func (m *Metrics) job(ev *river.Event) {
	if ev == nil || ev.Job == nil {
		return
	}
	outcome := "completed"
	switch ev.Kind {
	case river.EventKindJobFailed:
		outcome = "failed"
		if ev.Job.State == "discarded" {
			outcome = "discarded"
		}
	case river.EventKindJobCancelled:
		outcome = "cancelled"
	}
	m.jobEnds.WithLabelValues(ev.Job.Kind, outcome).Inc()
	if ev.JobStats != nil {
		m.jobRuns.WithLabelValues(ev.Job.Kind).Observe(ev.JobStats.RunDuration.Seconds())
	}
}

// poolCollector reports pgxpool's statistics at each scrape.
type poolCollector struct{ pool *pgxpool.Pool }

var (
	poolConns    = prometheus.NewDesc("belong_db_pool_connections", "Connections of the pool by state (acquired, idle, constructing).", []string{"state"}, nil)
	poolMax      = prometheus.NewDesc("belong_db_pool_max_connections", "The pool's maximum size.", nil, nil)
	poolAcquires = prometheus.NewDesc("belong_db_pool_acquires_total", "Connections acquired from the pool.", nil, nil)
	poolWaits    = prometheus.NewDesc("belong_db_pool_empty_acquires_total", "Acquires that waited because the pool was empty.", nil, nil)
	poolWait     = prometheus.NewDesc("belong_db_pool_acquire_wait_seconds_total", "Time spent acquiring connections.", nil, nil)
)

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConns, poolMax, poolAcquires, poolWaits, poolWait} {
		ch <- d
	}
}

func (p poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.ConstructingConns()), "constructing")
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, s.AcquireDuration().Seconds())
}

// dbCollector reads what all processes share from the database at each scrape.
type dbCollector struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
}

var (
	jobsDesc       = prometheus.NewDesc("belong_jobs", "Jobs in the queue by kind and state (completed ones are kept a day, discarded a week).", []string{"kind", "state"}, nil)
	pipelineOK     = prometheus.NewDesc("belong_pipeline_last_success_timestamp_seconds", "When a pipeline last succeeded (0: never).", []string{"pipeline"}, nil)
	pipelineFailed = prometheus.NewDesc("belong_pipeline_last_failure_timestamp_seconds", "When a pipeline last failed (0: never).", []string{"pipeline"}, nil)
	pipelineStage  = prometheus.NewDesc("belong_pipeline_stage_duration_seconds", "Each stage's time in a pipeline's last success.", []string{"pipeline", "stage"}, nil)
	lastRun        = prometheus.NewDesc("belong_cluster_run_last_published_timestamp_seconds", "When the newest published cluster run finished (0: none yet).", nil, nil)
	deliveries     = prometheus.NewDesc("belong_webhook_deliveries", "Webhook deliveries by status (pending, delivered, failed); kept 30 days.", []string{"status"}, nil)
	scrapeErrors   = prometheus.NewDesc("belong_metrics_db_read_errors", "1 when this scrape could not read the database's numbers.", nil, nil)
)

func (*dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{jobsDesc, pipelineOK, pipelineFailed, pipelineStage, lastRun, deliveries, scrapeErrors} {
		ch <- d
	}
}

func (d *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := d.collect(ctx, ch); err != nil {
		d.logger.WarnContext(ctx, "metrics: read the database", slog.String("error", err.Error()))
		ch <- prometheus.MustNewConstMetric(scrapeErrors, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrors, prometheus.GaugeValue, 0)
}

func (d *dbCollector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	// River's own table: sqlc does not know its schema, so this one is plain SQL.
	rows, err := d.pool.Query(ctx, `SELECT kind, state::text, count(*) FROM river_job GROUP BY 1, 2`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var kind, state string
		var n int64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			rows.Close()
			return err
		}
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), kind, state)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	q := storage.New(d.pool)
	ps, err := q.PipelineStatuses(ctx)
	if err != nil {
		return err
	}
	seen := false
	for _, p := range ps {
		seen = seen || p.Name == "nightly"
		ch <- prometheus.MustNewConstMetric(pipelineOK, prometheus.GaugeValue, unix(p.LastSuccessAt), p.Name)
		ch <- prometheus.MustNewConstMetric(pipelineFailed, prometheus.GaugeValue, unix(p.LastFailureAt), p.Name)
		var stages map[string]float64
		if err := json.Unmarshal(p.Stages, &stages); err != nil {
			return err
		}
		for stage, secs := range stages {
			ch <- prometheus.MustNewConstMetric(pipelineStage, prometheus.GaugeValue, secs, p.Name, stage)
		}
	}
	if !seen { // never ran: 0, so "no success in 26 h" fires on a new install that never runs it
		ch <- prometheus.MustNewConstMetric(pipelineOK, prometheus.GaugeValue, 0, "nightly")
		ch <- prometheus.MustNewConstMetric(pipelineFailed, prometheus.GaugeValue, 0, "nightly")
	}
	at, err := q.LastPublishedRun(ctx)
	if err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(lastRun, prometheus.GaugeValue, unix(&at))
	ds, err := q.DeliveryCounts(ctx)
	if err != nil {
		return err
	}
	for _, dc := range ds {
		ch <- prometheus.MustNewConstMetric(deliveries, prometheus.GaugeValue, float64(dc.N), dc.Status)
	}
	return nil
}

func unix(t *time.Time) float64 {
	if t == nil || t.Year() <= 1970 {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
