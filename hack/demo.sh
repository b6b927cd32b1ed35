#!/usr/bin/env bash
# The main job (`make demo`):
#   1. the language: check, compile and run the example programs (hack/demo-language.sh);
#   2. a forge loop without Kubernetes: neam-forge with the scripted provider writes
#      files and commits each iteration to git;
#   3. the operator on real pods: the e2e cluster (hack/e2e.sh: a local control plane,
#      a real kubelet and containerd, the operator running in it from the dev overlay)
#      runs examples/k8s/: a ForgeRun (and one that does not compile; `kubectl get
#      forgeruns` shows the real iteration count and cost, and the demo shows the files
#      and git history the agent left on its volume), a ClawAgent it talks to, and an
#      AgentDAG whose nodes pass their results on.
# The LLM of step 3 is the project's OpenAI-compatible stub on 127.0.0.1
# (tests/support/llm_stubs.py), answering from hack/demo/hello.replies.yaml: no key,
# no network. The cluster keeps running afterwards; `make e2e-down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="$PWD/.venv/bin"
NS=neam-demo
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

bash hack/demo-language.sh

step "neam-forge: the offline example forge agent (scripted provider, git checkpoints)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/neam-forge-demo.XXXXXX")"
STUB_PID=""
cleanup() {
  if [[ -n "$STUB_PID" ]]; then
    kill "$STUB_PID" 2>/dev/null && wait "$STUB_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
"$BIN/neam-forge" --agent examples/forge/hello_builder.neam --workspace "$WORK/ws" --verbose
echo "--- files the agent wrote:"
(cd "$WORK/ws" && ls && git log --oneline)

if why="$(bash hack/e2e.sh preflight)"; then :; else
  echo
  echo "Step 3 runs pods on a real kubelet and needs root on Linux: $why."
  echo "Run 'sudo make demo' (or 'make cluster-up' for a control plane without real pods)."
  exit 1
fi

step "build what the e2e cluster runs (first time: ~20 min; cached in ${NEAM_CACHE_DIR:-~/.cache/neam-operator})"
bash hack/e2e.sh deps
bash hack/cluster-binaries.sh
bash hack/image.sh

step "the e2e cluster: control plane, real kubelet + containerd, the operator in it"
bash hack/e2e.sh up
eval "$(bash hack/e2e.sh env)"
kubectl get nodes -o wide
kubectl -n neam-system get deployment,pods

step "a stand-in LLM on 127.0.0.1 (OpenAI-compatible; pods share the host network)"
random_key() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
KEY="sk-demo-$(random_key)"
"$BIN/python" -m tests.support.llm_stubs --port 0 --kind openai --api-key "$KEY" \
  --replies hack/demo/hello.replies.yaml >"$WORK/llm.log" 2>&1 &
STUB_PID=$!
for _ in $(seq 100); do
  URL="$(sed -n 's/^llm stub (openai) listening on //p' "$WORK/llm.log")"
  [[ -n "$URL" ]] && break
  kill -0 "$STUB_PID" 2>/dev/null || { cat "$WORK/llm.log"; exit 1; }
  sleep 0.1
done
echo "listening on $URL"

step "namespace $NS (labelled so the test cluster runs its pods on the real node)"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f -
kubectl label --overwrite namespace "$NS" neam.dev/e2e-real-pods=true
kubectl -n "$NS" delete forgerun hello broken --ignore-not-found --wait=true >/dev/null
kubectl -n "$NS" delete clawagent support --ignore-not-found --wait=true >/dev/null
kubectl -n "$NS" create secret generic llm-provider --from-literal=OPENAI_API_KEY="$KEY" \
  --from-literal=OPENAI_BASE_URL="$URL" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
echo "secret/llm-provider holds OPENAI_API_KEY and OPENAI_BASE_URL (the pods get them as env)"
API_KEY="$(random_key)"
kubectl -n "$NS" create secret generic support-keys --from-literal=api-key="$API_KEY" \
  --from-literal=admin-key="$(random_key)" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
echo "secret/support-keys holds random keys for the ClawAgent (instead of examples/k8s/support-keys.yaml)"

step "kubectl apply -n $NS: examples/k8s/ (ForgeRun hello and its ConfigMap, ClawAgent support and its ConfigMap)"
kubectl -n "$NS" apply -f examples/k8s/configmap.yaml -f examples/k8s/forgerun.yaml \
  -f examples/k8s/clawagent.yaml

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

step "kubectl wait --for=condition=Succeeded forgerun/hello  (the forge loop runs in a pod)"
kubectl -n "$NS" wait --for=condition=Succeeded forgerun/hello --timeout=180s
kubectl -n "$NS" wait --for=jsonpath='{.status.phase}'=Failed forgerun/broken --timeout=60s

step "kubectl get forgeruns"
kubectl -n "$NS" get forgeruns
echo
echo "--- why 'broken' failed (condition Compiled):"
kubectl -n "$NS" get forgerun broken \
  -o jsonpath='{range .status.conditions[?(@.type=="Compiled")]}{.reason}: {.message}{"\n"}{end}'
echo "--- events of 'hello':"
RUN_UID="$(kubectl -n "$NS" get forgerun hello -o jsonpath='{.metadata.uid}')"
kubectl -n "$NS" get events --field-selector "involvedObject.uid=$RUN_UID" \
  --sort-by=.metadata.creationTimestamp -o custom-columns=REASON:.reason,MESSAGE:.message
echo "--- the forge pod's log:"
kubectl -n "$NS" logs job/hello-forge

step "the workspace volume: what the agent wrote, one git commit per iteration"
CLAIM="$(kubectl -n "$NS" get forgerun hello -o jsonpath='{.status.children.workspace}')"
VOLUME="$(kubectl -n "$NS" get pvc "$CLAIM" -o jsonpath='{.spec.volumeName}')"
DIR="$(kubectl get pv "$VOLUME" -o jsonpath='{.spec.local.path}')"
echo "PVC $CLAIM -> PV $VOLUME -> $DIR (a local volume of the node)"
ls -ln "$DIR"
echo "--- hello.txt:"
cat "$DIR/hello.txt"
git -c safe.directory="$DIR" -C "$DIR" log --format='%h %s'

step "the ClawAgent support: neam-api in a Deployment, keys from the Secret"
kubectl -n "$NS" wait --for=condition=Ready clawagent/support --timeout=180s
kubectl -n "$NS" get clawagents
PORT="$(kubectl -n "$NS" get clawagent support -o jsonpath='{.spec.port}')"
# Pods share the host network on this test cluster: the Service's port is on 127.0.0.1.
say() {
  echo "user: $1"
  "$BIN/python" - "$PORT" "$API_KEY" "$1" <<'PY'
import json, sys, urllib.request
port, key, text = sys.argv[1:]
request = urllib.request.Request(
    f"http://127.0.0.1:{port}/api/v1/claw/support_bot/sessions/ada/message",
    data=json.dumps({"message": text}).encode(),
    headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
)
with urllib.request.urlopen(request, timeout=60) as response:
    print("support_bot:", json.load(response)["response"])
PY
}
say "Hi, I am Ada."
say "What is my name, and when does ORD-1 ship?"
CLAIM="$(kubectl -n "$NS" get pvc -l neam.dev/clawagent=support -o jsonpath='{.items[0].metadata.name}')"
VOLUME="$(kubectl -n "$NS" get pvc "$CLAIM" -o jsonpath='{.spec.volumeName}')"
SESSION="$(kubectl get pv "$VOLUME" -o jsonpath='{.spec.local.path}')/sessions/support_bot/ada.jsonl"
echo "--- the session on the sessions volume ($SESSION):"
"$BIN/python" - "$SESSION" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    turn = json.loads(line)
    print(f"  user: {turn['user']!r} -> assistant: {turn['assistant']!r}")
PY

step "the AgentDAG market-report: research -> analysis -> report, one pod per node"
kubectl -n "$NS" delete agentdag market-report --ignore-not-found --wait=true >/dev/null
kubectl -n "$NS" apply -f examples/k8s/agentdag.yaml
kubectl -n "$NS" wait --for=condition=Succeeded agentdag/market-report --timeout=300s
kubectl -n "$NS" get agentdags
echo "--- each node's result (the next node's prompt ends with these):"
kubectl -n "$NS" get agentdag market-report \
  -o jsonpath='{range .status.nodes[*]}{.id}{" ("}{.cost}{"): "}{.result}{"\n"}{end}'

cat <<MSG

The e2e cluster is still up. Explore it with:
  eval "\$(make -s e2e-env)"; kubectl -n $NS get forgeruns,clawagents,agentdags,jobs,pods
Remove it (and everything it changed on this machine) with: make e2e-down
MSG
