#!/usr/bin/env bash
# deploy/cluster.sh up|down|status: run the compose cluster in
# deploy/compose.yaml. On first use `up` writes deploy/cluster.env (mode
# 600, not committed) with a random cluster secret and root S3 key; later
# runs reuse it, so the data in the volumes stays reachable.
set -euo pipefail
cd "$(dirname "$0")"
env_file=cluster.env
project=${GRANARY_PROJECT:-granary}

compose() {
	if docker compose version >/dev/null 2>&1; then
		docker compose -p "$project" -f compose.yaml --env-file "$env_file" "$@"
	else
		docker-compose -p "$project" -f compose.yaml --env-file "$env_file" "$@"
	fi
}

rand() { head -c "$1" /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "$2"; }

case "${1:-}" in
up)
	if [ ! -f "$env_file" ]; then
		umask 077
		{
			echo "GRANARY_CLUSTER_SECRET=$(rand 64 48)"
			echo "GRANARY_ACCESS_KEY=GR$(rand 32 18 | tr a-z A-Z)"
			echo "GRANARY_SECRET_KEY=$(rand 64 40)"
		} >"$env_file"
	fi
	compose up -d
	# shellcheck disable=SC1090
	. "./$env_file"
	echo
	echo "Granary cluster is up: S3 on http://127.0.0.1:${GRANARY_S3_PORT:-9000}"
	echo "  access key: $GRANARY_ACCESS_KEY"
	echo "  secret key: $GRANARY_SECRET_KEY"
	echo "  status:     (set -a; . deploy/$env_file; granary admin --masters 127.0.0.1:${GRANARY_MASTER1_PORT:-9341} status)"
	;;
down)
	if [ -f "$env_file" ]; then
		compose down -v --remove-orphans
	fi
	;;
status)
	compose ps
	;;
*)
	echo "usage: deploy/cluster.sh up|down|status" >&2
	exit 2
	;;
esac
