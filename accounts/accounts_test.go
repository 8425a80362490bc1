package accounts_test

import (
	"errors"
	"testing"
	"time"

	"github.com/belong-loyalty/belong/accounts"
	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/migrations/dbtest"
)

// People are made with a valid address, name, role and password; sign in with the
// right password only; are locked out after five failures in a row and let in again
// once the lock ends; and their sessions end when they sign out, when an admin signs
// them out, when their password is reset and when their account is disabled.
func TestAccountsAndSessions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.Schema(t)
	const pw = "a long enough password"
	ana, err := accounts.Create(ctx, pool, "ana@brand.example", " Ana Lima ", accounts.RoleReviewer, pw)
	if err != nil {
		t.Fatal(err)
	}
	if ana.Name != "Ana Lima" || ana.Actor() != "Ana Lima <ana@brand.example>" || !ana.Allows(apikey.ScopeContentReview) || ana.Allows(apikey.ScopeAdmin) {
		t.Fatalf("created %+v (actor %q)", ana, ana.Actor())
	}
	for name, try := range map[string][4]string{
		"taken, in other case": {"ANA@brand.example", "Ana", "reviewer", pw},
		"not an address":       {"ana at brand", "Ana", "reviewer", pw},
		"a display name":       {"Ana <ana2@brand.example>", "Ana", "reviewer", pw},
		"no name":              {"bo@brand.example", "  ", "reviewer", pw},
		"unknown role":         {"bo@brand.example", "Bo", "owner", pw},
		"short password":       {"bo@brand.example", "Bo", "admin", "short"},
	} {
		_, err := accounts.Create(ctx, pool, try[0], try[1], try[2], try[3])
		want := accounts.ErrInvalid
		if name == "taken, in other case" {
			want = accounts.ErrExists
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}

	now := time.Now()
	if _, err := accounts.Authenticate(ctx, pool, "nobody@brand.example", pw, now); !errors.Is(err, accounts.ErrSignIn) {
		t.Fatalf("an unknown address: %v", err)
	}
	for i := range 5 {
		if _, err := accounts.Authenticate(ctx, pool, "ana@brand.example", "wrong password "+string(rune('a'+i)), now); !errors.Is(err, accounts.ErrSignIn) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	if _, err := accounts.Authenticate(ctx, pool, "Ana@Brand.example", pw, now); !errors.Is(err, accounts.ErrLocked) {
		t.Fatalf("the right password while locked: %v, want ErrLocked", err)
	}
	u, err := accounts.Authenticate(ctx, pool, "Ana@Brand.example", pw, now.Add(2*time.Minute))
	if err != nil || u.ID != ana.ID {
		t.Fatalf("after the lock: %+v %v", u, err)
	}
	if again, _ := accounts.Find(ctx, pool, "ana@brand.example"); again.LockedUntil != nil || again.LastSignInAt == nil {
		t.Fatalf("a good sign-in leaves %+v: want unlocked, with its time", again)
	}

	session := func() string {
		t.Helper()
		token, err := accounts.StartSession(ctx, pool, u, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := accounts.SessionUser(ctx, pool, token); err != nil || got.ID != ana.ID {
			t.Fatalf("a new session: %+v %v", got, err)
		}
		return token
	}
	ended := func(token, why string) {
		t.Helper()
		if _, err := accounts.SessionUser(ctx, pool, token); !errors.Is(err, accounts.ErrNoSession) {
			t.Errorf("after %s the session is still live (%v)", why, err)
		}
	}
	s1 := session()
	if err := accounts.SetRole(ctx, pool, ana.ID, accounts.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if got, _ := accounts.SessionUser(ctx, pool, s1); !got.Allows(apikey.ScopeAdmin) {
		t.Fatal("a new role does not apply to an open session")
	}
	if err := accounts.EndSession(ctx, pool, s1); err != nil {
		t.Fatal(err)
	}
	ended(s1, "signing out")
	s2, s3 := session(), session()
	if n, err := accounts.EndSessions(ctx, pool, ana.ID); err != nil || n != 2 {
		t.Fatalf("sign out everywhere: %d %v", n, err)
	}
	ended(s2, "an admin's sign-out")
	ended(s3, "an admin's sign-out")
	s4 := session()
	if err := accounts.SetPassword(ctx, pool, ana.ID, "another long password"); err != nil {
		t.Fatal(err)
	}
	ended(s4, "a password reset")
	if _, err := accounts.Authenticate(ctx, pool, "ana@brand.example", pw, time.Now()); !errors.Is(err, accounts.ErrSignIn) {
		t.Fatalf("the old password after a reset: %v", err)
	}
	s5 := session()
	if err := accounts.SetDisabled(ctx, pool, ana.ID, true); err != nil {
		t.Fatal(err)
	}
	ended(s5, "disabling the account")
	if _, err := accounts.Authenticate(ctx, pool, "ana@brand.example", "another long password", time.Now()); !errors.Is(err, accounts.ErrSignIn) {
		t.Fatalf("a disabled account signs in: %v", err)
	}
	if err := accounts.SetDisabled(ctx, pool, 999999, true); !errors.Is(err, accounts.ErrNotFound) {
		t.Fatalf("disable nobody: %v", err)
	}
}
