package storage

import (
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
)

// ErrUnavailable means the database cannot be reached or did not answer in time.
var ErrUnavailable = belong.New(belong.EUNAVAILABLE, "database_unavailable", "the database is unavailable; retry later")

// ErrRetry means the transaction lost a race (serialization failure or deadlock) and
// may succeed if tried again.
var ErrRetry = belong.New(belong.ECONFLICT, "concurrent_update", "the data changed under the request; retry it")

// ErrBadText means the input held text the database cannot store (a NUL byte,
// invalid UTF-8); nothing of the request was written.
var ErrBadText = belong.New(belong.EINVALID, "invalid_text", "the request holds text that cannot be stored: a NUL character or invalid UTF-8")

// ErrGone means something the request refers to was deleted while it ran (a member
// erased during a batch that names them); retried, the request gets a clear answer.
var ErrGone = belong.New(belong.ECONFLICT, "concurrent_update", "something the request refers to was deleted meanwhile; retry it")

// ErrDuplicate means a unique constraint refused a row.
var ErrDuplicate = belong.New(belong.ECONFLICT, "duplicate", "it already exists")

// Translate maps err to the error vocabulary: no rows to notFound (when given),
// text the database cannot hold to ErrBadText, unique violations to ErrDuplicate, serialization failures and deadlocks to
// ErrRetry, lost or refused connections and timeouts to ErrUnavailable. The original
// error stays in the chain, for the log. nil stays nil; anything else is returned
// as it is.
func Translate(err error, notFound *belong.Error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows) && notFound != nil:
		return notFound.Wrap(err)
	case errors.As(err, &pe) && pe.Code == "23505":
		return ErrDuplicate.Wrap(err)
	case errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01"):
		return ErrRetry.Wrap(err)
	case database.Gone(err):
		return ErrGone.Wrap(err)
	case database.BadText(err):
		return ErrBadText.Wrap(err)
	case database.Unavailable(err):
		return ErrUnavailable.Wrap(err)
	}
	return err
}
