// Package belong holds what every layer shares: the small error vocabulary that the
// storage layer translates database errors into, the use cases and domain packages
// return, and the API and console map to statuses in one table.
//
// The layout follows benbjohnson/wtf: domain packages, storage, use cases, and the
// HTTP interface each in their own package; errors carry a kind (what a caller can do
// about them) and a stable code (which one it was).
package belong

import (
	"errors"
	"fmt"
)

// Kinds of error: what a caller can do about it.
const (
	// ENOTFOUND: the thing addressed does not exist (404).
	ENOTFOUND = "not_found"
	// EINVALID: the request is malformed or breaks a rule; retrying it as it is
	// cannot succeed (400).
	EINVALID = "invalid"
	// EUNPROCESSABLE: well formed, but it cannot be done with the data as it is (422).
	EUNPROCESSABLE = "unprocessable"
	// ETOOLARGE: more than the limits allow (413).
	ETOOLARGE = "too_large"
	// ECONFLICT: the state changed under the request, or it clashes with what is
	// stored (409); re-read and decide again.
	ECONFLICT = "conflict"
	// EUNAVAILABLE: a dependency (the database, a model endpoint, the first cluster
	// run) is not there now; retry later (503).
	EUNAVAILABLE = "unavailable"
	// EINTERNAL: a bug or an unexpected failure (500); its details go to the log only.
	EINTERNAL = "internal"
)

// Error is an error a client may see: Kind decides the status, Code is stable and
// meant for programs, Message is for people.
type Error struct {
	Kind    string
	Code    string
	Message string
	// Err is the cause, for the log; never shown to a client.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error with the same kind and code, so a sentinel such as
// members.ErrNotFound matches the errors made from it with Errorf or With.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Code == e.Code
}

// New returns an error of kind with a stable code and a message.
func New(kind, code, msg string) *Error { return &Error{Kind: kind, Code: code, Message: msg} }

// Errorf returns an error of kind with a stable code and a formatted message.
func Errorf(kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// With returns a copy of sentinel e with a more specific message; it still matches
// e with errors.Is.
func (e *Error) With(format string, args ...any) *Error {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// Wrap returns sentinel e carrying cause, for the log: it still matches e with
// errors.Is, and cause stays in the chain.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// KindOf returns the kind of err: that of the first *Error in its chain, else
// EINTERNAL.
func KindOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return EINTERNAL
}
