#!/usr/bin/env bash
# The main job (`make demo`):
#   1. the language: check, compile and run the example programs (hack/demo-language.sh);
#   2. a forge loop offline: neam-forge with the scripted provider writes files and
#      commits each iteration to git;
#   3. the operator on a local control plane: build/start the KWOK cluster, install
#      the CRDs, run neam-operator, apply a ConfigMap + ForgeRun pair and a broken
#      ForgeRun, and show what `kubectl get forgeruns` reports.
# The cluster is left running for exploration; `make cluster-down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="$PWD/.venv/bin"
NS=neam-demo
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

bash hack/demo-language.sh

step "neam-forge: the offline example forge agent (scripted provider, git checkpoints)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/neam-forge-demo.XXXXXX")"
OPERATOR_PID=""
cleanup() {
  [[ -n "$OPERATOR_PID" ]] && kill "$OPERATOR_PID" 2>/dev/null && wait "$OPERATOR_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
"$BIN/neam-forge" --agent examples/forge/hello_builder.neam --workspace "$WORK/ws" --verbose
echo "--- files the agent wrote:"
(cd "$WORK/ws" && ls && git log --oneline)

step "control plane: build the binaries if missing (first run: ~10 min), start the cluster"
bash hack/cluster-binaries.sh
bash hack/cluster.sh up
eval "$(bash hack/cluster.sh env)"
echo "KUBECONFIG=$KUBECONFIG"
kubectl version 2>/dev/null | grep -i "^server version" || true

step "kubectl apply -f crds/"
kubectl apply -f crds/
kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null

step "neam-operator (log: $WORK/operator.log)"
"$BIN/neam-operator" --namespace "$NS" >"$WORK/operator.log" 2>&1 &
OPERATOR_PID=$!
for _ in $(seq 100); do
  "$BIN/python" -c 'import urllib.request as u; u.urlopen("http://127.0.0.1:8081/healthz", timeout=1)' \
    2>/dev/null && break
  kill -0 "$OPERATOR_PID" 2>/dev/null || { cat "$WORK/operator.log"; exit 1; }
  sleep 0.2
done
echo "operator is live (GET http://127.0.0.1:8081/healthz)"

step "kubectl apply -n $NS -f examples/k8s/  (ConfigMap hello-forge-source + ForgeRun hello)"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$NS" delete forgerun hello broken --ignore-not-found --wait=true >/dev/null
kubectl -n "$NS" apply -f examples/k8s/

step "a ForgeRun whose program does not compile"
kubectl -n "$NS" apply -f - <<'YAML'
apiVersion: neam.dev/v1alpha1
kind: ForgeRun
metadata:
  name: broken
spec:
  source:
    inline: |
      forge agent builder {
        provider: "openai"
        model: "gpt-4o"
        verify: missing_check
      }
YAML

step "kubectl wait --for=condition=Succeeded forgerun/hello"
kubectl -n "$NS" wait --for=condition=Succeeded forgerun/hello --timeout=120s
kubectl -n "$NS" wait --for=jsonpath='{.status.phase}'=Failed forgerun/broken --timeout=60s

step "kubectl get forgeruns"
kubectl -n "$NS" get forgeruns
echo
echo "--- why 'broken' failed (condition Compiled):"
kubectl -n "$NS" get forgerun broken \
  -o jsonpath='{range .status.conditions[?(@.type=="Compiled")]}{.reason}: {.message}{"\n"}{end}'
echo "--- children of 'hello' (owned, deterministic names):"
kubectl -n "$NS" get configmap,pvc,serviceaccount,role,rolebinding,job \
  -l neam.dev/forgerun=hello 2>/dev/null || kubectl -n "$NS" get job,pvc,configmap

cat <<MSG

On this local cluster pods do not execute (KWOK fakes the node), so 'hello'
completes without running its loop; step 2 showed the loop that its pod runs.
The cluster is still up. Explore it with:
  eval "\$(make -s cluster-env)"; kubectl -n $NS get forgeruns
Remove it with: make cluster-down
MSG
