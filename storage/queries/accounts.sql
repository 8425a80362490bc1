-- Console accounts and their sessions (package accounts).

-- name: CreateUser :one
INSERT INTO console_users (email, name, role, password_hash) VALUES (@email, @name, @role, @password_hash)
RETURNING *;

-- name: ListUsers :many
-- ListUsers lists every account with how many live sessions it has.
SELECT sqlc.embed(u), (SELECT count(*) FROM console_sessions s WHERE s.user_id = u.id AND s.expires_at > now())::int AS sessions
FROM console_users u ORDER BY lower(u.email);

-- name: GetUser :one
SELECT * FROM console_users WHERE id = @id;

-- name: UserByEmail :one
SELECT * FROM console_users WHERE lower(email) = lower(@email);

-- name: SignInFailed :exec
-- SignInFailed counts a failed sign-in; from the fifth in a row the account is locked
-- for a minute, doubling with each further failure up to a quarter of an hour.
UPDATE console_users SET failed_sign_ins = failed_sign_ins + 1,
	locked_until = CASE WHEN failed_sign_ins + 1 >= 5
		THEN now() + least(interval '1 minute' * power(2, failed_sign_ins + 1 - 5), interval '15 minutes') END
WHERE id = @id;

-- name: SignedIn :exec
UPDATE console_users SET failed_sign_ins = 0, locked_until = NULL, last_sign_in_at = now() WHERE id = @id;

-- name: SetUserRole :execrows
UPDATE console_users SET role = @role WHERE id = @id;

-- name: SetUserPassword :execrows
UPDATE console_users SET password_hash = @password_hash, failed_sign_ins = 0, locked_until = NULL WHERE id = @id;

-- name: SetUserDisabled :execrows
UPDATE console_users SET disabled_at = CASE WHEN @disabled::bool THEN coalesce(disabled_at, now()) END WHERE id = @id;

-- name: StartSession :exec
INSERT INTO console_sessions (token_hash, user_id, expires_at) VALUES (@token_hash, @user_id, @expires_at);

-- name: SessionUser :one
-- SessionUser finds the enabled account of a live session.
SELECT sqlc.embed(u) FROM console_sessions s JOIN console_users u ON u.id = s.user_id
WHERE s.token_hash = @token_hash AND s.expires_at > now() AND u.disabled_at IS NULL;

-- name: EndSession :exec
DELETE FROM console_sessions WHERE token_hash = @token_hash;

-- name: EndUserSessions :execrows
DELETE FROM console_sessions WHERE user_id = @user_id;

-- name: PruneSessions :execrows
DELETE FROM console_sessions WHERE expires_at < now();
