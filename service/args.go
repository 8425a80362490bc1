package service

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// whileWaiting makes a periodic job unique only while one is waiting or running: the
// next run is never refused because the last one completed (River's default unique
// states include completed, which kept such a job out until the cleaner removed the
// finished row a day later, so a daily job ran every other day).
var whileWaiting = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
	rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}

// Queues. Drafting has its own so a burst of recognitions never waits behind the
// nightly pipeline, and the nightly pipeline never runs twice at once.
const (
	QueueDrafting = "drafting"
	QueueNightly  = "nightly"
	// QueueShards holds the nightly pipeline's embedding shards, which every worker
	// takes in parallel.
	QueueShards = "nightly_shards"
)

// The jobs the use cases queue. Each is idempotent: a retried job (after a crash, a
// timeout or a model outage) finds what its earlier attempt stored and stops there.

// DraftRecognitionArgs drafts the recognition of one milestone.
type DraftRecognitionArgs struct {
	MemberID string `json:"member_id"`
	Key      string `json:"key"`
}

// Kind implements river.JobArgs.
func (DraftRecognitionArgs) Kind() string { return "draft_recognition" }

// InsertOpts implements river.JobArgsWithInsertOpts: one pending job per milestone.
func (DraftRecognitionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueDrafting, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// DraftCommunityArgs drafts one piece of content about a community in one locale.
type DraftCommunityArgs struct {
	ContentKind string `json:"content_kind"`
	CommunityID string `json:"community_id"`
	Locale      string `json:"locale"`
}

// Kind implements river.JobArgs.
func (DraftCommunityArgs) Kind() string { return "draft_community" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (DraftCommunityArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueDrafting, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// NightlyArgs runs the nightly pipeline: embed changed members, cluster if anything
// changed, queue drafts for new communities.
type NightlyArgs struct{}

// Kind implements river.JobArgs.
func (NightlyArgs) Kind() string { return "nightly" }

// InsertOpts implements river.JobArgsWithInsertOpts: a clustering run is long, so a
// failed night is tried a few times, not for days.
func (NightlyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueNightly, MaxAttempts: 3, UniqueOpts: whileWaiting}
}

// EmbedShardArgs embeds one shard of a night's members (StartNightly).
type EmbedShardArgs struct {
	Night int64      `json:"night,string"`
	Shard embedShard `json:"shard"`
}

type embedShard struct {
	After string `json:"after"`
	Until string `json:"until"`
}

// Kind implements river.JobArgs.
func (EmbedShardArgs) Kind() string { return "embed_shard" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (EmbedShardArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueShards, MaxAttempts: 5}
}

// NightlyClusterArgs clusters and publishes once a night's shards are embedded.
type NightlyClusterArgs struct {
	Night int64 `json:"night,string"`
}

// Kind implements river.JobArgs.
func (NightlyClusterArgs) Kind() string { return "nightly_cluster" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (NightlyClusterArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueNightly, MaxAttempts: 3}
}

// AnniversariesArgs records the anniversaries of joining that came with the calendar.
type AnniversariesArgs struct{}

// Kind implements river.JobArgs.
func (AnniversariesArgs) Kind() string { return "anniversaries" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (AnniversariesArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: whileWaiting}
}

// SignalsArgs refreshes, hourly, the member signals that change with time rather
// than with the member's own writes (responsiveness to recognition).
type SignalsArgs struct{}

// Kind implements river.JobArgs.
func (SignalsArgs) Kind() string { return "signals" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (SignalsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: whileWaiting}
}

// RetentionArgs prunes what would otherwise grow forever.
type RetentionArgs struct{}

// Kind implements river.JobArgs.
func (RetentionArgs) Kind() string { return "retention" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (RetentionArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{UniqueOpts: whileWaiting} }

// QueueWebhooks is where deliveries wait: a slow receiver never holds up drafting or
// the nightly pipeline.
const QueueWebhooks = "webhooks"

// DeliverWebhooksArgs delivers what is due for one webhook endpoint. A change that
// writes events queues one (a kick: never merged with another, so a change made
// while a delivery job finishes still gets one); the retry of what failed is one
// job per endpoint (Retry), scheduled for the next attempt and snoozed from one
// attempt to the next.
type DeliverWebhooksArgs struct {
	EndpointID int64 `json:"endpoint_id,string"`
	Retry      bool  `json:"retry,omitempty"`
}

// Kind implements river.JobArgs.
func (DeliverWebhooksArgs) Kind() string { return "deliver_webhooks" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (a DeliverWebhooksArgs) InsertOpts() river.InsertOpts {
	if a.Retry {
		return river.InsertOpts{Queue: QueueWebhooks, UniqueOpts: river.UniqueOpts{ByArgs: true}}
	}
	return river.InsertOpts{Queue: QueueWebhooks}
}

// SweepWebhooksArgs wakes, every minute, the dispatchers of endpoints with deliveries
// due (a claim whose process died).
type SweepWebhooksArgs struct{}

// Kind implements river.JobArgs.
func (SweepWebhooksArgs) Kind() string { return "sweep_webhooks" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (SweepWebhooksArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueWebhooks, UniqueOpts: whileWaiting}
}

// AnnounceRecognitionsArgs writes recognition.due for recognitions whose message was
// approved: queued by each approval (not merged: one queued while another runs must
// still run), and every minute.
type AnnounceRecognitionsArgs struct{}

// Kind implements river.JobArgs.
func (AnnounceRecognitionsArgs) Kind() string { return "announce_recognitions" }

// ChallengesArgs starts, hourly, the next instance of recurring challenges whose
// window ended and enrols new target members in automatic ones.
type ChallengesArgs struct{}

// Kind implements river.JobArgs.
func (ChallengesArgs) Kind() string { return "challenges" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ChallengesArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: whileWaiting}
}
