#!/usr/bin/env bash
# deploy/cluster.sh up|down|status: run the compose cluster in
# deploy/compose.yaml. On first use `up` writes deploy/cluster.env (mode
# 600, not committed) with a random cluster secret and root S3 key; later
# runs reuse it, so the data in the volumes stays reachable. The cluster
# makes its own CA and certificates (mutual TLS on every hop); `up` copies
# the CA and the client certificate to deploy/certs/ (not committed) for
# the CLI and S3 clients on this host.
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
	mkdir -p certs
	chmod 700 certs
	certs=$(compose ps -a -q certs)
	for f in ca.pem client.pem client-key.pem; do
		docker cp "$certs:/data/$f" "certs/$f"
	done
	# shellcheck disable=SC1090
	. "./$env_file"
	echo
	echo "Granary cluster is up: S3 on https://127.0.0.1:${GRANARY_S3_PORT:-9000} (its CA: deploy/certs/ca.pem)"
	echo "  access key: $GRANARY_ACCESS_KEY"
	echo "  secret key: $GRANARY_SECRET_KEY"
	echo "  S3:         aws --endpoint-url https://127.0.0.1:${GRANARY_S3_PORT:-9000} --ca-bundle deploy/certs/ca.pem s3 ls"
	echo "  status:     (set -a; . deploy/$env_file; granary admin --masters 127.0.0.1:${GRANARY_MASTER1_PORT:-9341} \\"
	echo "                --cluster-ca deploy/certs/ca.pem --cluster-cert deploy/certs/client.pem --cluster-key deploy/certs/client-key.pem status)"
	;;
down)
	if [ -f "$env_file" ]; then
		compose down -v --remove-orphans
	fi
	rm -rf certs
	;;
status)
	compose ps
	;;
*)
	echo "usage: deploy/cluster.sh up|down|status" >&2
	exit 2
	;;
esac
