package generation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
)

// Review states.
const (
	StatusDraft    = "draft"
	StatusApproved = "approved"
	StatusRejected = "rejected"
)

// Errors of the review workflow.
var (
	ErrNotFound       = belong.New(belong.ENOTFOUND, "draft_not_found", "draft not found")
	ErrState          = belong.New(belong.ECONFLICT, "draft_not_reviewable", "only the latest version of a draft still awaiting review can be decided or edited")
	ErrReasonRequired = belong.New(belong.EINVALID, "reason_required", "a rejection needs a reason")
)

// Draft is one version of a piece of generated content.
type Draft struct {
	ID            int64      `json:"id,string"`
	GroupID       int64      `json:"group_id,string"`
	Version       int        `json:"version"`
	Kind          string     `json:"kind"`
	SubjectID     string     `json:"subject_id"`
	MemberID      string     `json:"member_id,omitempty"`
	Occasion      string     `json:"occasion,omitempty"`
	Locale        string     `json:"locale"`
	Body          Body       `json:"body"`
	Generator     string     `json:"generator"`
	PromptVersion string     `json:"prompt_version"`
	Fallback      bool       `json:"fallback"`
	Findings      []Finding  `json:"findings"`
	Status        string     `json:"status"`
	Reason        string     `json:"reason,omitempty"`
	DecidedBy     string     `json:"decided_by,omitempty"`
	DecidedAt     *time.Time `json:"decided_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
}

// Review is one audited step of a draft's life.
type Review struct {
	DraftID int64          `json:"draft_id,string"`
	Action  string         `json:"action"`
	Actor   string         `json:"actor"`
	Reason  string         `json:"reason,omitempty"`
	Changes map[string]any `json:"changes,omitempty"`
	At      time.Time      `json:"at"`
}

const draftColumns = `d.id, d.group_id, d.version, d.kind, d.subject_id, coalesce(d.member_id, ''), d.occasion, d.locale,
	d.body, d.generator, d.prompt_version, d.fallback, d.findings, d.status, d.reason, d.decided_by, d.decided_at, d.created_at`

func scanDraft(row pgx.CollectableRow) (Draft, error) {
	var d Draft
	err := row.Scan(&d.ID, &d.GroupID, &d.Version, &d.Kind, &d.SubjectID, &d.MemberID, &d.Occasion, &d.Locale,
		&d.Body, &d.Generator, &d.PromptVersion, &d.Fallback, &d.Findings, &d.Status, &d.Reason, &d.DecidedBy, &d.DecidedAt, &d.CreatedAt)
	if d.Findings == nil {
		d.Findings = []Finding{}
	}
	return d, err
}

func audit(ctx context.Context, tx pgx.Tx, id int64, action, actor, reason string, changes map[string]any) error {
	if changes == nil {
		changes = map[string]any{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO content_reviews (draft_id, action, actor, reason, changes) VALUES ($1, $2, $3, $4, $5)`,
		id, action, actor, reason, changes)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// Drafting composes new drafts: it generates, falls back to the template generator
// when the configured one fails (unless NoFallback), and runs the guardrails.
type Drafting struct {
	Generator  Generator
	Guardrails Guardrails
	// NoFallback makes a failing generator an error instead of a template draft: jobs
	// set it, so a model outage is retried with backoff and, if it lasts, parked with
	// its error for an operator rather than papered over.
	NoFallback bool
	Logger     *slog.Logger
}

// Compose generates one draft and runs the guardrails; it touches no database, so a
// model call never runs inside a transaction. memberID and otherNames (the member's
// names beyond the first) are for recognitions.
func (dr Drafting) Compose(ctx context.Context, r Request, memberID string, otherNames []string) (Draft, error) {
	if err := r.Validate(); err != nil {
		return Draft{}, err
	}
	gen := dr.Generator
	if gen == nil {
		gen = Template{}
	}
	body, err := gen.Generate(ctx, r)
	fallback := false
	if err != nil {
		if _, isTemplate := gen.(Template); isTemplate || dr.NoFallback {
			return Draft{}, fmt.Errorf("generate %s with %s: %w", r.Kind, gen.Name(), err)
		}
		if dr.Logger != nil {
			dr.Logger.WarnContext(ctx, "generator failed; using templates", slog.String("generator", gen.Name()),
				slog.String("kind", r.Kind), slog.String("error", err.Error()))
		}
		gen, fallback = Template{}, true
		if body, err = gen.Generate(ctx, r); err != nil {
			return Draft{}, err
		}
	}
	return Draft{Kind: r.Kind, SubjectID: r.Community.ID, MemberID: memberID, Occasion: r.Occasion, Locale: r.Locale,
		Body: body, Generator: gen.Name(), PromptVersion: gen.PromptVersion(), Fallback: fallback,
		Findings: dr.Guardrails.Check(r.Kind, body, otherNames...), Status: StatusDraft, Version: 1}, nil
}

// Reviewed reports whether d may skip review: written by the reviewed templates (not
// as a fallback) with no guardrail findings.
func (d Draft) Reviewed() bool {
	return d.Generator == Template{}.Name() && !d.Fallback && len(d.Findings) == 0
}

// Draft composes and stores one draft (Compose, then Store).
func (dr Drafting) Draft(ctx context.Context, db database.DBTX, r Request, memberID string, otherNames []string, actor string) (Draft, error) {
	d, err := dr.Compose(ctx, r, memberID, otherNames)
	if err != nil {
		return Draft{}, err
	}
	if err := Store(ctx, db, &d, actor); err != nil {
		return Draft{}, err
	}
	return d, nil
}

// Store writes a composed draft as the first version of a new group, with its audit
// row, and fills in its id and creation time.
func Store(ctx context.Context, db database.DBTX, d *Draft, actor string) error {
	return database.InTx(ctx, db, func(tx pgx.Tx) error {
		var member *string
		if d.MemberID != "" {
			member = &d.MemberID
		}
		if err := tx.QueryRow(ctx, `INSERT INTO content_drafts (kind, subject_id, member_id, occasion, locale, body, generator,
				prompt_version, fallback, findings, group_id, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 1) RETURNING id, created_at`,
			d.Kind, d.SubjectID, member, d.Occasion, d.Locale, d.Body, d.Generator, d.PromptVersion, d.Fallback, d.Findings).
			Scan(&d.ID, &d.CreatedAt); err != nil {
			return fmt.Errorf("store draft: %w", err)
		}
		d.GroupID = d.ID
		if _, err := tx.Exec(ctx, "UPDATE content_drafts SET group_id = id WHERE id = $1", d.ID); err != nil {
			return err
		}
		return audit(ctx, tx, d.ID, "created", actor, "", map[string]any{"generator": d.Generator, "fallback": d.Fallback})
	})
}

// CommunitiesToDraft lists a community_profile request in each locale for every
// community of the current run that has none yet.
func CommunitiesToDraft(ctx context.Context, db database.DBTX, locales []string) ([]Request, error) {
	rows, err := db.Query(ctx, `SELECT c.id, c.name, c.labels, c.size, l.locale
		FROM current_run r JOIN communities c ON c.run_id = r.run_id
		CROSS JOIN unnest($1::text[]) AS l(locale)
		WHERE NOT EXISTS (SELECT 1 FROM content_drafts d
			WHERE d.kind = $2 AND d.subject_id = c.id AND d.locale = l.locale)
		ORDER BY c.id, l.locale`, locales, KindCommunityProfile)
	if err != nil {
		return nil, fmt.Errorf("find communities to draft: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Request, error) {
		q := Request{Kind: KindCommunityProfile}
		err := r.Scan(&q.Community.ID, &q.Community.Name, &q.Community.Labels, &q.Community.Size, &q.Locale)
		return q, err
	})
	if err != nil {
		return nil, fmt.Errorf("find communities to draft: %w", err)
	}
	return list, nil
}

// StoreCommunityProfile stores a composed community profile unless the community
// already has one in that locale (a retried or concurrent job), and reports whether it
// stored it. The check and the insert hold a transaction-scoped lock on the subject.
func StoreCommunityProfile(ctx context.Context, db database.DBTX, d *Draft, actor string) (bool, error) {
	stored := false
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
			d.Kind+"|"+d.SubjectID+"|"+d.Locale); err != nil {
			return fmt.Errorf("lock community profile: %w", err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM content_drafts WHERE kind = $1 AND subject_id = $2 AND locale = $3)`,
			d.Kind, d.SubjectID, d.Locale).Scan(&exists); err != nil {
			return fmt.Errorf("find community profile: %w", err)
		}
		if exists {
			return nil
		}
		stored = true
		return Store(ctx, tx, d, actor)
	})
	return stored, err
}

// Get returns one draft version.
func Get(ctx context.Context, db database.DBTX, id int64) (Draft, error) {
	rows, err := db.Query(ctx, `SELECT `+draftColumns+` FROM content_drafts d WHERE d.id = $1`, id)
	if err != nil {
		return Draft{}, fmt.Errorf("get draft: %w", err)
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDraft)
	if errors.Is(err, pgx.ErrNoRows) {
		return Draft{}, ErrNotFound
	}
	if err != nil {
		return Draft{}, fmt.Errorf("get draft: %w", err)
	}
	return d, nil
}

// Filter narrows the review queue; empty fields match everything.
type Filter struct {
	Kind, Status, Community string
	Limit                   int
}

// Queue lists the latest version of each draft group, newest first.
func Queue(ctx context.Context, db database.DBTX, f Filter) ([]Draft, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.Query(ctx, `SELECT `+draftColumns+` FROM content_drafts d
		WHERE d.version = (SELECT max(version) FROM content_drafts g WHERE g.group_id = d.group_id)
		  AND ($1 = '' OR d.kind = $1) AND ($2 = '' OR d.status = $2) AND ($3 = '' OR d.subject_id = $3)
		ORDER BY d.id DESC LIMIT $4`, f.Kind, f.Status, f.Community, limit)
	if err != nil {
		return nil, fmt.Errorf("review queue: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanDraft)
	if err != nil {
		return nil, fmt.Errorf("review queue: %w", err)
	}
	return out, nil
}

// latestForUpdate locks a draft version and checks it is its group's latest awaiting
// review.
func latestForUpdate(ctx context.Context, tx pgx.Tx, id int64) (Draft, error) {
	rows, err := tx.Query(ctx, `SELECT `+draftColumns+` FROM content_drafts d WHERE d.id = $1 FOR UPDATE`, id)
	if err != nil {
		return Draft{}, err
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDraft)
	if errors.Is(err, pgx.ErrNoRows) {
		return Draft{}, ErrNotFound
	}
	if err != nil {
		return Draft{}, err
	}
	var latest int
	if err := tx.QueryRow(ctx, "SELECT max(version) FROM content_drafts WHERE group_id = $1", d.GroupID).Scan(&latest); err != nil {
		return Draft{}, err
	}
	if d.Version != latest || d.Status != StatusDraft {
		return Draft{}, ErrState
	}
	return d, nil
}

// Decide approves or rejects draft versions in one transaction: all of them or none.
// A rejection needs a reason.
func Decide(ctx context.Context, db database.DBTX, ids []int64, approve bool, reason, actor string) error {
	if !approve && reason == "" {
		return ErrReasonRequired
	}
	status, action := StatusApproved, "approved"
	if !approve {
		status, action = StatusRejected, "rejected"
	}
	return database.InTx(ctx, db, func(tx pgx.Tx) error {
		for _, id := range ids {
			if _, err := latestForUpdate(ctx, tx, id); err != nil {
				return fmt.Errorf("draft %d: %w", id, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE content_drafts SET status = $2, reason = $3, decided_by = $4, decided_at = now()
				WHERE id = $1`, id, status, reason, actor); err != nil {
				return err
			}
			if err := audit(ctx, tx, id, action, actor, reason, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// Edit stores a reviewer's change as a new version awaiting review (guardrails run
// again) and audits what changed. Only the latest version awaiting review is edited.
func Edit(ctx context.Context, db database.DBTX, id int64, body Body, g Guardrails, actor string) (Draft, error) {
	var next Draft
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		d, err := latestForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		changes := map[string]any{}
		for k, v := range body {
			if old, ok := d.Body[k]; !ok || !reflect.DeepEqual(normalizeJSON(old), normalizeJSON(v)) {
				changes[k] = map[string]any{"from": d.Body[k], "to": v}
			}
		}
		for k := range d.Body {
			if _, ok := body[k]; !ok {
				return fmt.Errorf("edit: field %q is missing", k)
			}
		}
		next = d
		next.Body, next.Version, next.Status, next.Reason, next.DecidedBy, next.DecidedAt = body, d.Version+1, StatusDraft, "", "", nil
		next.Findings = g.Check(d.Kind, body)
		var member *string
		if d.MemberID != "" {
			member = &d.MemberID
		}
		if err := tx.QueryRow(ctx, `INSERT INTO content_drafts (kind, subject_id, member_id, occasion, locale, body, generator,
				prompt_version, fallback, findings, group_id, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id, created_at`,
			d.Kind, d.SubjectID, member, d.Occasion, d.Locale, body, d.Generator, d.PromptVersion, d.Fallback, next.Findings,
			d.GroupID, next.Version).Scan(&next.ID, &next.CreatedAt); err != nil {
			return fmt.Errorf("store edit: %w", err)
		}
		return audit(ctx, tx, next.ID, "edited", actor, "", changes)
	})
	if err != nil {
		return Draft{}, err
	}
	return next, nil
}

func normalizeJSON(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// History returns a draft group's audit trail, oldest first.
func History(ctx context.Context, db database.DBTX, groupID int64) ([]Review, error) {
	rows, err := db.Query(ctx, `SELECT r.draft_id, r.action, r.actor, r.reason, r.changes, r.at
		FROM content_reviews r JOIN content_drafts d ON d.id = r.draft_id
		WHERE d.group_id = $1 ORDER BY r.id`, groupID)
	if err != nil {
		return nil, fmt.Errorf("draft history: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Review, error) {
		var rv Review
		err := r.Scan(&rv.DraftID, &rv.Action, &rv.Actor, &rv.Reason, &rv.Changes, &rv.At)
		return rv, err
	})
	if err != nil {
		return nil, fmt.Errorf("draft history: %w", err)
	}
	return out, nil
}

// Approved returns the content members may see: for each draft group, its latest
// approved version. communityID or memberID (one of them) picks the subject; kind and
// locale narrow it when not empty. The query names only the filters in use, so the
// subject indexes serve it.
func Approved(ctx context.Context, db database.DBTX, communityID, memberID, kind, locale string) ([]Draft, error) {
	where := []string{"d.status = 'approved'"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if memberID != "" {
		where = append(where, "d.member_id = "+arg(memberID))
	} else {
		where = append(where, "d.subject_id = "+arg(communityID), "d.member_id IS NULL")
	}
	if kind != "" {
		where = append(where, "d.kind = "+arg(kind))
	}
	if locale != "" {
		where = append(where, "d.locale = "+arg(locale))
	}
	rows, err := db.Query(ctx, `SELECT DISTINCT ON (d.group_id) `+draftColumns+` FROM content_drafts d
		WHERE `+strings.Join(where, " AND ")+` ORDER BY d.group_id, d.version DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("approved content: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanDraft)
	if err != nil {
		return nil, fmt.Errorf("approved content: %w", err)
	}
	return out, nil
}

// ApprovedOne returns one approved piece of a kind for a community, preferring the
// given locale and then the newest; nil when there is none.
func ApprovedOne(ctx context.Context, db database.DBTX, communityID, kind, locale string) (*Draft, error) {
	rows, err := db.Query(ctx, `SELECT `+draftColumns+` FROM content_drafts d
		WHERE d.status = 'approved' AND d.kind = $2 AND d.subject_id = $1 AND d.member_id IS NULL
		ORDER BY (d.locale = $3) DESC, d.id DESC LIMIT 1`, communityID, kind, locale)
	if err != nil {
		return nil, fmt.Errorf("approved content: %w", err)
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDraft)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("approved content: %w", err)
	}
	return &d, nil
}
