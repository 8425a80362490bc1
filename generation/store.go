package generation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/storage"
)

// Review states.
const (
	StatusDraft    = "draft"
	StatusApproved = "approved"
	StatusRejected = "rejected"
	// StatusWithdrawn is approved content taken out of service.
	StatusWithdrawn = "withdrawn"
	// StatusSuperseded is approved content replaced by an approved edit of it.
	StatusSuperseded = "superseded"
)

// Statuses are the review states, in the order a draft goes through them.
var Statuses = []string{StatusDraft, StatusApproved, StatusRejected, StatusWithdrawn, StatusSuperseded}

// Errors of the review workflow.
var (
	ErrNotFound       = belong.New(belong.ENOTFOUND, "draft_not_found", "draft not found")
	ErrState          = belong.New(belong.ECONFLICT, "draft_not_reviewable", "only the latest version of a draft still awaiting review can be decided or edited")
	ErrReasonRequired = belong.New(belong.EINVALID, "reason_required", "a rejection needs a reason")
	ErrNotApproved    = belong.New(belong.ECONFLICT, "draft_not_approved", "only approved content can be withdrawn")
	ErrBlocked        = belong.New(belong.EUNPROCESSABLE, "draft_blocked", "the draft has blocking guardrail findings: edit it, or an admin overrides them with a reason")
	ErrNotEditable    = belong.New(belong.ECONFLICT, "draft_not_editable", "only the latest version of a draft, awaiting review or approved, can be edited")
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

// draftOf maps a stored draft row to a Draft; findings are never nil.
func draftOf(r storage.ContentDraft) (Draft, error) {
	d := Draft{ID: r.ID, GroupID: r.GroupID, Version: int(r.Version), Kind: r.Kind, SubjectID: r.SubjectID,
		Occasion: r.Occasion, Locale: r.Locale, Generator: r.Generator, PromptVersion: r.PromptVersion,
		Fallback: r.Fallback, Status: r.Status, Reason: r.Reason, DecidedBy: r.DecidedBy, DecidedAt: r.DecidedAt,
		CreatedAt: r.CreatedAt}
	if r.MemberID != nil {
		d.MemberID = *r.MemberID
	}
	if err := unmarshalJSON(r.Body, &d.Body); err != nil {
		return Draft{}, fmt.Errorf("draft %d body: %w", r.ID, err)
	}
	if err := unmarshalJSON(r.Findings, &d.Findings); err != nil {
		return Draft{}, fmt.Errorf("draft %d findings: %w", r.ID, err)
	}
	if d.Findings == nil {
		d.Findings = []Finding{}
	}
	for i, f := range d.Findings {
		if f.Severity == "" { // stored before findings had severities
			d.Findings[i].Severity = severityOf(d.Kind, f.Rule)
		}
	}
	return d, nil
}

// draftsOf maps stored draft rows to Drafts.
func draftsOf[R any](rows []R, row func(R) storage.ContentDraft) ([]Draft, error) {
	out := make([]Draft, 0, len(rows))
	for _, r := range rows {
		d, err := draftOf(row(r))
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// marshalJSON encodes v for a jsonb column the way pgx would: nil maps and slices
// are SQL NULL.
func marshalJSON(v any) (json.RawMessage, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() == reflect.Map || rv.Kind() == reflect.Slice) && rv.IsNil() {
		return nil, nil
	}
	return json.Marshal(v)
}

// unmarshalJSON decodes a jsonb column; NULL leaves v as it is.
func unmarshalJSON(raw json.RawMessage, v any) error {
	if raw == nil {
		return nil
	}
	return json.Unmarshal(raw, v)
}

func audit(ctx context.Context, q *storage.Queries, id int64, action, actor, reason string, changes map[string]any) error {
	if changes == nil {
		changes = map[string]any{}
	}
	raw, err := json.Marshal(changes)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	if err := q.CreateDraftReview(ctx, storage.CreateDraftReviewParams{DraftID: id, Action: action, Actor: actor,
		Reason: reason, Changes: raw}); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// insertDraft stores d's content as version of group (0 for a new group) and fills in
// its id and creation time.
func insertDraft(ctx context.Context, q *storage.Queries, d *Draft, group int64, version int) error {
	var member *string
	if d.MemberID != "" {
		member = &d.MemberID
	}
	body, err := marshalJSON(d.Body)
	if err != nil {
		return err
	}
	findings, err := marshalJSON(d.Findings)
	if err != nil {
		return err
	}
	row, err := q.CreateDraft(ctx, storage.CreateDraftParams{Kind: d.Kind, SubjectID: d.SubjectID, MemberID: member,
		Occasion: d.Occasion, Locale: d.Locale, Body: body, Generator: d.Generator, PromptVersion: d.PromptVersion,
		Fallback: d.Fallback, Findings: findings, GroupID: group, Version: int32(version)})
	if err != nil {
		return err
	}
	d.ID, d.CreatedAt = row.ID, row.CreatedAt
	return nil
}

// Drafting composes new drafts: it generates in the brand's voice and tone, falls back
// to the template generator when the configured one fails (unless NoFallback), and
// runs the brand's guardrails.
type Drafting struct {
	Generator Generator
	// Brand is the brand's settings in force (CurrentBrand).
	Brand Brand
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
	r.Voice, r.Tone = dr.Brand.Voice, dr.Brand.Tone
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
		Findings: dr.Brand.Guardrails().Check(r.Kind, body, otherNames...), Status: StatusDraft, Version: 1}, nil
}

// Reviewed reports whether d may skip review: written by the reviewed templates (not
// as a fallback) with no guardrail findings.
func (d Draft) Reviewed() bool {
	return d.Generator == Template{}.Name() && !d.Fallback && len(d.Findings) == 0
}

// Store writes a composed draft as the first version of a new group, with its audit
// row, and fills in its id and creation time.
func Store(ctx context.Context, db database.DBTX, d *Draft, actor string) error {
	return database.InTx(ctx, db, func(tx pgx.Tx) error {
		q := storage.New(tx)
		if err := insertDraft(ctx, q, d, 0, 1); err != nil {
			return fmt.Errorf("store draft: %w", err)
		}
		d.GroupID = d.ID
		if err := q.SetDraftGroup(ctx, d.ID); err != nil {
			return err
		}
		return audit(ctx, q, d.ID, "created", actor, "", map[string]any{"generator": d.Generator, "fallback": d.Fallback})
	})
}

// CommunitiesToDraft lists a community_profile request in each locale for every
// community of the current run that has none yet.
func CommunitiesToDraft(ctx context.Context, db database.DBTX, locales []string) ([]Request, error) {
	rows, err := storage.New(db).CommunitiesToDraft(ctx, storage.CommunitiesToDraftParams{Locales: locales, Kind: KindCommunityProfile})
	if err != nil {
		return nil, fmt.Errorf("find communities to draft: %w", err)
	}
	list := make([]Request, 0, len(rows))
	for _, r := range rows {
		var facets []struct{ Facet, Label string }
		if err := json.Unmarshal(r.Facets, &facets); err != nil {
			return nil, fmt.Errorf("community %s facets: %w", r.ID, err)
		}
		f := make(map[string]string, len(facets))
		for _, x := range facets {
			f[x.Facet] = x.Label
		}
		list = append(list, Request{Kind: KindCommunityProfile, Locale: r.Locale,
			Community: CommunityFacts{ID: r.ID, Name: r.Name, Labels: r.Labels, Size: int(r.Size), Facets: f}})
	}
	return list, nil
}

// StoreOnce stores a composed draft unless its subject already has content of its
// kind and occasion in its locale (a retried or concurrent job: a community's profile,
// a challenge's badge), and reports whether it stored it. The check and the insert
// hold a transaction-scoped lock on the subject.
func StoreOnce(ctx context.Context, db database.DBTX, d *Draft, actor string) (bool, error) {
	stored := false
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		q := storage.New(tx)
		if err := q.LockDraftSubject(ctx, d.Kind+"|"+d.SubjectID+"|"+d.Occasion+"|"+d.Locale); err != nil {
			return fmt.Errorf("lock %s subject: %w", d.Kind, err)
		}
		exists, err := Exists(ctx, tx, d.Kind, d.SubjectID, d.Occasion, d.Locale)
		if err != nil {
			return err
		}
		if exists {
			return nil
		}
		stored = true
		return Store(ctx, tx, d, actor)
	})
	return stored, err
}

// Exists reports whether subject has content of kind and occasion in locale, in any
// state.
func Exists(ctx context.Context, db database.DBTX, kind, subject, occasion, locale string) (bool, error) {
	ok, err := storage.New(db).DraftExists(ctx, storage.DraftExistsParams{Kind: kind, SubjectID: subject, Occasion: occasion, Locale: locale})
	if err != nil {
		return false, fmt.Errorf("find %s of %s: %w", kind, subject, err)
	}
	return ok, nil
}

// Get returns one draft version.
func Get(ctx context.Context, db database.DBTX, id int64) (Draft, error) {
	row, err := storage.New(db).GetDraft(ctx, id)
	if err != nil {
		return Draft{}, fmt.Errorf("get draft: %w", storage.Translate(err, ErrNotFound))
	}
	d, err := draftOf(row.ContentDraft)
	if err != nil {
		return Draft{}, fmt.Errorf("get draft: %w", err)
	}
	return d, nil
}

// Filter narrows the review queue; empty fields match everything.
type Filter struct {
	Kind, Status, Community, Locale string
	// Occasion narrows badges and recognitions ("challenge:7", "streak").
	Occasion string
	// Search finds drafts whose copy contains it, case-insensitively.
	Search string
	// Limit (100 when zero) and Offset page through the queue.
	Limit, Offset int
}

// Count is how many drafts (latest versions) have a kind, status and locale.
type Count struct {
	Kind, Status, Locale string
	N                    int
}

// Counts counts the latest versions by kind, status and locale, among those of
// f.Community matching f.Search (the other filters are left to the caller).
func Counts(ctx context.Context, db database.DBTX, f Filter) ([]Count, error) {
	rows, err := storage.New(db).QueueCounts(ctx, storage.QueueCountsParams{SubjectID: f.Community, Q: f.Search})
	if err != nil {
		return nil, fmt.Errorf("queue counts: %w", storage.Translate(err, nil))
	}
	out := make([]Count, len(rows))
	for i, r := range rows {
		out[i] = Count{Kind: r.Kind, Status: r.Status, Locale: r.Locale, N: int(r.N)}
	}
	return out, nil
}

// Queue lists the latest version of each draft group, the locales of one piece of
// content together, the newest piece first.
func Queue(ctx context.Context, db database.DBTX, f Filter) ([]Draft, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := storage.New(db).QueueDrafts(ctx, storage.QueueDraftsParams{Kind: f.Kind, Status: f.Status,
		SubjectID: f.Community, Occasion: f.Occasion, Locale: f.Locale, Q: f.Search, Lim: int64(limit), Off: int64(max(f.Offset, 0))})
	if err != nil {
		return nil, fmt.Errorf("review queue: %w", err)
	}
	out, err := draftsOf(rows, func(r storage.QueueDraftsRow) storage.ContentDraft { return r.ContentDraft })
	if err != nil {
		return nil, fmt.Errorf("review queue: %w", err)
	}
	return out, nil
}

// latestForUpdate locks a draft version and checks it is its group's latest awaiting
// review.
func latestForUpdate(ctx context.Context, q *storage.Queries, id int64) (Draft, error) {
	d, err := latestVersion(ctx, q, id)
	if err == nil && d.Status != StatusDraft {
		err = ErrState
	}
	return d, err
}

// latestVersion locks a draft version and checks it is its group's latest.
func latestVersion(ctx context.Context, q *storage.Queries, id int64) (Draft, error) {
	row, err := q.GetDraftForUpdate(ctx, id)
	if err != nil {
		return Draft{}, storage.Translate(err, ErrNotFound)
	}
	d, err := draftOf(row.ContentDraft)
	if err != nil {
		return Draft{}, err
	}
	latest, err := q.LatestDraftVersion(ctx, d.GroupID)
	if err != nil {
		return Draft{}, err
	}
	if d.Version != int(latest) {
		return Draft{}, ErrState
	}
	return d, nil
}

// Decision is a reviewer's decision on drafts.
type Decision struct {
	Approve bool
	// Override approves drafts despite blocking findings; it needs a reason, and only
	// admins may ask for it (the API and the console check).
	Override bool
	Reason   string
	Actor    string
}

// Decided is the outcome of a decision: the versions decided, and the approved ones
// they superseded (no longer served).
type Decided struct {
	Drafts, Superseded []Draft
}

// Decide approves or rejects draft versions in one transaction: all of them or none.
// A rejection needs a reason; a draft with blocking findings is approved only with an
// override, which needs a reason and is audited with the rules it overrode. Approving
// an edit of approved content supersedes the version before it.
func Decide(ctx context.Context, db database.DBTX, ids []int64, dec Decision) (Decided, error) {
	if (!dec.Approve || dec.Override) && dec.Reason == "" {
		return Decided{}, ErrReasonRequired
	}
	status, action := StatusApproved, "approved"
	if !dec.Approve {
		status, action = StatusRejected, "rejected"
	}
	var out Decided
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		q := storage.New(tx)
		for _, id := range ids {
			d, err := latestForUpdate(ctx, q, id)
			if err != nil {
				return fmt.Errorf("draft %d: %w", id, err)
			}
			var changes map[string]any
			if blocking := Blocking(d.Findings); dec.Approve && len(blocking) > 0 {
				if !dec.Override {
					return ErrBlocked.With("draft %d has blocking findings (%s): edit it, or an admin overrides them with a reason", id, rules(blocking))
				}
				changes = map[string]any{"override": rules(blocking)}
			}
			if err := q.DecideDraft(ctx, storage.DecideDraftParams{ID: id, Status: status, Reason: dec.Reason, DecidedBy: dec.Actor}); err != nil {
				return err
			}
			if err := audit(ctx, q, id, action, dec.Actor, dec.Reason, changes); err != nil {
				return err
			}
			d.Status, d.Reason, d.DecidedBy = status, dec.Reason, dec.Actor
			out.Drafts = append(out.Drafts, d)
			if !dec.Approve {
				continue
			}
			old, err := q.SupersedeGroup(ctx, storage.SupersedeGroupParams{GroupID: d.GroupID, ID: id, Version: int32(d.Version), DecidedBy: dec.Actor})
			if err != nil {
				return err
			}
			for _, o := range old {
				sd, err := Get(ctx, tx, o)
				if err != nil {
					return err
				}
				if err := audit(ctx, q, o, "superseded", dec.Actor, sd.Reason, nil); err != nil {
					return err
				}
				out.Superseded = append(out.Superseded, sd)
			}
		}
		return nil
	})
	if err != nil {
		return Decided{}, err
	}
	return out, nil
}

// rules names findings' rules, each once, in order: "personal_data, markup".
func rules(fs []Finding) string {
	var names []string
	for _, f := range fs {
		if !slices.Contains(names, f.Rule) {
			names = append(names, f.Rule)
		}
	}
	return strings.Join(names, ", ")
}

// maxReason bounds a withdrawal's reason: it travels in every content.withdrawn.
const maxReason = 2000

// Withdraw takes an approved version out of service, with the reason, and audits it.
func Withdraw(ctx context.Context, tx pgx.Tx, id int64, reason, actor string) (Draft, error) {
	if reason == "" {
		return Draft{}, belong.New(belong.EINVALID, "reason_required", "a withdrawal needs a reason")
	}
	if len(reason) > maxReason {
		return Draft{}, belong.New(belong.EINVALID, "invalid_reason", fmt.Sprintf("a reason is at most %d bytes", maxReason))
	}
	q := storage.New(tx)
	row, err := q.GetDraftForUpdate(ctx, id)
	if err != nil {
		return Draft{}, fmt.Errorf("draft %d: %w", id, storage.Translate(err, ErrNotFound))
	}
	d, err := draftOf(row.ContentDraft)
	if err != nil {
		return Draft{}, err
	}
	if d.Status != StatusApproved {
		return Draft{}, ErrNotApproved
	}
	if err := q.DecideDraft(ctx, storage.DecideDraftParams{ID: id, Status: StatusWithdrawn, Reason: reason, DecidedBy: actor}); err != nil {
		return Draft{}, fmt.Errorf("withdraw draft %d: %w", id, storage.Translate(err, nil))
	}
	if err := audit(ctx, q, id, "withdrawn", actor, reason, nil); err != nil {
		return Draft{}, err
	}
	d.Status, d.Reason, d.DecidedBy = StatusWithdrawn, reason, actor
	return d, nil
}

// Edit stores a reviewer's change as a new version awaiting review (guardrails run
// again) and audits what changed. The latest version is edited, awaiting review or
// approved: an approved one stays served until its edit is approved in its place.
func Edit(ctx context.Context, db database.DBTX, id int64, body Body, g Guardrails, actor string) (Draft, error) {
	var next Draft
	err := database.InTx(ctx, db, func(tx pgx.Tx) error {
		q := storage.New(tx)
		d, err := latestVersion(ctx, q, id)
		if err == nil && d.Status != StatusDraft && d.Status != StatusApproved {
			err = ErrNotEditable
		}
		if errors.Is(err, ErrState) {
			err = ErrNotEditable
		}
		if err != nil {
			return err
		}
		if err := ValidateBody(d.Kind, body); err != nil {
			return err
		}
		if d.Kind == KindRecognition && body["occasion"] != d.Occasion {
			return ErrBody.With("a recognition keeps its occasion (%s)", d.Occasion)
		}
		changes := map[string]any{}
		for k, v := range body {
			if old, ok := d.Body[k]; !ok || !reflect.DeepEqual(normalizeJSON(old), normalizeJSON(v)) {
				changes[k] = map[string]any{"from": d.Body[k], "to": v}
			}
		}
		next = d
		next.Body, next.Version, next.Status, next.Reason, next.DecidedBy, next.DecidedAt = body, d.Version+1, StatusDraft, "", "", nil
		next.Findings = g.Check(d.Kind, body)
		if err := insertDraft(ctx, q, &next, d.GroupID, next.Version); err != nil {
			return fmt.Errorf("store edit: %w", err)
		}
		return audit(ctx, q, next.ID, "edited", actor, "", changes)
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
	rows, err := storage.New(db).DraftHistory(ctx, groupID)
	if err != nil {
		return nil, fmt.Errorf("draft history: %w", err)
	}
	out := make([]Review, 0, len(rows))
	for _, r := range rows {
		rv := Review{DraftID: r.DraftID, Action: r.Action, Actor: r.Actor, Reason: r.Reason, At: r.At}
		if err := unmarshalJSON(r.Changes, &rv.Changes); err != nil {
			return nil, fmt.Errorf("draft history: %w", err)
		}
		out = append(out, rv)
	}
	return out, nil
}

// Approved returns the content members may see: for each draft group, its latest
// approved version. communityID or memberID (one of them) picks the subject; kind and
// locale narrow it when not empty. The query names only the filters in use, so the
// subject indexes serve it.
func Approved(ctx context.Context, db database.DBTX, communityID, memberID, kind, locale string) ([]Draft, error) {
	rows, err := storage.ApprovedDrafts(ctx, db, storage.ApprovedFilter{SubjectID: communityID, MemberID: memberID,
		Kind: kind, Locale: locale})
	if err != nil {
		return nil, fmt.Errorf("approved content: %w", err)
	}
	out, err := draftsOf(rows, func(r storage.ContentDraft) storage.ContentDraft { return r })
	if err != nil {
		return nil, fmt.Errorf("approved content: %w", err)
	}
	return out, nil
}

// ApprovedOne returns one approved piece of a kind for a community, preferring the
// given locale and then the newest; nil when there is none.
func ApprovedOne(ctx context.Context, db database.DBTX, communityID, kind, locale string) (*Draft, error) {
	row, err := storage.New(db).ApprovedCommunityDraft(ctx, storage.ApprovedCommunityDraftParams{Kind: kind,
		SubjectID: communityID, Locale: locale})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("approved content: %w", err)
	}
	d, err := draftOf(row.ContentDraft)
	if err != nil {
		return nil, fmt.Errorf("approved content: %w", err)
	}
	return &d, nil
}
