package generation

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/database"
)

// Draft is one stored piece of generated content.
type Draft struct {
	ID            int64           `json:"id"`
	Kind          string          `json:"kind"`
	SubjectID     string          `json:"subject_id"`
	Locale        string          `json:"locale"`
	Body          json.RawMessage `json:"body"`
	Generator     string          `json:"generator"`
	PromptVersion string          `json:"prompt_version"`
	Status        string          `json:"status"`
	Version       int             `json:"version"`
}

// DraftCommunities writes a community_profile draft in each locale for every community
// of the current run that has none yet, and returns how many it wrote. Re-running
// writes nothing new; a community that keeps its id across runs keeps its drafts.
func DraftCommunities(ctx context.Context, db database.DBTX, gen Generator, locales []string, logger *slog.Logger) (int, error) {
	rows, err := db.Query(ctx, `SELECT c.id, c.labels, c.size, l.locale
		FROM current_run r JOIN communities c ON c.run_id = r.run_id
		CROSS JOIN unnest($1::text[]) AS l(locale)
		WHERE NOT EXISTS (SELECT 1 FROM content_drafts d
			WHERE d.kind = $2 AND d.subject_id = c.id AND d.locale = l.locale)
		ORDER BY c.id, l.locale`, locales, KindCommunityProfile)
	if err != nil {
		return 0, fmt.Errorf("find communities to draft: %w", err)
	}
	type todo struct {
		c      CommunityFacts
		locale string
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (todo, error) {
		var t todo
		err := r.Scan(&t.c.ID, &t.c.Labels, &t.c.Size, &t.locale)
		return t, err
	})
	if err != nil {
		return 0, fmt.Errorf("find communities to draft: %w", err)
	}
	batch := make([][]any, 0, len(list))
	for _, t := range list {
		p, err := gen.CommunityProfile(ctx, t.c, t.locale)
		if err != nil {
			return 0, fmt.Errorf("draft community %s (%s): %w", t.c.ID, t.locale, err)
		}
		body, err := json.Marshal(p)
		if err != nil {
			return 0, err
		}
		batch = append(batch, []any{KindCommunityProfile, t.c.ID, t.locale, body, gen.Name(), gen.PromptVersion()})
	}
	if len(batch) == 0 {
		return 0, nil
	}
	n, err := db.CopyFrom(ctx, pgx.Identifier{"content_drafts"},
		[]string{"kind", "subject_id", "locale", "body", "generator", "prompt_version"}, pgx.CopyFromRows(batch))
	if err != nil {
		return 0, fmt.Errorf("write drafts: %w", err)
	}
	if logger != nil {
		logger.InfoContext(ctx, "community drafts written", slog.Int("drafts", int(n)), slog.String("generator", gen.Name()))
	}
	return int(n), nil
}

// ListDrafts returns the drafts about one subject, newest version first.
func ListDrafts(ctx context.Context, db database.DBTX, kind, subjectID string) ([]Draft, error) {
	rows, err := db.Query(ctx, `SELECT id, kind, subject_id, locale, body, generator, prompt_version, status, version
		FROM content_drafts WHERE kind = $1 AND subject_id = $2 ORDER BY locale, version DESC`, kind, subjectID)
	if err != nil {
		return nil, fmt.Errorf("list drafts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Draft, error) {
		var d Draft
		err := r.Scan(&d.ID, &d.Kind, &d.SubjectID, &d.Locale, &d.Body, &d.Generator, &d.PromptVersion, &d.Status, &d.Version)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("list drafts: %w", err)
	}
	return out, nil
}
