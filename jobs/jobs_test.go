package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/demo"
	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/internal/openaitest"
	"github.com/belong-loyalty/belong/jobs"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/migrations/dbtest"
	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/pilots"
	"github.com/belong-loyalty/belong/service"
)

// syncBuffer is a bytes.Buffer the workers may write while the test reads.
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

// soon retries a failed job after a few milliseconds instead of River's minutes.
type soon struct{}

func (soon) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(20 * time.Millisecond) }

var workerConfig = jobs.Config{NightlySchedule: "off", MaxAttempts: 3, RetryPolicy: soon{}}

// bundle is a clustered demo brand and the use cases over it.
type bundle struct {
	svc    *service.Service
	member string // consenting, in a community, with a first name
}

// setup loads, embeds and clusters a small demo brand; drafts go to chat, a fake
// OpenAI-compatible endpoint, without the template fallback (as in the workers).
func setup(t *testing.T, chat *openaitest.Server) bundle {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Schema(t)
	g, err := generation.NewOpenAI(generation.OpenAIConfig{BaseURL: chat.URL, Model: "m", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc := &service.Service{DB: pool, Drafting: generation.Drafting{Generator: g, NoFallback: true},
		Embedder: func(context.Context, database.DBTX) (embeddings.Embedder, error) { return embeddings.NewLocal(), nil }}
	if svc.Queue, err = jobs.NewInserter(pool, workerConfig); err != nil {
		t.Fatal(err)
	}
	brand := demo.Generate(demo.Config{Members: 200, Seed: 3, Now: time.Now().UTC().AddDate(0, 0, -30)})
	if _, err := svc.IngestMembers(ctx, brand.Members); err != nil {
		t.Fatal(err)
	}
	if _, err := members.InsertEvents(ctx, pool, brand.Events, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Embed(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Cluster(ctx, service.ClusterParams{TargetSize: 30, MinSize: 8, MaxSize: 90, Seed: 1}, false, nil); err != nil {
		t.Fatal(err)
	}
	for _, m := range brand.Members {
		if m.Consent.Personalization {
			// A first name no other member has tells this member's model calls apart.
			m.Name = "Zephyrine Testa"
			if _, err := svc.IngestMembers(ctx, []members.Member{m}); err != nil {
				t.Fatal(err)
			}
			return bundle{svc: svc, member: m.ID}
		}
	}
	t.Fatal("no consenting member in the demo brand")
	return bundle{}
}

// celebrate ingests an event for the member, which fires a milestone and queues its
// recognition, and returns the milestone's key.
func (b bundle) celebrate(t *testing.T) string {
	t.Helper()
	res, err := b.svc.IngestEvents(context.Background(), []members.Event{{ID: "first-ride-" + b.member, MemberID: b.member,
		Type: "first_ride", At: time.Now().Add(-time.Minute)}}, nil)
	if err != nil || res.Recognitions != 1 {
		t.Fatalf("ingest: %+v, %v; want one recognition queued", res, err)
	}
	client, err := jobs.NewInserter(b.svc.DB, workerConfig)
	if err != nil {
		t.Fatal(err)
	}
	var args service.DraftRecognitionArgs
	if err := json.Unmarshal(b.recognitionJob(t, client).EncodedArgs, &args); err != nil {
		t.Fatal(err)
	}
	return args.Key
}

// startWorkers starts a River client over the bundle's service, stopped at the end.
func (b bundle) startWorkers(t *testing.T, logger ...*slog.Logger) *river.Client[pgx.Tx] {
	t.Helper()
	cfg := workerConfig
	if len(logger) > 0 {
		cfg.Logger = logger[0]
	}
	client, err := jobs.New(b.svc.DB, b.svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.StopAndCancel(context.Background()) })
	return client
}

// recognitionJob returns the member's draft_recognition job (the hourly anniversaries
// job may have queued others for other members).
func (b bundle) recognitionJob(t *testing.T, client *river.Client[pgx.Tx]) *rivertype.JobRow {
	t.Helper()
	res, err := client.JobList(context.Background(), river.NewJobListParams().Kinds(service.DraftRecognitionArgs{}.Kind()).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	var found []*rivertype.JobRow
	for _, j := range res.Jobs {
		if strings.Contains(string(j.EncodedArgs), `"`+b.member+`"`) {
			found = append(found, j)
		}
	}
	if len(found) != 1 {
		t.Fatalf("recognition jobs for %s: %d; want 1", b.member, len(found))
	}
	return found[0]
}

// aboutMember tells the member's model calls from others' (the hourly anniversaries
// job may queue recognitions for other members).
func aboutMember(req map[string]any) bool {
	return strings.Contains(fmt.Sprint(req["messages"]), "Zephyrine")
}

// waitFor polls until cond holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func drafted(t *testing.T, b bundle, key string) bool {
	t.Helper()
	sub, err := moments.RecognitionSubject(context.Background(), b.svc.DB, b.member, key)
	if err != nil {
		t.Fatal(err)
	}
	return sub.Drafted
}

func TestFailingModelIsRetriedThenParkedWithItsError(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	var calls atomic.Int32
	chat := openaitest.NewChat(t, func(_ int, req map[string]any, w http.ResponseWriter, _ *http.Request) {
		if aboutMember(req) {
			calls.Add(1)
		}
		if !healthy.Load() {
			openaitest.Fail(w, http.StatusInternalServerError, "the model is down")
			return
		}
		openaitest.Answer(w, `{"message":"Zephyrine, here is to many more.","occasion":"milestone"}`)
	})
	b := setup(t, chat)
	key := b.celebrate(t)
	var logs syncBuffer
	client := b.startWorkers(t, slog.New(slog.NewTextHandler(&logs, nil)))

	var job *rivertype.JobRow
	waitFor(t, "the job to be parked", func() bool {
		job = b.recognitionJob(t, client)
		return job.State == rivertype.JobStateDiscarded
	})
	if job.Attempt != 3 || len(job.Errors) != 3 || !strings.Contains(job.Errors[2].Error, "500") {
		t.Fatalf("parked job: attempt %d, errors %+v; want 3 attempts, each with the model's 500", job.Attempt, job.Errors)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("the model was called %d times, want 3 (no template fallback in jobs)", n)
	}
	if drafted(t, b, key) {
		t.Fatal("a parked job left a draft behind")
	}
	// The ingest that queued it stayed committed.
	if _, err := moments.RecognitionSubject(context.Background(), b.svc.DB, b.member, key); err != nil {
		t.Fatalf("milestone after the failures: %v", err)
	}
	// Each failure is on the service's log; the last says the job is parked.
	if l := logs.String(); strings.Count(l, `msg="job failed; it will be retried" kind=draft_recognition`) < 2 ||
		!strings.Contains(l, `level=ERROR msg="job failed for the last time; parked for an operator (belong jobs)" kind=draft_recognition`) {
		t.Fatalf("logs:\n%s", l)
	}
	problems, err := jobs.Problems(context.Background(), client, 10)
	if err != nil || len(problems) != 1 || problems[0].State != "discarded" || !strings.Contains(problems[0].LastError, "the model is down") {
		t.Fatalf("operator view: %+v, %v", problems, err)
	}

	// Once the model is back, an operator retries it and the member is recognised.
	healthy.Store(true)
	if _, err := client.JobRetry(context.Background(), job.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the retried job to draft", func() bool { return drafted(t, b, key) })
}

func TestKilledWorkersJobCompletesOnRetry(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	var calls atomic.Int32
	chat := openaitest.NewChat(t, func(_ int, req map[string]any, w http.ResponseWriter, r *http.Request) {
		if aboutMember(req) && calls.Add(1) == 1 {
			started <- struct{}{}
			<-r.Context().Done() // hang until the worker is killed
			return
		}
		openaitest.Answer(w, `{"message":"Zephyrine, here is to many more.","occasion":"milestone"}`)
	})
	b := setup(t, chat)
	key := b.celebrate(t)

	first := b.startWorkers(t)
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the first worker never called the model")
	}
	// Kill the worker mid-job: its jobs' contexts are cancelled at once.
	if err := first.StopAndCancel(context.Background()); err != nil {
		t.Fatal(err)
	}
	if drafted(t, b, key) {
		t.Fatal("a killed job drafted")
	}
	// River hands a job cancelled by its stopping worker back to the queue.
	if job := b.recognitionJob(t, first); job.State != rivertype.JobStateAvailable {
		t.Fatalf("killed job is %s, want available for another worker", job.State)
	}
	second := b.startWorkers(t)
	var job *rivertype.JobRow
	waitFor(t, "another worker to finish the job", func() bool {
		job = b.recognitionJob(t, second)
		return job.State == rivertype.JobStateCompleted
	})
	if !drafted(t, b, key) || calls.Load() != 2 {
		t.Fatalf("completed job: drafted %v after %d model calls; want a draft from the second call", drafted(t, b, key), calls.Load())
	}
}

func TestFeedbackIsStoredAtOnceAndScoredByTheModelInAJob(t *testing.T) {
	t.Parallel()
	var scored atomic.Int32 // sentiment calls (other members' recognitions may call too)
	chat := openaitest.NewChat(t, func(_ int, req map[string]any, w http.ResponseWriter, _ *http.Request) {
		if strings.Contains(fmt.Sprint(req["messages"]), "Rate the sentiment") {
			scored.Add(1)
		}
		openaitest.Answer(w, `{"sentiment":-0.9}`)
	})
	b := setup(t, chat)
	scorer, err := pilots.NewOpenAIScorer(chat.URL, "", "m", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b.svc.Sentiment = scorer
	ctx := context.Background()
	f, err := b.svc.AddFeedback(ctx, pilots.Feedback{MemberID: b.member, Rating: 5, Text: "I love it, wonderful and great"})
	if err != nil {
		t.Fatal(err)
	}
	// The request path used the lexicon: positive, and the model was not called.
	if f.Sentiment <= 0 || scored.Load() != 0 {
		t.Fatalf("stored sentiment %.2f after %d model calls; want the lexicon's positive score and no call", f.Sentiment, scored.Load())
	}
	client := b.startWorkers(t)
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := jobs.WaitIdle(waitCtx, client); err != nil {
		t.Fatal(err)
	}
	var sentiment float64
	if err := b.svc.DB.QueryRow(ctx, "SELECT sentiment FROM feedback WHERE id = $1", f.ID).Scan(&sentiment); err != nil {
		t.Fatal(err)
	}
	if math.Abs(sentiment+0.9) > 1e-6 || scored.Load() != 1 {
		t.Fatalf("after the job: sentiment %.3f after %d model calls; want the model's -0.9 from one call", sentiment, scored.Load())
	}
}

func TestFeedbackKeepsTheLexiconScoreWhenTheModelIsDown(t *testing.T) {
	t.Parallel()
	chat := openaitest.NewChat(t, func(_ int, _ map[string]any, w http.ResponseWriter, _ *http.Request) {
		openaitest.Fail(w, http.StatusInternalServerError, "the model is down")
	})
	b := setup(t, chat)
	scorer, err := pilots.NewOpenAIScorer(chat.URL, "", "m", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b.svc.Sentiment = scorer
	ctx := context.Background()
	f, err := b.svc.AddFeedback(ctx, pilots.Feedback{MemberID: b.member, Rating: 5, Text: "I love it, wonderful and great"})
	if err != nil {
		t.Fatal(err)
	}
	client := b.startWorkers(t)
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := jobs.WaitIdle(waitCtx, client); err != nil {
		t.Fatal(err)
	}
	res, err := client.JobList(ctx, river.NewJobListParams().Kinds(service.ScoreFeedbackArgs{}.Kind()))
	if err != nil || len(res.Jobs) != 1 || res.Jobs[0].State != rivertype.JobStateDiscarded || len(res.Jobs[0].Errors) != 3 {
		t.Fatalf("score_feedback job: %+v, %v; want it parked after 3 failed attempts", res, err)
	}
	var sentiment float64
	if err := b.svc.DB.QueryRow(ctx, "SELECT sentiment FROM feedback WHERE id = $1", f.ID).Scan(&sentiment); err != nil {
		t.Fatal(err)
	}
	if math.Abs(sentiment-f.Sentiment) > 1e-6 {
		t.Fatalf("sentiment %.3f after the model failed, want the lexicon's %.3f kept", sentiment, f.Sentiment)
	}
}
