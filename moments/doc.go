// Package moments notices when a member deserves recognition and what to do next.
//
// Rules (Rules, DefaultRules) turn a member's events into milestones: counts per event
// type (1, 10, 50, 100, 500, 1,000), streaks of consecutive days or weeks with
// activity in the member's own time zone, and anniversaries of joining. Detect runs
// for the members of each event batch as it arrives and records each firing once
// (a replayed batch fires nothing); every firing drafts a recognition, approved at
// once when it comes from the reviewed templates with no guardrail findings.
//
// Assess reads a member's history into a lifecycle stage and signals (activity trend
// against their own baseline, disappointment, responsiveness to recognition) and picks
// the next best action: celebrate, reconnect, invite to lead, or encourage.
package moments
