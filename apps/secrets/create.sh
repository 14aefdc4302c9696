#!/bin/sh
# Create the database passwords compose.yaml mounts as secrets, if they do not exist yet.
# They are random, stay on this machine, and are ignored by git (*.secret).
set -eu
cd "$(dirname "$0")"
umask 022  # readable by the container users (mysql, chat); keep this directory private instead
chmod 700 . 2>/dev/null || true
for name in db_password db_root_password; do
  if [ ! -s "$name.secret" ]; then
    head -c 18 /dev/urandom | base64 | tr -d '/+=\n' > "$name.secret"
    echo "created $(pwd)/$name.secret"
  fi
done
