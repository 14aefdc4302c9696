#!/bin/sh
# Render the nginx config from the environment, then run nginx in the foreground.
set -eu
case "$CHAT_URL" in
  http://*|https://*) ;;
  *) echo "web: CHAT_URL=$CHAT_URL must start with http:// (e.g. http://chat:8000)" >&2; exit 2 ;;
esac
envsubst '${NGINX_PORT} ${CHAT_URL}' < /etc/nginx/d2k.conf.template > /tmp/nginx.conf
exec nginx -e stderr -c /tmp/nginx.conf -g 'daemon off;'
