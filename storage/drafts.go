package storage

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/database"
)

// ApprovedFilter picks the approved content ApprovedDrafts returns: MemberID, when
// set, picks a member's content; otherwise SubjectID picks a community's (content
// about no member). Kind and Locale narrow it when not empty.
type ApprovedFilter struct {
	SubjectID, MemberID, Kind, Locale string
}

// ApprovedDrafts returns, for each draft group that f picks, its latest approved
// version.
//
// Written by hand rather than by sqlc: the WHERE clause names only the filters in use
// (a static query with "($n = empty OR ...)" terms would keep the planner from using the
// subject and member indexes), so its text is built at run time.
func ApprovedDrafts(ctx context.Context, db database.DBTX, f ApprovedFilter) ([]ContentDraft, error) {
	where := []string{"d.status = 'approved'"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.MemberID != "" {
		where = append(where, "d.member_id = "+arg(f.MemberID))
	} else {
		where = append(where, "d.subject_id = "+arg(f.SubjectID), "d.member_id IS NULL")
	}
	if f.Kind != "" {
		where = append(where, "d.kind = "+arg(f.Kind))
	}
	if f.Locale != "" {
		where = append(where, "d.locale = "+arg(f.Locale))
	}
	rows, err := db.Query(ctx, `SELECT DISTINCT ON (d.group_id) d.id, d.kind, d.subject_id, d.locale, d.body, d.generator,
		d.prompt_version, d.status, d.version, d.created_at, d.group_id, d.member_id, d.occasion, d.findings, d.fallback,
		d.reason, d.decided_by, d.decided_at FROM content_drafts d
		WHERE `+strings.Join(where, " AND ")+` ORDER BY d.group_id, d.version DESC`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ContentDraft, error) {
		var d ContentDraft
		err := r.Scan(&d.ID, &d.Kind, &d.SubjectID, &d.Locale, &d.Body, &d.Generator,
			&d.PromptVersion, &d.Status, &d.Version, &d.CreatedAt, &d.GroupID, &d.MemberID, &d.Occasion, &d.Findings, &d.Fallback,
			&d.Reason, &d.DecidedBy, &d.DecidedAt)
		return d, err
	})
}
