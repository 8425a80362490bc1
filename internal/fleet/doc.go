// Package fleet holds Belong's multi-process tests: the real binary, built once, run
// as several API nodes behind a real PgBouncer in transaction mode, as API nodes
// reading from a real hot standby, and as several workers sharing the nightly
// pipeline, all on the PostgreSQL that `make test` starts. It has no code of its own
// beyond what the tests need to start and watch those processes.
package fleet
