// Package apikey issues and checks the API keys journey platforms and loyalty teams
// use. A key is shown once, at creation; only its SHA-256 hash is stored. Keys carry
// scopes, and a key is found by its non-secret prefix and then compared by hash in
// constant time.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/storage"
)

// Scopes a key may carry.
const (
	ScopeMatchRead     = "match:read"
	ScopeMembersWrite  = "members:write"
	ScopeContentReview = "content:review"
	ScopeMetricsRead   = "metrics:read" // /metrics only: what Prometheus holds
	ScopeAdmin         = "admin"        // every scope
)

// Scopes lists every scope.
var Scopes = []string{ScopeMatchRead, ScopeMembersWrite, ScopeContentReview, ScopeMetricsRead, ScopeAdmin}

// Errors of key handling.
var (
	ErrInvalid      = errors.New("the API key is missing, malformed, unknown or revoked")
	ErrUnknownScope = errors.New("unknown scope")
	ErrNotFound     = errors.New("no such API key")
)

// Key is a stored key, without its secret.
type Key struct {
	ID        int64      `json:"id"`
	Prefix    string     `json:"prefix"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// ExpiresAt, when set, is when the key stops working.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// LastUsedAt is when the key last authenticated a request (to the minute).
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Allows reports whether the key carries scope (admin carries all).
func (k Key) Allows(scope string) bool {
	return slices.Contains(k.Scopes, scope) || slices.Contains(k.Scopes, ScopeAdmin)
}

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// Create makes a key with a name and scopes and returns it with its secret, which is
// never stored and cannot be shown again. Keys look like blg_<prefix>_<secret>.
func Create(ctx context.Context, db database.DBTX, name string, scopes []string) (Key, string, error) {
	return CreateExpiring(ctx, db, name, scopes, nil)
}

// CreateExpiring is Create for a key that stops working at expires (never when nil).
func CreateExpiring(ctx context.Context, db database.DBTX, name string, scopes []string, expires *time.Time) (Key, string, error) {
	if expires != nil && !expires.After(time.Now()) {
		return Key{}, "", errors.New("a key's expiry is in the future")
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return Key{}, "", errors.New("a key needs a name of 1 to 100 characters")
	}
	if len(scopes) == 0 {
		return Key{}, "", fmt.Errorf("a key needs at least one scope of %s", strings.Join(Scopes, ", "))
	}
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return Key{}, "", fmt.Errorf("%w %q (have %s)", ErrUnknownScope, s, strings.Join(Scopes, ", "))
		}
	}
	var raw [25]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Key{}, "", err
	}
	prefix := strings.ToLower(enc.EncodeToString(raw[:5]))
	secret := "blg_" + prefix + "_" + strings.ToLower(enc.EncodeToString(raw[5:]))
	sum := sha256.Sum256([]byte(secret))
	r, err := storage.New(db).CreateAPIKey(ctx, storage.CreateAPIKeyParams{Prefix: prefix, Hash: sum[:], Name: name, Scopes: scopes,
		ExpiresAt: expires})
	if err != nil {
		return Key{}, "", fmt.Errorf("create API key: %w", storage.Translate(err, nil))
	}
	return Key{ID: r.ID, Prefix: prefix, Name: name, Scopes: scopes, CreatedAt: r.CreatedAt, ExpiresAt: expires}, secret, nil
}

// parse splits a presented key into its prefix, or reports it malformed.
func parse(secret string) (string, bool) {
	rest, ok := strings.CutPrefix(secret, "blg_")
	if !ok {
		return "", false
	}
	prefix, body, ok := strings.Cut(rest, "_")
	if !ok || len(prefix) != 8 || len(body) != 32 {
		return "", false
	}
	return prefix, true
}

// Verify returns the live key matching secret, or ErrInvalid.
func Verify(ctx context.Context, db database.DBTX, secret string) (Key, error) {
	prefix, ok := parse(secret)
	if !ok {
		return Key{}, ErrInvalid
	}
	r, err := storage.New(db).APIKeyByPrefix(ctx, prefix)
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, ErrInvalid
	}
	if err != nil {
		return Key{}, fmt.Errorf("verify API key: %w", storage.Translate(err, nil))
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], r.Hash) != 1 || r.RevokedAt != nil || r.ExpiresAt != nil && !time.Now().Before(*r.ExpiresAt) {
		return Key{}, ErrInvalid
	}
	return Key{ID: r.ID, Prefix: r.Prefix, Name: r.Name, Scopes: r.Scopes, CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt,
		ExpiresAt: r.ExpiresAt, LastUsedAt: r.LastUsedAt}, nil
}

// List returns every key, newest first, without secrets.
func List(ctx context.Context, db database.DBTX) ([]Key, error) {
	rows, err := storage.New(db).ListAPIKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", storage.Translate(err, nil))
	}
	keys := make([]Key, 0, len(rows))
	for _, r := range rows {
		keys = append(keys, Key{ID: r.ID, Prefix: r.Prefix, Name: r.Name, Scopes: r.Scopes, CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt,
			ExpiresAt: r.ExpiresAt, LastUsedAt: r.LastUsedAt})
	}
	return keys, nil
}

// Revoke revokes the key with the given prefix (or numeric id); revoking twice is a no-op.
func Revoke(ctx context.Context, db database.DBTX, prefixOrID string) error {
	n, err := storage.New(db).RevokeAPIKey(ctx, prefixOrID)
	if err != nil {
		return fmt.Errorf("revoke API key: %w", storage.Translate(err, nil))
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// PruneIdempotency forgets Idempotency-Keys stored before cutoff and returns how many.
func PruneIdempotency(ctx context.Context, db database.DBTX, cutoff time.Time) (int64, error) {
	n, err := storage.New(db).PruneIdempotencyKeys(ctx, cutoff)
	if err != nil {
		return 0, fmt.Errorf("prune idempotency keys: %w", storage.Translate(err, nil))
	}
	return n, nil
}

// Answer is the first answer to a batch request made with an Idempotency-Key, kept
// so that a retry of the same request gets it back instead of being applied again.
type Answer struct {
	// Route is the route the request was made to.
	Route string
	// RequestHash is the SHA-256 of the request body.
	RequestHash []byte
	// Status and Body are the answer's HTTP status and body.
	Status int
	Body   []byte
}

// Claim is what ClaimIdempotency found.
type Claim int

// Claims.
const (
	// Claimed: this request holds the key; run it, then Finish or Release.
	Claimed Claim = iota
	// InProgress: another request with the key is under way.
	InProgress
	// Answered: a request with the key finished; its Answer is returned.
	Answered
)

// ClaimIdempotency takes the Idempotency-Key key of the API key apiKeyID for one
// request, so that parallel requests with one key run once: the first claims it, the
// others see it in progress, and later ones get the stored answer. The route and the
// request's hash are recorded with the claim, so a different request reusing the key
// can be told apart from a retry.
func ClaimIdempotency(ctx context.Context, db database.DBTX, apiKeyID int64, key, route string, hash []byte) (Claim, Answer, error) {
	q := storage.New(db)
	for {
		_, err := q.ClaimIdempotencyKey(ctx, storage.ClaimIdempotencyKeyParams{ApiKeyID: apiKeyID, Key: key, Route: route, RequestHash: hash})
		if err == nil {
			return Claimed, Answer{}, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, Answer{}, fmt.Errorf("claim idempotency key: %w", storage.Translate(err, nil))
		}
		r, err := q.IdempotencyKey(ctx, storage.IdempotencyKeyParams{ApiKeyID: apiKeyID, Key: key})
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released between the two statements: claim it again
		}
		if err != nil {
			return 0, Answer{}, fmt.Errorf("look up idempotency key: %w", storage.Translate(err, nil))
		}
		a := Answer{Route: r.Route, RequestHash: r.RequestHash, Status: int(r.Status), Body: r.Body}
		if r.Status == 0 {
			return InProgress, a, nil
		}
		return Answered, a, nil
	}
}

// FinishIdempotency stores the answer of the request that holds the claim.
func FinishIdempotency(ctx context.Context, db database.DBTX, apiKeyID int64, key string, status int, body []byte) error {
	err := storage.New(db).FinishIdempotencyKey(ctx, storage.FinishIdempotencyKeyParams{ApiKeyID: apiKeyID, Key: key,
		Status: int32(status), Body: body})
	if err != nil {
		return fmt.Errorf("store idempotency answer: %w", storage.Translate(err, nil))
	}
	return nil
}

// ReleaseIdempotency gives a claim up (the request failed on the server's side), so a
// retry with the key runs again.
func ReleaseIdempotency(ctx context.Context, db database.DBTX, apiKeyID int64, key string) error {
	err := storage.New(db).ReleaseIdempotencyKey(ctx, storage.ReleaseIdempotencyKeyParams{ApiKeyID: apiKeyID, Key: key})
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", storage.Translate(err, nil))
	}
	return nil
}
