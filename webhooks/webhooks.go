// Package webhooks sends Belong's events to the endpoints a brand registers, so that
// a journey platform can act on them: a recognition is due, a member's community
// changed, a run was published, content was approved.
//
// A change writes its events to an outbox (outbox_events) in its own transaction,
// with one delivery row per subscribed, enabled endpoint (Emit); a job per endpoint
// delivers them after commit (Dispatcher), so nothing is sent for a change that
// rolled back and nothing is lost for one that committed. Delivery follows the
// Standard Webhooks convention (https://www.standardwebhooks.com): each request
// carries webhook-id (the event's id, the same on every retry and replay),
// webhook-timestamp and webhook-signature, "v1," and the base64 HMAC-SHA256 of
// "id.timestamp.body" under the endpoint's secret, so receivers can verify with
// existing libraries. Delivery is at least once: a 2xx answer delivers, anything
// else is retried with exponential backoff and jitter for up to a day, and a
// member's events reach an endpoint in the order they happened. An endpoint that
// answers 410 Gone, or that nothing has reached for a whole day, is disabled with
// the reason.
package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event types.
const (
	RecognitionDue    = "recognition.due"
	MilestoneReached  = "milestone.reached"
	MembershipChanged = "membership.changed"
	CommunityBorn     = "community.born"
	CommunityRetired  = "community.retired"
	RunPublished      = "cluster_run.published"
	ContentApproved   = "content.approved"
	ContentWithdrawn  = "content.withdrawn"
	// Challenges (package challenges).
	ChallengeJoined     = "challenge.joined"
	ChallengeProgressed = "challenge.progressed"
	ChallengeCompleted  = "challenge.completed"
)

// Types are the event types an endpoint may subscribe to.
var Types = []string{RecognitionDue, MilestoneReached, MembershipChanged, CommunityBorn, CommunityRetired,
	RunPublished, ContentApproved, ContentWithdrawn, ChallengeJoined, ChallengeProgressed, ChallengeCompleted}

// Event is one outgoing event before it is written.
type Event struct {
	Type string
	// MemberID is whose event it is ("" for none): a member's events reach each
	// endpoint in order, and erasing the member deletes them.
	MemberID string
	// Data is the event's data object (marshalled to JSON).
	Data any
}

// Message is the JSON body of a delivery.
type Message struct {
	// ID is the event's id, also sent as webhook-id: receivers deduplicate on it.
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// EventID is the public id of outbox event n.
func EventID(n int64) string { return "evt_" + strconv.FormatInt(n, 10) }

const secretPrefix = "whsec_"

// NewSecret returns a fresh signing secret: whsec_ and 32 random bytes in base64.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Sign returns the webhook-signature header of a message: "v1,<signature>" under
// each secret, space separated (two during a rotation).
func Sign(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, secretPrefix))
		if err != nil {
			return "", fmt.Errorf("webhook secret: %w", err)
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " "), nil
}
