package webhooks_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/belong-loyalty/belong/webhooks"
)

// Signatures are what the Standard Webhooks reference library verifies: under each
// secret during a rotation, bound to the id, the timestamp and the body.
func TestSignaturesVerifyWithTheStandardLibrary(t *testing.T) {
	old, cur := webhooks.NewSecret(), webhooks.NewSecret()
	if old == cur || !strings.HasPrefix(cur, "whsec_") {
		t.Fatalf("secrets %q, %q", old, cur)
	}
	body := []byte(`{"id":"evt_1","type":"milestone.reached","timestamp":"2026-11-23T10:00:00Z","data":{}}`)
	now := time.Now()
	sig, err := webhooks.Sign([]string{cur, old}, "evt_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(sig)); n != 2 {
		t.Fatalf("signature header %q: want two signatures", sig)
	}
	h := http.Header{}
	h.Set("webhook-id", "evt_1")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	for _, s := range []string{old, cur} {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Fatalf("verify with one of the secrets: %v", err)
		}
		for name, tamper := range map[string]func(http.Header, []byte) (http.Header, []byte){
			"body": func(h http.Header, b []byte) (http.Header, []byte) {
				return h, []byte(strings.Replace(string(b), "milestone", "milestones", 1))
			},
			"id": func(h http.Header, b []byte) (http.Header, []byte) {
				h = h.Clone()
				h.Set("webhook-id", "evt_2")
				return h, b
			},
			"timestamp": func(h http.Header, b []byte) (http.Header, []byte) {
				h = h.Clone()
				h.Set("webhook-timestamp", strconv.FormatInt(now.Unix()+1, 10))
				return h, b
			},
		} {
			th, tb := tamper(h, body)
			if err := wh.Verify(tb, th); err == nil {
				t.Fatalf("a changed %s verified", name)
			}
		}
	}
	other, _ := standardwebhooks.NewWebhook(webhooks.NewSecret())
	if err := other.Verify(body, h); err == nil {
		t.Fatal("another endpoint's secret verified")
	}
	if _, err := webhooks.Sign([]string{"whsec_not base64!"}, "evt_1", now, body); err == nil {
		t.Fatal("a malformed secret signed")
	}
}
