# Shared by scripts/backup and scripts/restore (sourced, not run): the project's Python and
# the PostgreSQL client programs whose major version matches the server's.

# The project's interpreter: .venv's locally, the image's python on Fly.
project_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"
  elif [ -x .venv/bin/python ]; then echo .venv/bin/python
  elif command -v python >/dev/null 2>&1; then echo python
  else echo python3
  fi
}

# libpq spells the scheme postgresql:// or postgres://; Django's URLs may use either.
libpq_url() { echo "${1/#postgres:\/\//postgresql://}"; }

# url_part URL user|dbname: one part of a database URL.
url_part() {
  "$(project_python)" -c '
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.unquote(p.username or "") if sys.argv[2] == "user" else u.unquote(p.path.lstrip("/")))
' "$1" "$2"
}

# server_major URL: the server's major version (15 for 15.4), asked with psycopg.
server_major() {
  "$(project_python)" -c '
import sys, psycopg
with psycopg.connect(sys.argv[1], connect_timeout=10) as c:
    print(c.info.server_version // 10000)
' "$(libpq_url "$1")"
}

# pg_bin MAJOR: a folder holding pg_dump, pg_restore and psql of that major version. Looks at
# $PG_BIN, Debian's /usr/lib/postgresql/<major>/bin, the PATH, then the binaries bundled with
# the pgserver wheel (the embedded server's). pg_dump refuses a newer server, and its output
# may not restore with an older pg_restore: the major versions must match.
pg_bin() {
  local want=$1 dir candidates=()
  [ -n "${PG_BIN:-}" ] && candidates+=("$PG_BIN")
  candidates+=("/usr/lib/postgresql/$want/bin")
  command -v pg_dump >/dev/null 2>&1 && candidates+=("$(dirname "$(command -v pg_dump)")")
  dir=$("$(project_python)" -c 'from pgserver._commands import POSTGRES_BIN_PATH as p; print(p)' \
    2>/dev/null) && candidates+=("$dir")
  for dir in "${candidates[@]}"; do
    [ -x "$dir/pg_dump" ] && [ -x "$dir/pg_restore" ] && [ -x "$dir/psql" ] || continue
    if [ "$("$dir/pg_dump" --version | sed -E 's/.* ([0-9]+)[.0-9a-z]*( .*)?$/\1/')" = "$want" ]
    then echo "$dir"; return 0; fi
  done
  echo "no pg_dump/pg_restore/psql of PostgreSQL $want found (set PG_BIN to their folder)" >&2
  return 1
}
