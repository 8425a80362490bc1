-- Members and their events.

-- name: CountMembers :one
SELECT count(*) FROM members;
