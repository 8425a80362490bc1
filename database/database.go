// Package database opens the PostgreSQL pool every other package works through and
// names the small interface their stores take, so callers decide the transaction.
package database

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxvec "github.com/pgvector/pgvector-go/pgx"
)

// DBTX is what stores need from a connection: both *pgxpool.Pool and pgx.Tx satisfy it.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
	Begin(ctx context.Context) (pgx.Tx, error)
}

var (
	_ DBTX = (*pgxpool.Pool)(nil)
	_ DBTX = (pgx.Tx)(nil)
)

// Config is a parsed pool configuration; Open applies it.
type Config = pgxpool.Config

// ParseConfig parses a connection URL and registers pgvector's types on every new
// connection (without them CopyFrom fails with a misleading dimension error).
//
// Statements run with plan_cache_mode force_generic_plan unless the URL sets it:
// pgx prepares each statement once per connection, and every query Belong runs is
// written for a plan that holds for all its parameters. Left to choose, PostgreSQL
// kept re-planning the real-time reads on every call (their generic plan's estimate
// is pessimistic), 3–10 ms of planning for 0.5 ms of execution.
func ParseConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	cfg.AfterConnect = registerTypes
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
	return cfg, nil
}

// ForTransactionPooler adapts cfg to a transaction-pooling proxy such as PgBouncer
// (before 1.21, which cannot follow prepared statements), where each transaction may
// run on another server connection: no statement is prepared by name (pgx describes
// each once and runs it unnamed), and no session setting is sent at connection time,
// which a pooler refuses or drops (so plan_cache_mode is left to the server; unnamed
// statements are planned for their parameters each time anyway).
func ForTransactionPooler(cfg *pgxpool.Config) {
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	delete(cfg.ConnConfig.RuntimeParams, "plan_cache_mode")
}

// Open connects to url and checks the connection.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := ParseConfig(url)
	if err != nil {
		return nil, err
	}
	return OpenConfig(ctx, cfg)
}

// OpenConfig connects with a prepared configuration and checks the connection.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}

// InTx runs fn in a transaction on db, committing when fn returns nil and rolling
// back otherwise. On a pgx.Tx it makes a savepoint.
func InTx(ctx context.Context, db DBTX, fn func(tx pgx.Tx) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Unavailable reports errors that mean the database cannot be reached or did not
// answer in time, as opposed to errors in what was asked of it. The storage layer
// translates them to storage.ErrUnavailable; the API answers 503 for those it meets
// untranslated (a ping, a deadline).
func Unavailable(err error) bool {
	var (
		ce *pgconn.ConnectError
		ne net.Error
		pe *pgconn.PgError
	)
	if errors.As(err, &pe) {
		// Server-side: only "cannot connect now" and shutdown classes are outages.
		return strings.HasPrefix(pe.Code, "57P") || strings.HasPrefix(pe.Code, "08")
	}
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) ||
		pgconn.Timeout(err) || errors.Is(err, io.ErrUnexpectedEOF)
}

// BadText reports errors where PostgreSQL refused text it cannot hold: a NUL byte or
// invalid UTF-8 in a text value (22021), a \u0000 escape in jsonb (22P05). They are
// the caller's bad input, never the database's fault.
func BadText(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "22021" || pe.Code == "22P05")
}

// Gone reports a foreign key violation: a row the request refers to was deleted while
// it ran (a member erased during a batch that names them).
func Gone(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// Errors of preparing a database for pgvector.
var (
	// ErrNoVector means pgvector is not enabled in the database and could not be.
	ErrNoVector = errors.New("pgvector is not enabled in the database")
)

// EnsureVector makes sure the pgvector extension is enabled in the database at url,
// enabling it when the role may (CREATE EXTENSION IF NOT EXISTS vector). When it may
// not, or the server lacks pgvector, the error says exactly what to run, and where.
// It connects without registering pgvector's types, which need the extension.
func EnsureVector(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var db, role string
	var enabled bool
	if err := conn.QueryRow(ctx, `SELECT current_database(), current_user,
		EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')`).Scan(&db, &role, &enabled); err != nil {
		return fmt.Errorf("check for pgvector: %w", err)
	}
	if enabled {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector")
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe) && pe.Code == "42501": // insufficient_privilege
		return fmt.Errorf("%w, and role %q may not enable it: as a superuser, run\n\n    psql -d %s -c 'CREATE EXTENSION vector;'\n\nthen `belong migrate` again",
			ErrNoVector, role, db)
	case errors.As(err, &pe) && (pe.Code == "58P01" || pe.Code == "0A000" || pe.Code == "42704"): // not installed
		return fmt.Errorf("%w, and this PostgreSQL server does not have it installed: install pgvector on the server "+
			"(Debian/Ubuntu: apt-get install postgresql-<version>-pgvector; or scripts/db.sh builds it), then run "+
			"`belong migrate` again (%s)", ErrNoVector, pe.Message)
	}
	return fmt.Errorf("enable pgvector: %w", err)
}

// registerTypes registers pgvector's types on a new connection; without the
// extension it says how to get it.
func registerTypes(ctx context.Context, conn *pgx.Conn) error {
	if err := pgxvec.RegisterTypes(ctx, conn); err != nil {
		if strings.Contains(err.Error(), "vector type not found") {
			return fmt.Errorf("%w: run `belong migrate`, which enables it (or says what to run)", ErrNoVector)
		}
		return err
	}
	return nil
}

// Lock is an advisory lock held by a transaction of its own (pg_advisory_xact_lock),
// so it needs no session state: it works through a transaction-pooling PgBouncer,
// which keeps the transaction's server connection for it alone, and it is released
// when Release ends the transaction or the connection dies. The transaction takes no
// snapshot between statements and writes nothing, so holding it for a long run keeps
// nothing from vacuum.
type Lock struct{ tx pgx.Tx }

// TryLock takes the advisory lock whose bigint key the SQL expression key gives,
// without waiting; ok is false when another holds it.
func TryLock(ctx context.Context, db DBTX, key string) (l *Lock, ok bool, err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, false, err
	}
	if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock("+key+")").Scan(&ok); err != nil || !ok {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, false, err
	}
	return &Lock{tx}, true, nil
}

// WaitLock takes the advisory lock of key, waiting for it.
func WaitLock(ctx context.Context, db DBTX, key string) (*Lock, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock("+key+")"); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return &Lock{tx}, nil
}

// Release lets the lock go.
func (l *Lock) Release(ctx context.Context) {
	_ = l.tx.Rollback(context.WithoutCancel(ctx))
}
