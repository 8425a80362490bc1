package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/storage"
)

func TestTranslateMapsDatabaseErrorsToTheVocabulary(t *testing.T) {
	notFound := belong.New(belong.ENOTFOUND, "thing_not_found", "thing not found")
	cases := []struct {
		err  error
		want *belong.Error
		kind string
	}{
		{fmt.Errorf("read: %w", pgx.ErrNoRows), notFound, belong.ENOTFOUND},
		{&pgconn.PgError{Code: "23505"}, storage.ErrDuplicate, belong.ECONFLICT},
		{&pgconn.PgError{Code: "23503"}, storage.ErrGone, belong.ECONFLICT},
		{&pgconn.PgError{Code: "22021"}, storage.ErrBadText, belong.EINVALID},
		{&pgconn.PgError{Code: "40001"}, storage.ErrRetry, belong.ECONFLICT},
		{&pgconn.PgError{Code: "40P01"}, storage.ErrRetry, belong.ECONFLICT},
		{&pgconn.PgError{Code: "57P01"}, storage.ErrUnavailable, belong.EUNAVAILABLE},
		{context.DeadlineExceeded, storage.ErrUnavailable, belong.EUNAVAILABLE},
	}
	for _, c := range cases {
		got := storage.Translate(c.err, notFound)
		if !errors.Is(got, c.want) || belong.KindOf(got) != c.kind {
			t.Errorf("Translate(%v) = %v (kind %s); want %s", c.err, got, belong.KindOf(got), c.want.Code)
		}
		if !errors.Is(got, c.err) {
			t.Errorf("Translate(%v) lost its cause", c.err)
		}
	}
	// A syntax error is a bug, not something a client can act on: it stays as it is.
	syntax := &pgconn.PgError{Code: "42601"}
	if got := storage.Translate(syntax, notFound); got != syntax || belong.KindOf(got) != belong.EINTERNAL { //nolint:errorlint // identity: it must come back unchanged
		t.Errorf("Translate(syntax error) = %v", got)
	}
	if storage.Translate(pgx.ErrNoRows, nil) != pgx.ErrNoRows || storage.Translate(nil, notFound) != nil { //nolint:errorlint // identity
		t.Error("no rows without a sentinel, or nil, changed")
	}
}
