// Package moments notices when a member deserves recognition and what to do next.
//
// Rules (Rules, DefaultRules) turn a member's events into milestones: counts per event
// type (1, 10, 50, 100, 500, 1,000), streaks of consecutive days or weeks with
// activity in the member's own time zone, and anniversaries of joining. Detect runs
// for the members of each event batch in the batch's own transaction and records
// each firing once, in one statement (a replayed batch fires nothing); it marks the
// one firing per member worth a message, and the caller (package service) queues its
// recognition draft as a job. A milestone remembers the member's community then;
// Badges lists the milestones that carry an approved badge (a challenge's, or that
// community's for the occasion).
//
// Assess reads a member's history into a lifecycle stage and signals (activity trend
// against their own baseline, disappointment, responsiveness to recognition) and picks
// the next best action: celebrate, reconnect, invite to lead, or encourage.
package moments
