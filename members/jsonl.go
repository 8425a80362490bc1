package members

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belong-loyalty/belong"
)

// MaxLineBytes is the longest JSONL line accepted.
const MaxLineBytes = 1 << 20

// maxReported caps how many bad lines one BatchError lists.
const maxReported = 20

// LineError is a bad line of a JSONL batch.
type LineError struct {
	Line  int    `json:"line"`
	Field string `json:"field,omitempty"`
	Msg   string `json:"message"`
}

func (e LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
}

// BatchError lists the bad lines of a batch (the first 20). Nothing of a batch that
// has one is written.
type BatchError struct {
	Lines []LineError
	// More counts bad lines beyond those listed.
	More int
}

func (e *BatchError) Error() string {
	var b strings.Builder
	for i, l := range e.Lines {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(l.Error())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "; and %d more bad lines", e.More)
	}
	return b.String()
}

func (e *BatchError) add(le LineError) {
	if len(e.Lines) < maxReported {
		e.Lines = append(e.Lines, le)
	} else {
		e.More++
	}
}

// ErrEmpty means a batch held no records.
var ErrEmpty = belong.New(belong.EINVALID, "empty_batch", "the batch has no records")

// ErrTooLarge means a batch held more records than the caller allows.
var ErrTooLarge = belong.New(belong.ETOOLARGE, "batch_too_large", "the batch has too many records")

// DecodeMembers reads members.jsonl: one member object a line, blank lines ignored.
// It validates every line and returns a *BatchError naming each bad one. A later line
// for the same id replaces an earlier one. limit caps the number of records (0: none).
func DecodeMembers(r io.Reader, limit int) ([]Member, error) {
	var out []Member
	index := map[string]int{}
	err := decodeLines(r, limit, func(_ int, line []byte) error {
		var m Member
		if err := strictUnmarshal(line, &m); err != nil {
			return err
		}
		if err := m.Normalize(); err != nil {
			return err
		}
		if i, ok := index[m.ID]; ok {
			out[i] = m
			return nil
		}
		index[m.ID] = len(out)
		out = append(out, m)
		return nil
	})
	return out, err
}

// DecodeEvents reads events.jsonl: one event object a line, blank lines ignored.
// Lines are returned in order (with their line numbers) so a store can name the line
// of an event whose member is unknown. A repeated event id keeps its first line.
func DecodeEvents(r io.Reader, limit int) ([]Event, []int, error) {
	var (
		out   []Event
		lines []int
	)
	seen := map[string]bool{}
	err := decodeLines(r, limit, func(n int, line []byte) error {
		var e Event
		if err := strictUnmarshal(line, &e); err != nil {
			return err
		}
		if err := e.Normalize(); err != nil {
			return err
		}
		if !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e)
			lines = append(lines, n)
		}
		return nil
	})
	return out, lines, err
}

// decodeLines calls fn with the number and bytes of every non-blank line, collecting
// errors by line number.
func decodeLines(r io.Reader, limit int, fn func(int, []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLineBytes)
	bad := &BatchError{}
	line, records := 0, 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		records++
		if limit > 0 && records > limit {
			return ErrTooLarge.With("the batch has too many records: more than %d", limit)
		}
		if !utf8.Valid(b) {
			// encoding/json would quietly store U+FFFD in place of the bad bytes.
			bad.add(LineError{Line: line, Msg: "line is not valid UTF-8"})
			continue
		}
		if err := fn(line, b); err != nil {
			bad.add(toLineError(line, err))
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			bad.add(LineError{Line: line + 1, Msg: fmt.Sprintf("line is longer than %d bytes", MaxLineBytes)})
			return bad
		}
		return fmt.Errorf("read batch: %w", err)
	}
	if len(bad.Lines) > 0 {
		return bad
	}
	if records == 0 {
		return ErrEmpty
	}
	return nil
}

func strictUnmarshal(line []byte, v any) error {
	if line[0] != '{' {
		return &FieldError{Msg: "each line must be one JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if fe := timeFieldError(line); fe != nil {
			return fe
		}
		return err
	}
	if dec.More() {
		return &FieldError{Msg: "each line must hold exactly one JSON object"}
	}
	return nil
}

// timeFields are the fields of either format that hold times.
var timeFields = []string{"joined_at", "at"}

// timeFieldError names the time field that does not parse: encoding/json reports a
// time's own error without the field it came from.
func timeFieldError(line []byte) *FieldError {
	var obj map[string]json.RawMessage
	if json.Unmarshal(line, &obj) != nil {
		return nil //nolint:nilerr // not an object: the caller reports the line's own error
	}
	for _, f := range timeFields {
		raw, ok := obj[f]
		if !ok || string(raw) == "null" {
			continue
		}
		var t time.Time
		if err := json.Unmarshal(raw, &t); err != nil {
			return fieldErr(f, "must be an RFC 3339 time such as 2026-11-01T07:00:00Z")
		}
	}
	return nil
}

func toLineError(line int, err error) LineError {
	var (
		fe *FieldError
		te *json.UnmarshalTypeError
		se *json.SyntaxError
	)
	switch {
	case errors.As(err, &fe):
		return LineError{Line: line, Field: fe.Field, Msg: fe.Msg}
	case errors.As(err, &te):
		return LineError{Line: line, Field: te.Field, Msg: fmt.Sprintf("must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)}
	case errors.As(err, &se):
		return LineError{Line: line, Msg: fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se.Error())}
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return LineError{Line: line, Field: strings.Trim(f, `"`), Msg: "is not a known field"}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return LineError{Line: line, Msg: "invalid JSON: unexpected end of line"}
	}
	return LineError{Line: line, Msg: strings.TrimPrefix(msg, "json: ")}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "bool":
		return "true or false"
	default:
		return "a number"
	}
}
