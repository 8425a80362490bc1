package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/storage"
)

// ErrNoSession means the console session is unknown, expired, signed out, or its key
// was revoked.
var ErrNoSession = errors.New("no such console session")

func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// StartSession opens a console session for key, lasting ttl, and returns its token
// (for the cookie: the key itself never leaves the sign-in form).
func StartSession(ctx context.Context, db database.DBTX, key Key, ttl time.Duration) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	err := storage.New(db).StartConsoleSession(ctx, storage.StartConsoleSessionParams{TokenHash: tokenHash(token),
		ApiKeyID: key.ID, ExpiresAt: time.Now().Add(ttl)})
	if err != nil {
		return "", fmt.Errorf("start console session: %w", storage.Translate(err, nil))
	}
	return token, nil
}

// SessionKey returns the key of a live session.
func SessionKey(ctx context.Context, db database.DBTX, token string) (Key, error) {
	r, err := storage.New(db).ConsoleSessionKey(ctx, tokenHash(token))
	if errors.Is(err, pgx.ErrNoRows) {
		return Key{}, ErrNoSession
	}
	if err != nil {
		return Key{}, fmt.Errorf("console session: %w", storage.Translate(err, nil))
	}
	return Key{ID: r.ID, Prefix: r.Prefix, Name: r.Name, Scopes: r.Scopes, CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt}, nil
}

// EndSession signs a session out; its cookie no longer works anywhere.
func EndSession(ctx context.Context, db database.DBTX, token string) error {
	if err := storage.New(db).EndConsoleSession(ctx, tokenHash(token)); err != nil {
		return fmt.Errorf("end console session: %w", storage.Translate(err, nil))
	}
	return nil
}

// PruneSessions deletes expired console sessions and returns how many.
func PruneSessions(ctx context.Context, db database.DBTX) (int64, error) {
	n, err := storage.New(db).PruneConsoleSessions(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune console sessions: %w", storage.Translate(err, nil))
	}
	return n, nil
}
