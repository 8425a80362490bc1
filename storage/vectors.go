package storage

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/belong-loyalty/belong/database"
)

// Statements on member vectors that sqlc cannot express: the rest are in
// queries/vectors.sql.

// DropIndex drops the index name (as VectorIndexes spells it), for a bulk load.
//
// Hand-written: the index is named at run time (DDL takes no bind parameters).
func DropIndex(ctx context.Context, db database.DBTX, name string) error {
	_, err := db.Exec(ctx, "DROP INDEX IF EXISTS "+name)
	return err
}

// CreateIndex runs an index definition VectorIndexes read (pg_get_indexdef), to
// rebuild an index dropped for a bulk load: the migrations stay the one place it is
// defined.
//
// Hand-written: the statement is the saved definition itself.
func CreateIndex(ctx context.Context, db database.DBTX, def string) error {
	_, err := db.Exec(ctx, def)
	return err
}

// StagedVector is one member vector to write.
type StagedVector struct {
	MemberID   string
	Model      string
	Embedding  pgvector.Vector
	SourceHash []byte
}

// WriteVectors inserts or replaces the vectors of vs in one bulk write: COPY into a
// temporary staging table, then one upsert from it into member_vectors. The staging
// table is dropped when tx ends.
//
// Hand-written: the staging table exists only in the transaction (sqlc checks queries
// against the migrations' schema, which cannot have it), and COPY into it is pgx's
// CopyFrom.
func WriteVectors(ctx context.Context, tx pgx.Tx, vs []StagedVector) error {
	if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS pg_temp.vectors_in;
		CREATE TEMP TABLE vectors_in (member_id text, model text, embedding vector(256), source_hash bytea)
		ON COMMIT DROP`); err != nil {
		return fmt.Errorf("stage vectors: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"vectors_in"},
		[]string{"member_id", "model", "embedding", "source_hash"},
		pgx.CopyFromSlice(len(vs), func(i int) ([]any, error) {
			return []any{vs[i].MemberID, vs[i].Model, vs[i].Embedding, vs[i].SourceHash}, nil
		})); err != nil {
		return fmt.Errorf("copy vectors: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO member_vectors (member_id, model, embedding, source_hash)
		SELECT member_id, model, embedding, source_hash FROM vectors_in
		ON CONFLICT (member_id) DO UPDATE SET model = excluded.model, embedding = excluded.embedding,
			source_hash = excluded.source_hash, embedded_at = now()`); err != nil {
		return fmt.Errorf("write vectors: %w", err)
	}
	return nil
}

// EachVector streams LoadVectors' rows (the vectors of consenting members made by
// model, by member id) to fn, one at a time; vec is only valid during the call.
//
// Hand-written: sqlc's generated method collects every row first.
func EachVector(ctx context.Context, db database.DBTX, model string, fn func(memberID string, vec []float32) error) error {
	rows, err := db.Query(ctx, loadVectors, model)
	if err != nil {
		return err
	}
	defer rows.Close()
	var id string
	var vec pgvector.Vector
	for rows.Next() {
		if err := rows.Scan(&id, &vec); err != nil {
			return err
		}
		if err := fn(id, vec.Slice()); err != nil {
			return err
		}
	}
	return rows.Err()
}
