package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong/changes"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/generation"
	"github.com/belong-loyalty/belong/matching"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/moments"
	"github.com/belong-loyalty/belong/webhooks"
)

// DraftRecognition drafts the recognition of one recorded milestone and links it;
// a draft by the reviewed templates with no guardrail findings is approved at once,
// anything else waits for review. The first recognition of an occasion in a community
// also queues the community's badge for it. It does nothing, successfully, when there is
// nothing to say: the member was erased, has withdrawn consent, has no first name or
// no community yet, or the milestone already has its draft (a retried job).
func (s *Service) DraftRecognition(ctx context.Context, memberID, key string) error {
	sub, err := moments.RecognitionSubject(ctx, s.DB, memberID, key)
	if errors.Is(err, moments.ErrNoMilestone) {
		return nil
	}
	if err != nil {
		return err
	}
	names := strings.Fields(sub.Name)
	if sub.Drafted || !sub.Consent || sub.Community == nil || len(names) == 0 {
		return nil
	}
	d, err := s.compose(ctx, generation.Request{Kind: generation.KindRecognition, Locale: recognitionLocale(sub.Locale),
		Community: *sub.Community, FirstName: names[0], Occasion: sub.Occasion, Detail: sub.Detail}, memberID, names[1:])
	if err != nil {
		return fmt.Errorf("draft recognition %s of %s: %w", key, memberID, err)
	}
	// The first recognition of its kind in a community asks for the community's
	// badge for the occasion (a challenge's is drafted when it is launched).
	var badge []DraftContentArgs
	if sub.Occasion != moments.OccasionChallenge {
		exists, err := generation.Exists(ctx, s.DB, generation.KindBadge, sub.Community.ID, sub.Occasion, d.Locale)
		if err != nil {
			return err
		}
		if !exists {
			badge = append(badge, DraftContentArgs{DraftRequest: DraftRequest{Kind: generation.KindBadge, CommunityID: sub.Community.ID,
				Occasion: sub.Occasion, Locale: d.Locale}, Actor: "generator", Once: true})
		}
	}
	var attached bool
	err = s.write(ctx, []string{changes.Member(memberID)}, func(tx pgx.Tx) error {
		var err error
		approve := d.Reviewed()
		attached, err = moments.AttachDraft(ctx, tx, memberID, key, &d, approve, "moments")
		if err != nil || !attached {
			return err
		}
		if _, err := enqueue(ctx, s.Queue, tx, badge); err != nil || !approve {
			return err
		}
		if _, err := enqueue(ctx, s.Queue, tx, []AnnounceRecognitionsArgs{{}}); err != nil {
			return err
		}
		return s.emit(ctx, tx, contentEvents(webhooks.ContentApproved, []generation.Draft{d}, ""))
	})
	if err != nil {
		return fmt.Errorf("store recognition %s of %s: %w", key, memberID, err)
	}
	if attached {
		s.logger().InfoContext(ctx, "recognition drafted", slog.String("key", key), slog.Int64("draft_id", d.ID),
			slog.String("status", d.Status))
	}
	return nil
}

// recognitionLocale is the member's language if the generators speak it, else English.
func recognitionLocale(locale string) string {
	l := members.Language(locale)
	for _, ok := range generation.Locales {
		if l == ok {
			return l
		}
	}
	return "en"
}

// DraftCommunity drafts one piece of content about a community in one locale and
// stores it for review. A community profile is drafted once per community and locale:
// if one exists (a retried or concurrent job), nothing is stored and stored is false.
func (s *Service) DraftCommunity(ctx context.Context, kind, communityID, locale, actor string) (d generation.Draft, stored bool, err error) {
	v, err := s.freshView(ctx)
	if err != nil {
		return d, false, err
	}
	c, mix, err := matching.Facts(ctx, s.DB, v, communityID)
	if err != nil {
		return d, false, err
	}
	d, err = s.compose(ctx, generation.Request{Kind: kind, Locale: locale, Community: generation.CommunityFacts{
		ID: c.ID, Name: c.Name, Labels: c.Labels, Size: c.Size, SkillMix: mix}}, "", nil)
	if err != nil {
		return d, false, err
	}
	if kind == generation.KindCommunityProfile {
		stored, err = generation.StoreOnce(ctx, s.DB, &d, actor)
		return d, stored, err
	}
	if err := generation.Store(ctx, s.DB, &d, actor); err != nil {
		return d, false, err
	}
	return d, true, nil
}

// QueueCommunityDrafts queues a community profile draft in each locale for every
// community of the current run that has none, and returns how many it queued (a draft
// already waiting in the queue is not queued twice).
func (s *Service) QueueCommunityDrafts(ctx context.Context) (int, error) {
	todo, err := generation.CommunitiesToDraft(ctx, s.DB, s.locales())
	if err != nil || len(todo) == 0 {
		return 0, err
	}
	jobs := make([]DraftCommunityArgs, len(todo))
	for i, r := range todo {
		jobs[i] = DraftCommunityArgs{ContentKind: r.Kind, CommunityID: r.Community.ID, Locale: r.Locale}
	}
	queued := 0
	err = database.InTx(ctx, s.DB, func(tx pgx.Tx) error {
		queued, err = enqueue(ctx, s.Queue, tx, jobs)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("queue community drafts: %w", err)
	}
	return queued, nil
}

// DraftCommunities drafts, here and now, a profile in each locale for every community
// of the current run that has none, one short transaction per draft (`belong generate`
// waits for them; the nightly pipeline queues them instead).
func (s *Service) DraftCommunities(ctx context.Context, locales []string) (int, error) {
	if len(locales) == 0 {
		locales = s.locales()
	}
	todo, err := generation.CommunitiesToDraft(ctx, s.DB, locales)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range todo {
		_, stored, err := s.DraftCommunity(ctx, r.Kind, r.Community.ID, r.Locale, "generator")
		if err != nil {
			return n, fmt.Errorf("draft community %s (%s): %w", r.Community.ID, r.Locale, err)
		}
		if stored {
			n++
		}
	}
	if n > 0 {
		s.logger().InfoContext(ctx, "community drafts written", slog.Int("drafts", n))
	}
	return n, nil
}
