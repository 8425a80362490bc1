// Package storage is the one owner of Belong's tables: every SQL statement the
// service runs is here (and in the migrations that make the schema).
//
// Queries live in queries/*.sql and sqlc turns them into typed methods on *Queries,
// checked against the schema the migrations build (db.go, models.go and the files ending in .sql.go are
// generated: run `make generate` after changing a query). The few statements that
// must be built at run time (filters that name only what is asked, temporary staging
// tables for bulk loads, River's own tables) are written by hand in this package too.
//
// Callers decide the transaction: New takes a pool or a pgx.Tx. Translate maps the
// database's errors to the error vocabulary of package belong, so "no rows", unique
// violations, serialization failures, deadlocks and lost connections mean the same
// thing everywhere.
package storage

//go:generate sqlc generate
