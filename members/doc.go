// Package members owns member profiles and their behaviour events: the JSONL formats
// journey platforms and batch exports send, their validation, and idempotent storage.
//
// A member line replaces the stored profile; only "id" is required. An event is
// idempotent by id: replaying a file adds nothing. A batch is all or nothing: every
// line is validated first, and a bad line is reported with its number and field while
// nothing of the batch is written.
package members
