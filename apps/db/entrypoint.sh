#!/bin/sh
# Initialise the data directory on first start (root password from the environment or a secret
# file, never a built-in default), then run mariadbd in the foreground.
set -eu

DATADIR=/var/lib/mysql

# VAR, VAR_FILE, and the MARIADB_/MYSQL_ spellings of the official images all work.
read_setting() {
  for prefix in MARIADB MYSQL; do
    eval "file=\${${prefix}_$1_FILE:-}"
    if [ -n "$file" ]; then
      if [ ! -r "$file" ]; then
        echo "db: ${prefix}_$1_FILE=$file is not readable; mount the secret there" >&2
        exit 2
      fi
      tr -d '\n' < "$file"
      return
    fi
    eval "value=\${${prefix}_$1:-}"
    if [ -n "$value" ]; then
      printf '%s' "$value"
      return
    fi
  done
}

sql_quote() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g"; }

if [ "${1:-}" = "mariadbd" ] && [ ! -d "$DATADIR/mysql" ]; then
  ROOT_PASSWORD=$(read_setting ROOT_PASSWORD)
  if [ -z "$ROOT_PASSWORD" ]; then
    echo "db: the database is not initialised and no root password was given." >&2
    echo "db: set MYSQL_ROOT_PASSWORD_FILE to a secret file (or MYSQL_ROOT_PASSWORD)." >&2
    exit 2
  fi
  DATABASE=$(read_setting DATABASE)
  USER_NAME=$(read_setting USER)
  USER_PASSWORD=$(read_setting PASSWORD)
  if [ -n "$USER_NAME" ] && [ -z "$USER_PASSWORD" ]; then
    echo "db: MYSQL_USER=$USER_NAME needs MYSQL_PASSWORD_FILE (or MYSQL_PASSWORD)" >&2
    exit 2
  fi

  echo "db: initialising a new database in $DATADIR"
  mariadb-install-db --datadir="$DATADIR" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve > /dev/null
  SOCKET=/run/mysqld/init.sock
  mariadbd --datadir="$DATADIR" --skip-networking --socket="$SOCKET" &
  pid=$!
  i=0
  until mariadb --socket="$SOCKET" -uroot -e 'SELECT 1' > /dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 60 ]; then echo "db: temporary server did not start" >&2; exit 1; fi
    sleep 1
  done
  rp=$(sql_quote "$ROOT_PASSWORD")
  {
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$rp';"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY '$rp';"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "$DATABASE" ]; then
      echo "CREATE DATABASE IF NOT EXISTS \`$DATABASE\` CHARACTER SET utf8mb4;"
    fi
    if [ -n "$USER_NAME" ]; then
      echo "CREATE USER '$USER_NAME'@'%' IDENTIFIED BY '$(sql_quote "$USER_PASSWORD")';"
      [ -n "$DATABASE" ] && echo "GRANT ALL ON \`$DATABASE\`.* TO '$USER_NAME'@'%';"
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket="$SOCKET" -uroot
  mariadb --socket="$SOCKET" -uroot -p"$ROOT_PASSWORD" -e 'SHUTDOWN'
  wait "$pid" || true
  echo "db: initialisation done"
fi

if [ "${1:-}" = "mariadbd" ]; then
  shift
  # Debian's config binds to 127.0.0.1; a database container must accept other containers.
  exec mariadbd --datadir="$DATADIR" --bind-address=0.0.0.0 --skip-name-resolve "$@"
fi
exec "$@"
