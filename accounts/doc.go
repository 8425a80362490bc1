// Package accounts holds the people who use the console: reviewers and admins who
// sign in with their e-mail address and a password, and their server-side sessions.
//
// A password is stored only as an argon2id hash (RFC 9106; 64 MiB, 2 passes, 2 lanes,
// a 16-byte salt) in the PHC string format, so the cost can rise later without
// invalidating old hashes. Five failed sign-ins in a row lock an account for a minute,
// doubling with each further failure up to fifteen minutes; the lock lives in the
// database, so every replica honours it. A role maps to the API's scopes (reviewer:
// content:review; admin: every scope), and a person's Actor names them in the audit
// trail. A session's cookie holds a random token; only its SHA-256 is stored, so
// signing out, an admin ending someone's sessions, or disabling the account ends it on
// every replica at once.
//
// golang.org/x/crypto/argon2 does the hashing; the rest is a few queries, where an
// identity library would bring its own storage and flows the console does not need.
package accounts
