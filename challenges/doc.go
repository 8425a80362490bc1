// Package challenges makes challenges members live: a challenge launched from
// approved challenge content for a community, a tribe or a lifecycle stage, with a
// window of local days, a goal over events (a count, a sum of a numeric prop,
// distinct days active, or an ordered sequence of steps) and a kind (individual, each
// member with their own goal, adaptive to their pace and skill; or group, one shared
// goal). Progress is recomputed from the stored events as they are ingested, so every
// event counts once whatever order it arrives in; thresholds and completion come out
// as an Outcome that the service turns into events, milestones and recognitions in
// the same transaction. Recurring challenges are series of instances, each its own
// record.
package challenges
