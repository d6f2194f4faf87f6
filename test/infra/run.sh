#!/usr/bin/env bash
# make test-infra: everything about terraform/ and ansible/ that can be
# checked without a cloud account or a target machine. Each step says what
# it checks; the first failure stops the run. Inputs (the Makefile sets
# them): TOFU, TF_CLI_CONFIG_FILE, EDGE_BIN, GO; KEEP=1 keeps the scratch
# directory for inspection.
set -euo pipefail

: "${TOFU:?path of the tofu binary}" "${TF_CLI_CONFIG_FILE:?tofu CLI configuration (the provider mirror)}"
: "${EDGE_BIN:?path of rustguard-edge}" "${GO:=go}"
export TF_CLI_CONFIG_FILE
# Only the mirror, only this scratch directory: nothing from the caller's
# environment may point tofu elsewhere.
unset TF_PLUGIN_CACHE_DIR TF_DATA_DIR TF_WORKSPACE TF_CLI_ARGS
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

repo=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/rustguard-infra.XXXXXX")
if [ "${KEEP:-}" = 1 ]; then
  echo "scratch directory kept: $scratch"
else
  trap 'rm -rf "$scratch"' EXIT
fi

started=$SECONDS
step() {
  printf '\n== [%3ds] %s\n' "$((SECONDS - started))" "$*"
}

# config_check FILE: the edge loads the environment file exactly as a
# start would (sh reads it as systemd's EnvironmentFile= does, since the
# values hold none of the characters the two read differently).
config_check() {
  env -i PATH=/usr/bin:/bin sh -c 'set -a && . "$1" && exec "$2" config check' config-check "$1" "$EDGE_BIN" >/dev/null
}

step "tofu fmt -check: every .tf file is formatted"
"$TOFU" fmt -check -recursive -diff "$repo/terraform"

step "Go HCL test: module arguments, variables, references, pinned providers, port 25565, PROXY v2, one endpoint group per region"
(cd "$repo" && "$GO" test -count=1 ./test/infra/)

step "tofu init/validate/plan/apply of terraform/environments/local (local provider from the mirror, no network)"
cp -r "$repo/terraform" "$scratch/terraform"
local_root=$scratch/terraform/environments/local
rendered=$scratch/rendered
"$TOFU" -chdir="$local_root" init -input=false -no-color >/dev/null
"$TOFU" -chdir="$local_root" validate -no-color
"$TOFU" -chdir="$local_root" plan -input=false -no-color -out=plan -var "output_dir=$rendered" >/dev/null
"$TOFU" -chdir="$local_root" apply -input=false -no-color plan | tail -n 3
# A second plan must find nothing to do.
if ! "$TOFU" -chdir="$local_root" plan -input=false -no-color -detailed-exitcode -var "output_dir=$rendered" >"$scratch/replan.txt"; then
  cat "$scratch/replan.txt"
  echo "the local root is not idempotent: a plan after apply wants changes" >&2
  exit 1
fi

step "rustguard-edge config check accepts each rendered region environment"
n=0
for f in "$rendered"/env/*.env; do
  config_check "$f" || { echo "rejected: $f" >&2; cat "$f" >&2; exit 1; }
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no environment files were rendered" >&2; exit 1; }
echo "$n environment file(s) accepted"

cd "$repo/ansible"

step "ansible-lint --offline (production profile)"
ansible-lint --offline --nocolor -q

step "ansible-playbook --syntax-check with each inventory (production, staging, the rendered local one)"
for inv in inventories/production inventories/staging "$rendered/ansible/hosts.yml"; do
  ansible-inventory -i "$inv" --graph >/dev/null
  ansible-playbook -i "$inv" site.yml --syntax-check >/dev/null
  echo "ok: $inv"
done

step "ansible-playbook site.yml against localhost into a scratch prefix per host (rustguard_install=false)"
hosts_root=$scratch/hosts
run_site() {
  ansible-playbook -i "$rendered/ansible/hosts.yml" site.yml \
    -e '{"rustguard_install": false}' -e "rustguard_root=$hosts_root/{{ inventory_hostname }}" >"$scratch/ansible-$1.log" || {
    cat "$scratch/ansible-$1.log"
    exit 1
  }
}
run_site first
sed -n '/PLAY RECAP/,$p' "$scratch/ansible-first.log"
# Run again: a second run changes nothing (and so fires no handler).
run_site second
if grep -E 'changed=[1-9]' "$scratch/ansible-second.log"; then
  sed -n '/PLAY RECAP/,$p' "$scratch/ansible-second.log"
  echo "the playbooks are not idempotent: the second run changed files" >&2
  exit 1
fi
echo "second run: nothing changed"

step "systemd-analyze verify each rendered unit"
units=$(find "$hosts_root" -path '*/etc/systemd/system/*.service' | sort)
[ -n "$units" ] || { echo "no units were rendered" >&2; exit 1; }
if command -v systemd-analyze >/dev/null; then
  for u in $units; do
    # verify exits 0 on warnings (an unknown key, a value it ignores):
    # any output is a failure.
    if ! out=$(systemd-analyze verify "$u" 2>&1) || [ -n "$out" ]; then
      echo "$u:" >&2
      echo "$out" >&2
      exit 1
    fi
    echo "ok: ${u#"$hosts_root"/}"
  done
else
  echo "SKIPPED: systemd-analyze is not installed on this machine; the $(wc -w <<<"$units") unit(s) were rendered but not verified"
fi

step "rustguard-edge config check accepts each edge.env the role wrote"
n=0
for f in "$hosts_root"/*/etc/rustguard/edge.env; do
  config_check "$f" || { echo "rejected: $f" >&2; cat "$f" >&2; exit 1; }
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no edge.env was rendered" >&2; exit 1; }
echo "$n edge.env file(s) accepted"

step "redis-server starts with the rendered redis.conf"
for conf in "$hosts_root"/*/etc/redis/redis.conf; do
  d=$(mktemp -d "$scratch/redis.XXXXXX")
  # The file's own port, pid file, directory and supervision are for the
  # real host; a unix socket in scratch replaces them. Redis refuses a bad
  # line before it forks, so a zero exit means the file parsed.
  redis-server "$conf" --port 0 --unixsocket "$d/sock" --dir "$d" --pidfile "$d/pid" \
    --supervised no --daemonize yes --logfile "$d/log" --appendonly no
  for _ in $(seq 50); do [ -S "$d/sock" ] && break; sleep 0.1; done
  pid=$(cat "$d/pid")
  redis-cli -s "$d/sock" ping >/dev/null
  redis-cli -s "$d/sock" shutdown nosave >/dev/null 2>&1 || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill "$pid"; fi
  echo "ok: ${conf#"$hosts_root"/}"
done

step "Grafana provisioning parses, data source uids are unique"
for f in "$hosts_root"/*/etc/grafana/provisioning/*/rustguard.yaml; do
  python3 - "$f" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
assert doc["apiVersion"] == 1, "apiVersion"
uids = [d["uid"] for d in doc.get("datasources", [])]
assert len(uids) == len(set(uids)), "duplicate data source uid"
EOF
  echo "ok: ${f#"$hosts_root"/}"
done

step "done in $((SECONDS - started))s"
