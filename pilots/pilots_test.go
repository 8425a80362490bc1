package pilots_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/internal/openaitest"
	"github.com/belong-loyalty/belong/pilots"
)

func candidates() []pilots.Candidate {
	var cs []pilots.Candidate
	for i := 0; i < 600; i++ {
		cs = append(cs, pilots.Candidate{MemberID: fmt.Sprintf("m-%03d", i), Stratum: "c-a"})
	}
	for i := 0; i < 300; i++ {
		cs = append(cs, pilots.Candidate{MemberID: fmt.Sprintf("n-%03d", i), Stratum: "c-b"})
	}
	for i := 0; i < 100; i++ {
		cs = append(cs, pilots.Candidate{MemberID: fmt.Sprintf("o-%03d", i), Stratum: "c-c"})
	}
	return cs
}

func TestSampleIsStratifiedAndReproducible(t *testing.T) {
	s := pilots.Sample(candidates(), 50, 7)
	per := map[string]int{}
	seen := map[string]bool{}
	for _, c := range s {
		per[c.Stratum]++
		if seen[c.MemberID] {
			t.Fatalf("%s drawn twice", c.MemberID)
		}
		seen[c.MemberID] = true
	}
	if len(s) != 50 || per["c-a"] != 30 || per["c-b"] != 15 || per["c-c"] != 5 {
		t.Fatalf("sample of %d by stratum %v, want 30/15/5 (60/30/10%%)", len(s), per)
	}
	// Same seed, same sample, whatever the candidates' order; another seed, another sample.
	cs := candidates()
	for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
		cs[i], cs[j] = cs[j], cs[i]
	}
	again := pilots.Sample(cs, 50, 7)
	if !reflect.DeepEqual(ids(s), ids(again)) {
		t.Fatal("the same seed drew another sample")
	}
	if reflect.DeepEqual(ids(s), ids(pilots.Sample(candidates(), 50, 8))) {
		t.Fatal("another seed drew the same sample")
	}
	// Rounding: 7 of 1,000 still sums to 7, the largest remainders first.
	if n := len(pilots.Sample(candidates(), 7, 1)); n != 7 {
		t.Fatalf("sample of 7 has %d", n)
	}
	if n := len(pilots.Sample(candidates()[:3], 10, 1)); n != 3 {
		t.Fatalf("a sample larger than the candidates has %d, want all 3", n)
	}
}

func ids(cs []pilots.Candidate) map[string]bool {
	out := map[string]bool{}
	for _, c := range cs {
		out[c.MemberID] = true
	}
	return out
}

func TestSentimentInEachLanguage(t *testing.T) {
	cases := []struct {
		text string
		sign int
	}{
		{"Loved the group run, everyone was so friendly and welcoming", 1},
		{"Boring session and the coach was rude", -1},
		{"Not good, really disappointing", -1},
		{"Jag älskar gänget, superkul och välkomnande", 1},
		{"Tråkigt och förvirrande, jag är besviken", -1},
		{"Bellissima esperienza, gente gentile e accogliente, mi è piaciuto", 1},
		{"Noioso e confuso, sono deluso", -1},
		{"We met at nine at the park", 0},
	}
	for _, tc := range cases {
		s := pilots.Sentiment(tc.text)
		if (tc.sign > 0 && s <= 0) || (tc.sign < 0 && s >= 0) || (tc.sign == 0 && s != 0) {
			t.Errorf("%q: sentiment %.2f, want sign %d", tc.text, s, tc.sign)
		}
	}
}

func TestOpenAIScorerFailsOnBadAnswers(t *testing.T) {
	answers := []string{`{"sentiment":0.8}`, `not json`, `{"sentiment":7}`}
	srv := openaitest.NewChat(t, func(call int, req map[string]any, w http.ResponseWriter, _ *http.Request) {
		if rf := req["response_format"].(map[string]any); rf["type"] != "json_schema" {
			t.Errorf("response_format %v", rf)
		}
		openaitest.Answer(w, answers[(call-1)%len(answers)])
	})
	sc, err := pilots.NewOpenAIScorer(srv.URL, "k", "m", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	text := "Boring and confusing"
	if s, _ := sc.Score(context.Background(), text); s != 0.8 {
		t.Fatalf("model answer: %v, want 0.8", s)
	}
	for i, want := range []string{"malformed", "out of range"} { // the job retries these
		if _, err := sc.Score(context.Background(), text); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("answer %d: %v, want a %s error", i+2, err, want)
		}
	}
}
