package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/apikey"
	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/storage"
)

// Roles, and the API scopes each carries.
const (
	RoleReviewer = "reviewer" // content:review
	RoleAdmin    = "admin"    // every scope
)

// Roles lists every role.
var Roles = []string{RoleReviewer, RoleAdmin}

var roleScopes = map[string][]string{RoleReviewer: {apikey.ScopeContentReview}, RoleAdmin: {apikey.ScopeAdmin}}

// Errors of accounts.
var (
	ErrInvalid  = belong.New(belong.EINVALID, "invalid_account", "the account is not valid")
	ErrExists   = belong.New(belong.ECONFLICT, "account_exists", "an account with this e-mail address exists")
	ErrNotFound = belong.New(belong.ENOTFOUND, "account_not_found", "no account has this id or e-mail address")
	// ErrSignIn is every failed sign-in alike (unknown address, wrong password,
	// disabled account), so that a guess learns nothing.
	ErrSignIn = belong.New(belong.EINVALID, "sign_in_failed", "That e-mail address and password do not match an active account.")
	ErrLocked = belong.New(belong.EUNPROCESSABLE, "account_locked", "Too many failed sign-ins: the account is locked for a few minutes.")
	// ErrNoSession means the session is unknown, expired, signed out or ended by an
	// admin, or its account was disabled.
	ErrNoSession = errors.New("no such console session")
)

// User is a person with a console account.
type User struct {
	ID           int64      `json:"id,string"`
	Email        string     `json:"email"`
	Name         string     `json:"name"`
	Role         string     `json:"role"`
	LastSignInAt *time.Time `json:"last_sign_in_at,omitempty"`
	LockedUntil  *time.Time `json:"locked_until,omitempty"`
	DisabledAt   *time.Time `json:"disabled_at,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	// Sessions counts live sessions (List only).
	Sessions int `json:"sessions"`
}

func userOf(r storage.ConsoleUser) User {
	return User{ID: r.ID, Email: r.Email, Name: r.Name, Role: r.Role, LastSignInAt: r.LastSignInAt, LockedUntil: r.LockedUntil,
		DisabledAt: r.DisabledAt, CreatedAt: r.CreatedAt}
}

// Allows reports whether the person's role carries scope.
func (u User) Allows(scope string) bool {
	return apikey.Key{Scopes: roleScopes[u.Role]}.Allows(scope)
}

// Actor names the person in the audit trail: "Ana Lima <ana@brand.example>".
func (u User) Actor() string { return u.Name + " <" + u.Email + ">" }

// validate checks an account's fields and returns the address as stored.
func validate(email, name, role string) (string, error) {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != strings.TrimSpace(email) || len(addr.Address) > 254 {
		return "", ErrInvalid.With("%q is not an e-mail address", email)
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(name)); n == 0 || n > 100 || members.HasControl(name) {
		return "", ErrInvalid.With("a person needs a name of 1 to 100 characters")
	}
	if !slices.Contains(Roles, role) {
		return "", ErrInvalid.With("role %q is not one of %s", role, strings.Join(Roles, ", "))
	}
	return addr.Address, nil
}

func checkLength(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLength || len(password) > 1024 {
		return ErrInvalid.With("a password has %d to 1024 characters", MinPasswordLength)
	}
	return nil
}

// Create makes an account.
func Create(ctx context.Context, db database.DBTX, email, name, role, password string) (User, error) {
	email, err := validate(email, name, role)
	if err != nil {
		return User{}, err
	}
	if err := checkLength(password); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return User{}, err
	}
	r, err := storage.New(db).CreateUser(ctx, storage.CreateUserParams{Email: email, Name: strings.TrimSpace(name), Role: role, PasswordHash: hash})
	if err = storage.Translate(err, nil); errors.Is(err, storage.ErrDuplicate) {
		return User{}, ErrExists
	}
	if err != nil {
		return User{}, fmt.Errorf("create account %s: %w", email, err)
	}
	return userOf(r), nil
}

// List returns every account, by e-mail address.
func List(ctx context.Context, db database.DBTX) ([]User, error) {
	rows, err := storage.New(db).ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", storage.Translate(err, nil))
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = userOf(r.ConsoleUser)
		out[i].Sessions = int(r.Sessions)
	}
	return out, nil
}

// Find returns the account with id or e-mail address ref.
func Find(ctx context.Context, db database.DBTX, ref string) (User, error) {
	q := storage.New(db)
	var r storage.ConsoleUser
	var err error
	if strings.Contains(ref, "@") {
		r, err = q.UserByEmail(ctx, ref)
	} else {
		var id int64
		if _, scanErr := fmt.Sscan(ref, &id); scanErr != nil {
			return User{}, ErrNotFound
		}
		r, err = q.GetUser(ctx, id)
	}
	if err != nil {
		return User{}, fmt.Errorf("account %s: %w", ref, storage.Translate(err, ErrNotFound))
	}
	return userOf(r), nil
}

// dummyHash is checked when no account has the address, so that a sign-in takes as
// long either way.
var dummyHash, _ = hashPassword("not a password anyone has")

// Authenticate checks an e-mail address and password, counting failures (and
// locking the account after five in a row), and returns the account.
func Authenticate(ctx context.Context, db database.DBTX, email, password string, now time.Time) (User, error) {
	q := storage.New(db)
	r, err := q.UserByEmail(ctx, strings.TrimSpace(email))
	if errors.Is(err, pgx.ErrNoRows) || len(password) > 1024 {
		_, _ = checkPassword(password[:min(len(password), 1024)], dummyHash)
		return User{}, ErrSignIn
	}
	if err != nil {
		return User{}, fmt.Errorf("sign in: %w", storage.Translate(err, nil))
	}
	if r.LockedUntil != nil && now.Before(*r.LockedUntil) {
		return User{}, ErrLocked
	}
	ok, err := checkPassword(password, r.PasswordHash)
	if err != nil {
		return User{}, fmt.Errorf("sign in %d: %w", r.ID, err)
	}
	if !ok || r.DisabledAt != nil {
		if err := q.SignInFailed(ctx, r.ID); err != nil {
			return User{}, fmt.Errorf("sign in: %w", storage.Translate(err, nil))
		}
		return User{}, ErrSignIn
	}
	if err := q.SignedIn(ctx, r.ID); err != nil {
		return User{}, fmt.Errorf("sign in: %w", storage.Translate(err, nil))
	}
	return userOf(r), nil
}

// SetRole changes a person's role; it applies to their open sessions at once.
func SetRole(ctx context.Context, db database.DBTX, id int64, role string) error {
	if !slices.Contains(Roles, role) {
		return ErrInvalid.With("role %q is not one of %s", role, strings.Join(Roles, ", "))
	}
	return changed(storage.New(db).SetUserRole(ctx, storage.SetUserRoleParams{ID: id, Role: role}))
}

// SetPassword replaces a person's password, unlocks the account and ends its
// sessions.
func SetPassword(ctx context.Context, db database.DBTX, id int64, password string) error {
	if err := checkLength(password); err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	return signingOut(ctx, db, id, func(q *storage.Queries) (int64, error) {
		return q.SetUserPassword(ctx, storage.SetUserPasswordParams{ID: id, PasswordHash: hash})
	})
}

// SetDisabled disables an account (ending its sessions) or enables it again.
func SetDisabled(ctx context.Context, db database.DBTX, id int64, disabled bool) error {
	return signingOut(ctx, db, id, func(q *storage.Queries) (int64, error) {
		return q.SetUserDisabled(ctx, storage.SetUserDisabledParams{ID: id, Disabled: disabled})
	})
}

// signingOut makes a change to account id and ends its sessions, in one transaction.
func signingOut(ctx context.Context, db database.DBTX, id int64, change func(*storage.Queries) (int64, error)) error {
	return database.InTx(ctx, db, func(tx pgx.Tx) error {
		q := storage.New(tx)
		if err := changed(change(q)); err != nil {
			return err
		}
		_, err := q.EndUserSessions(ctx, id)
		return storage.Translate(err, nil)
	})
}

func changed(n int64, err error) error {
	if err != nil {
		return storage.Translate(err, nil)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// StartSession opens a session for u, lasting ttl, and returns its token (for the
// cookie; only its hash is stored).
func StartSession(ctx context.Context, db database.DBTX, u User, ttl time.Duration) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	err := storage.New(db).StartSession(ctx, storage.StartSessionParams{TokenHash: tokenHash(token), UserID: u.ID, ExpiresAt: time.Now().Add(ttl)})
	if err != nil {
		return "", fmt.Errorf("start console session: %w", storage.Translate(err, nil))
	}
	return token, nil
}

// SessionUser returns the enabled account of a live session.
func SessionUser(ctx context.Context, db database.DBTX, token string) (User, error) {
	r, err := storage.New(db).SessionUser(ctx, tokenHash(token))
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, fmt.Errorf("console session: %w", storage.Translate(err, nil))
	}
	return userOf(r.ConsoleUser), nil
}

// EndSession signs a session out; its cookie no longer works anywhere.
func EndSession(ctx context.Context, db database.DBTX, token string) error {
	if err := storage.New(db).EndSession(ctx, tokenHash(token)); err != nil {
		return fmt.Errorf("end console session: %w", storage.Translate(err, nil))
	}
	return nil
}

// EndSessions ends every session of an account (an admin signing someone out
// everywhere) and returns how many it ended.
func EndSessions(ctx context.Context, db database.DBTX, id int64) (int64, error) {
	n, err := storage.New(db).EndUserSessions(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("end sessions of %d: %w", id, storage.Translate(err, nil))
	}
	return n, nil
}

// PruneSessions deletes expired sessions and returns how many.
func PruneSessions(ctx context.Context, db database.DBTX) (int64, error) {
	n, err := storage.New(db).PruneSessions(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune console sessions: %w", storage.Translate(err, nil))
	}
	return n, nil
}
