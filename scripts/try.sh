#!/usr/bin/env bash
# try.sh — print a few curl lines to try against the server make run starts.
set -euo pipefail
addr="${BELONG_ADDR:-127.0.0.1:8080}"
root=$(cd "$(dirname "$0")/.." && pwd)
# A developer's admin key, made once and kept (mode 0600) in the git-ignored .data/.
keyfile="$root/.data/dev-api-key"
key=$(cat "$keyfile" 2>/dev/null || true)
prefix=$(echo "$key" | cut -d_ -f2)
if [ -z "$key" ] || ! psql "$DATABASE_URL" -qtAX -c "SELECT 1 FROM api_keys WHERE prefix = '$prefix' AND revoked_at IS NULL" 2>/dev/null | grep -q 1; then
  mkdir -p "$root/.data"
  key=$("$root/bin/belong" keys create --name make-run --scopes admin 2>/dev/null)
  (umask 077 && echo "$key" >"$keyfile")
fi
# A developer's console account (admin), its password kept the same way.
pwfile="$root/.data/dev-console-password"
if ! "$root/bin/belong" users list 2>/dev/null | grep -q '^admin@belong.localhost '; then
  pw=$("$root/bin/belong" users create --email admin@belong.localhost --name "Dev Admin" --role admin 2>/dev/null)
  (umask 077 && echo "$pw" >"$pwfile")
elif [ ! -s "$pwfile" ]; then
  pw=$("$root/bin/belong" users set-password admin@belong.localhost 2>/dev/null)
  (umask 077 && echo "$pw" >"$pwfile")
fi
# A member placed by the current run who consented to community features, so that
# every line below has something to show (peers need that consent).
member=$(psql "$DATABASE_URL" -qtAX -c "SELECT member_id FROM memberships ms JOIN current_run r USING (run_id)
  JOIN members m ON m.id = ms.member_id AND m.consent_community
  WHERE rank = 1 ORDER BY member_id LIMIT 1" 2>/dev/null || true)
member=${member:-m-00001}
community=$(psql "$DATABASE_URL" -qtAX -c "SELECT community_id FROM memberships ms JOIN current_run r USING (run_id)
  WHERE member_id = '$member' AND rank = 1" 2>/dev/null || true)
cat <<TRY

Belong is starting on http://$addr — try (your admin key is in .data/dev-api-key):

  KEY=\$(cat .data/dev-api-key)
  curl -s http://$addr/readyz
  curl -s -H "Authorization: Bearer \$KEY" http://$addr/v1/members/$member/communities
  curl -s -H "Authorization: Bearer \$KEY" "http://$addr/v1/members/$member/peers?limit=5"
  curl -s -H "Authorization: Bearer \$KEY" "http://$addr/v1/members/$member/peers?limit=5&scope=tribe"
  curl -s -H "Authorization: Bearer \$KEY" "http://$addr/v1/members/$member/moment?channel=app"
  curl -s -H "Authorization: Bearer \$KEY" -X POST http://$addr/v1/match -d '{"profile":{"interests":["trail running"],"causes":["sustainability"],"skill_level":"beginner"},"limit":3}'
  curl -s -H "Authorization: Bearer \$KEY" 'http://$addr/v1/communities?limit=5'
  curl -s -H "Authorization: Bearer \$KEY" http://$addr/v1/communities/${community:-c-1}
  curl -s -H "Authorization: Bearer \$KEY" "http://$addr/v1/exports/members?limit=3"
  curl -s -H "Authorization: Bearer \$KEY" http://$addr/openapi.json

The console: http://$addr/console (sign in as admin@belong.localhost with the password
in .data/dev-console-password; add people with belong users create or its People page).

Ctrl-C stops the server; the database keeps running (make db-stop stops it).

TRY
