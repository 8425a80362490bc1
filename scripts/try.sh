#!/usr/bin/env bash
# try.sh — print a few curl lines to try against the server make run starts.
set -euo pipefail
addr="${BELONG_ADDR:-127.0.0.1:8080}"
member=$(psql "$DATABASE_URL" -qtAX -c "SELECT member_id FROM memberships ms JOIN current_run r USING (run_id)
  WHERE rank = 1 ORDER BY member_id LIMIT 1" 2>/dev/null || true)
member=${member:-m-00001}
community=$(psql "$DATABASE_URL" -qtAX -c "SELECT community_id FROM memberships ms JOIN current_run r USING (run_id)
  WHERE member_id = '$member' AND rank = 1" 2>/dev/null || true)
cat <<TRY

Belong is starting on http://$addr — try:

  curl -s http://$addr/readyz
  curl -s http://$addr/v1/members/$member/communities
  curl -s -X POST http://$addr/v1/match -d '{"profile":{"interests":["trail running"],"causes":["sustainability"],"skill_level":"beginner"},"limit":3}'
  curl -s 'http://$addr/v1/communities?limit=5'
  curl -s http://$addr/v1/communities/${community:-c-1}

Ctrl-C stops the server; the database keeps running (make db-stop stops it).

TRY
