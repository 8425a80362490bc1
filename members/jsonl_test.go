package members_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/belong-loyalty/belong/members"
)

const goodMember = `{"id":"m-1042","name":"Ana","locale":"sv-SE","joined_at":"2024-03-01T00:00:00Z","interests":["Trail Running","ocean clean-ups"],"causes":["sustainability"],"skill_level":"beginner","attributes":{"tier":"gold","city":"Lisbon"},"consent":{"personalization":true,"community":true}}`

func TestDecodeMembersNormalizes(t *testing.T) {
	ms, err := members.DecodeMembers(strings.NewReader(goodMember+"\n\n"+`{"id":"m-2"}`+"\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("got %d members, want 2", len(ms))
	}
	if got := ms[0].Interests[0]; got != "trail running" {
		t.Errorf("interest not normalized: %q", got)
	}
	if !ms[0].Consent.Personalization || ms[1].Consent.Personalization {
		t.Errorf("consent: got %+v and %+v", ms[0].Consent, ms[1].Consent)
	}
}

func TestDecodeMembersLaterLineWins(t *testing.T) {
	ms, err := members.DecodeMembers(strings.NewReader(`{"id":"m-1","name":"A"}`+"\n"+`{"id":"m-1","name":"B"}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Name != "B" {
		t.Fatalf("got %+v, want one member named B", ms)
	}
}

func TestDecodeMembersNamesBadLines(t *testing.T) {
	cases := []struct {
		name, line, field string
	}{
		{"missing id", `{"name":"Ana"}`, "id"},
		{"bad time", `{"id":"m-1","joined_at":"yesterday"}`, "joined_at"},
		{"time as number", `{"id":"m-1","joined_at":12}`, "joined_at"},
		{"wrong type", `{"id":"m-1","interests":"running"}`, "interests"},
		{"unknown field", `{"id":"m-1","intrests":["x"]}`, "intrests"},
		{"bad skill", `{"id":"m-1","skill_level":"guru"}`, "skill_level"},
		{"bad locale", `{"id":"m-1","locale":"sweden!"}`, "locale"},
		{"bad time zone", `{"id":"m-1","timezone":"Mars/Olympus"}`, "timezone"},
		{"empty interest", `{"id":"m-1","interests":["yoga",""]}`, "interests[1]"},
		{"not an object", `["m-1"]`, ""},
		{"two objects", `{"id":"m-1"} {"id":"m-2"}`, ""},
		{"broken json", `{"id":"m-1"`, ""},
		{"id with space", `{"id":"m 1"}`, "id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := goodMember + "\n" + tc.line + "\n" + `{"id":"m-9"}`
			_, err := members.DecodeMembers(strings.NewReader(in), 0)
			var be *members.BatchError
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, want *BatchError", err)
			}
			if len(be.Lines) != 1 || be.Lines[0].Line != 2 || be.Lines[0].Field != tc.field {
				t.Fatalf("got %+v, want one error on line 2, field %q", be.Lines, tc.field)
			}
			if be.Lines[0].Msg == "" {
				t.Fatal("error has no message")
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	if _, err := members.DecodeMembers(strings.NewReader("\n \n"), 0); !errors.Is(err, members.ErrEmpty) {
		t.Errorf("empty batch: err = %v", err)
	}
	in := strings.Repeat(`{"id":"m-1"}`+"\n", 3)
	if _, err := members.DecodeMembers(strings.NewReader(in), 2); !errors.Is(err, members.ErrTooLarge) {
		t.Errorf("3 records with max 2: err = %v", err)
	}
	long := `{"id":"m-1","name":"` + strings.Repeat("x", members.MaxLineBytes) + `"}`
	_, err := members.DecodeMembers(strings.NewReader(long), 0)
	var be *members.BatchError
	if !errors.As(err, &be) || be.Lines[0].Line != 1 {
		t.Errorf("over-long line: err = %v", err)
	}
}

func TestDecodeEventsKeepsLineNumbers(t *testing.T) {
	in := `{"id":"e-1","member_id":"m-1","type":"class_completed","at":"2026-11-01T07:00:00Z","props":{"category":"yoga"}}

{"id":"e-1","member_id":"m-1","type":"class_completed","at":"2026-11-01T07:00:00Z"}
{"id":"e-2","member_id":"m-2","type":"run_logged","at":"2026-11-02T07:00:00Z"}`
	es, lines, err := members.DecodeEvents(strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || lines[0] != 1 || lines[1] != 4 {
		t.Fatalf("events %d, lines %v; want 2 events on lines [1 4]", len(es), lines)
	}
	_, _, err = members.DecodeEvents(strings.NewReader(in+"\n"+`{"id":"e-3","member_id":"m-1","type":"Class Completed","at":"2026-11-02T07:00:00Z"}`), 0)
	var be *members.BatchError
	if !errors.As(err, &be) || be.Lines[0].Line != 5 || be.Lines[0].Field != "type" {
		t.Fatalf("bad type: err = %v", err)
	}
	_, _, err = members.DecodeEvents(strings.NewReader(`{"id":"e-3","member_id":"m-1","type":"x"}`), 0)
	if !errors.As(err, &be) || be.Lines[0].Field != "at" {
		t.Fatalf("missing at: err = %v", err)
	}
}

// The decoders take outside input: whatever the bytes, they return members or an
// error, never panic, and what they return is valid.
func FuzzDecodeMembers(f *testing.F) {
	f.Add(goodMember)
	f.Add(`{"id":"m-1","interests":["a","A"," a "]}`)
	f.Add("{\"id\":\"\u0000\"}\n{}")
	f.Add(`{"id":"m-1","attributes":{"a":[1,2,{"b":null}]}}`)
	f.Fuzz(func(t *testing.T, in string) {
		ms, err := members.DecodeMembers(strings.NewReader(in), 100)
		if err != nil {
			return
		}
		for _, m := range ms {
			again := m
			if err := again.Normalize(); err != nil {
				t.Fatalf("decoded member fails validation: %v", err)
			}
			// Whatever is accepted can be stored and addressed.
			attrs, _ := json.Marshal(m.Attributes)
			for _, v := range append([]string{m.Name, m.Locale, m.Timezone, string(attrs)}, append(m.Interests, m.Causes...)...) {
				if !storable(v) {
					t.Fatalf("decoded member holds text PostgreSQL cannot store: %q", v)
				}
			}
			if !addressable(m.ID) {
				t.Fatalf("decoded member id %q cannot be one path segment", m.ID)
			}
		}
	})
}

// storable reports text PostgreSQL's text and jsonb can hold.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0) && !strings.Contains(s, `\u0000`)
}

// addressable reports an id that every route can carry as one path segment.
func addressable(id string) bool {
	return id != "" && strings.Trim(id, ".") != "" && url.PathEscape(id) == id && !strings.ContainsAny(id, "/?#%")
}

func TestIDAlphabet(t *testing.T) {
	for id, ok := range map[string]bool{"m-1042": true, "ana@example.com": true, "5f9c2b1e-0c1d-4e2f-9a7b-3c4d5e6f7a8b": true,
		"crm:123": true, "a+b.c_d": true, "a/b": false, "..": false, ".": false, "a b": false, "a%2Fb": false, "a?b": false,
		"a#b": false, "å": false, "a\x00": false, "": false} {
		_, err := members.DecodeMembers(strings.NewReader(`{"id":`+strconv.Quote(id)+`}`), 0)
		if (err == nil) != ok {
			t.Errorf("id %q: accepted %v, want %v (%v)", id, err == nil, ok, err)
		}
		if ok && !addressable(id) {
			t.Errorf("id %q is accepted but not addressable", id)
		}
	}
	var be *members.BatchError
	_, _, err := members.DecodeEvents(strings.NewReader(`{"id":"e/1","member_id":"m-1","type":"x","at":"2026-11-01T07:00:00Z"}`), 0)
	if !errors.As(err, &be) || be.Lines[0].Field != "id" {
		t.Fatalf("event id with a slash: %v; want a per-line error on id", err)
	}
	_, _, err = members.DecodeEvents(strings.NewReader(`{"id":"e-1","member_id":"m-1","type":"x","at":"2026-11-01T07:00:00Z","props":{"k":"a\u0000b"}}`), 0)
	if !errors.As(err, &be) || be.Lines[0].Field != "props" {
		t.Fatalf("props with NUL: %v; want a per-line error on props", err)
	}
}

func FuzzDecodeEvents(f *testing.F) {
	f.Add(`{"id":"e-9","member_id":"m-1042","type":"class_completed","at":"2026-11-01T07:00:00Z","props":{"category":"trail running","minutes":45}}`)
	f.Add(`{"id":"e-9","member_id":"m-1042","type":"a","at":"0001-01-01T00:00:00Z"}`)
	f.Fuzz(func(t *testing.T, in string) {
		es, lines, err := members.DecodeEvents(strings.NewReader(in), 100)
		if err != nil {
			return
		}
		if len(es) != len(lines) {
			t.Fatalf("%d events but %d line numbers", len(es), len(lines))
		}
		for _, e := range es {
			if err := e.Normalize(); err != nil {
				t.Fatalf("decoded event fails validation: %v", err)
			}
			props, _ := json.Marshal(e.Props)
			if !storable(e.Type) || !storable(string(props)) || !addressable(e.ID) || !addressable(e.MemberID) {
				t.Fatalf("decoded event cannot be stored or addressed: %+v", e)
			}
		}
	})
}

func TestMemberIDsAreDistinctInOrder(t *testing.T) {
	got := members.MemberIDs([]members.Event{{MemberID: "b"}, {MemberID: "a"}, {MemberID: "b"}})
	if strings.Join(got, ",") != "b,a" {
		t.Fatalf("MemberIDs = %v, want [b a]", got)
	}
}

func TestTimezoneLocalIsNotAMembersZone(t *testing.T) {
	for _, tz := range []string{"Local", "local", "localtime", "posixrules", "Factory", "posix/Europe/Stockholm", "right/UTC", "Mars/Olympus"} {
		if _, err := members.DecodeMembers(strings.NewReader(`{"id":"m-1","timezone":"`+tz+`"}`), 0); err == nil {
			t.Errorf("timezone %q accepted", tz)
		}
	}
	if _, err := members.DecodeMembers(strings.NewReader(`{"id":"m-1","timezone":"Europe/Stockholm"}`), 0); err != nil {
		t.Fatal(err)
	}
}

// A member with a few hundred interests (real profiles have them) is accepted; one
// past the limit is refused by line, naming the field and the limit.
func TestInterestListLimits(t *testing.T) {
	list := func(n int) string {
		terms := make([]string, n)
		for i := range terms {
			terms[i] = strconv.Quote(fmt.Sprintf("interest %d", i))
		}
		return "[" + strings.Join(terms, ",") + "]"
	}
	ms, err := members.DecodeMembers(strings.NewReader(`{"id":"m-1","interests":`+list(300)+`}`), 0)
	if err != nil || len(ms[0].Interests) != 300 {
		t.Fatalf("300 interests: %v", err)
	}
	_, err = members.DecodeMembers(strings.NewReader("{\"id\":\"m-0\"}\n"+`{"id":"m-1","interests":`+list(members.MaxListLen+1)+`}`), 0)
	var be *members.BatchError
	if !errors.As(err, &be) || be.Lines[0].Line != 2 || be.Lines[0].Field != "interests" || !strings.Contains(be.Lines[0].Msg, "limit is 500") {
		t.Fatalf("past the limit: %v", err)
	}
}

// Names, terms and categories never carry markup or control characters (they reach
// community names and copy), and times stay within 1900–2199.
func TestMarkupControlsAndTimesAreRefusedByLine(t *testing.T) {
	for _, line := range []string{
		`{"id":"m-1","name":"<script>alert(1)</script>"}`,
		`{"id":"m-1","interests":["<img src=x>"]}`,
		`{"id":"m-1","interests":["{{7*7}}"]}`,
		`{"id":"m-1","causes":["%%=v(@x)=%%"]}`,
		`{"id":"m-1","name":"Ana\u202eevil"}`,
		`{"id":"m-1","attributes":{"tier":"go\u0007ld"}}`,
		`{"id":"m-1","joined_at":"0001-01-01T00:00:00Z"}`,
		`{"id":"m-1","joined_at":"9999-12-31T23:59:59-23:59"}`,
	} {
		if _, err := members.DecodeMembers(strings.NewReader(line), 0); err == nil {
			t.Errorf("accepted %s", line)
		}
	}
	for _, line := range []string{
		`{"id":"e-1","member_id":"m-1","type":"x","at":"0000-01-01T00:00:00+01:00"}`,
		`{"id":"e-1","member_id":"m-1","type":"x","at":"2026-11-01T07:00:00Z","props":{"category":5}}`,
		`{"id":"e-1","member_id":"m-1","type":"x","at":"2026-11-01T07:00:00Z","props":{"category":"<img src=x>"}}`,
		`{"id":"e-1","member_id":"m-1","type":"x","at":"2026-11-01T07:00:00Z","props":{"category":"` + strings.Repeat("y", 300) + `"}}`,
		`{"id":"e-1","member_id":"m-1","type":"x","at":"2026-11-01T07:00:00Z","props":{"note":"a\u0001b"}}`,
	} {
		if _, _, err := members.DecodeEvents(strings.NewReader(line), 0); err == nil {
			t.Errorf("accepted %s", line)
		}
	}
	if _, _, err := members.DecodeEvents(strings.NewReader(`{"id":"e-1","member_id":"m-1","type":"x","at":"2026-11-01T07:00:00Z","props":{"note":"two\nlines","category":"trail running"}}`), 0); err != nil {
		t.Fatalf("a plain category and a note with a line break: %v", err)
	}
}
