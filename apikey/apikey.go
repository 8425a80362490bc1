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
)

// Scopes a key may carry.
const (
	ScopeMatchRead     = "match:read"
	ScopeMembersWrite  = "members:write"
	ScopeContentReview = "content:review"
	ScopeAdmin         = "admin" // every scope
)

// Scopes lists every scope.
var Scopes = []string{ScopeMatchRead, ScopeMembersWrite, ScopeContentReview, ScopeAdmin}

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
}

// Allows reports whether the key carries scope (admin carries all).
func (k Key) Allows(scope string) bool {
	return slices.Contains(k.Scopes, scope) || slices.Contains(k.Scopes, ScopeAdmin)
}

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// Create makes a key with a name and scopes and returns it with its secret, which is
// never stored and cannot be shown again. Keys look like blg_<prefix>_<secret>.
func Create(ctx context.Context, db database.DBTX, name string, scopes []string) (Key, string, error) {
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
	k := Key{Prefix: prefix, Name: name, Scopes: scopes}
	err := db.QueryRow(ctx, `INSERT INTO api_keys (prefix, hash, name, scopes) VALUES ($1, $2, $3, $4)
		RETURNING id, created_at`, prefix, sum[:], name, scopes).Scan(&k.ID, &k.CreatedAt)
	if err != nil {
		return Key{}, "", fmt.Errorf("create API key: %w", err)
	}
	return k, secret, nil
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
	var (
		k    Key
		hash []byte
	)
	err := db.QueryRow(ctx, `SELECT id, prefix, hash, name, scopes, created_at, revoked_at
		FROM api_keys WHERE prefix = $1`, prefix).Scan(&k.ID, &k.Prefix, &hash, &k.Name, &k.Scopes, &k.CreatedAt, &k.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, ErrInvalid
	}
	if err != nil {
		return Key{}, fmt.Errorf("verify API key: %w", err)
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], hash) != 1 || k.RevokedAt != nil {
		return Key{}, ErrInvalid
	}
	return k, nil
}

// List returns every key, newest first, without secrets.
func List(ctx context.Context, db database.DBTX) ([]Key, error) {
	rows, err := db.Query(ctx, `SELECT id, prefix, name, scopes, created_at, revoked_at FROM api_keys ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Key, error) {
		var k Key
		err := r.Scan(&k.ID, &k.Prefix, &k.Name, &k.Scopes, &k.CreatedAt, &k.RevokedAt)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return keys, nil
}

// Revoke revokes the key with the given prefix (or numeric id); revoking twice is a no-op.
func Revoke(ctx context.Context, db database.DBTX, prefixOrID string) error {
	tag, err := db.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
		WHERE prefix = $1 OR id::text = $1`, prefixOrID)
	if err != nil {
		return fmt.Errorf("revoke API key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// PruneIdempotency forgets Idempotency-Keys stored before cutoff and returns how many.
func PruneIdempotency(ctx context.Context, db database.DBTX, cutoff time.Time) (int64, error) {
	tag, err := db.Exec(ctx, "DELETE FROM idempotency_keys WHERE created_at < $1", cutoff)
	if err != nil {
		return 0, fmt.Errorf("prune idempotency keys: %w", err)
	}
	return tag.RowsAffected(), nil
}
