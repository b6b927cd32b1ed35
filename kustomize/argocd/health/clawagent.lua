-- Argo CD health check for neam.dev/v1alpha1 ClawAgent.
-- The source of truth: `make argocd-health` embeds common.lua and this file into
-- kustomize/argocd/health/argocd-cm-health.yaml as resource.customizations.health.neam.dev_ClawAgent.
-- Argo CD runs it in gopher-lua (Lua 5.1) with only the base, table and os libraries:
-- no string or math functions here.
--
--   Progressing  no status yet; the spec not observed yet; rolling out (the Ready
--                condition is not True, e.g. RollingOut, or SourceNotFound), even while
--                the old pods still serve (phase Ready or Degraded)
--   Healthy      Ready: as many pods ready as desired, on the current program
--   Degraded     the program does not compile (Compiled=False: nothing served, or the
--                previous program still served), Stalled=True (the rollout passed its
--                deadline, a refused spec), phase Failed; message = the agent's message

local function health(obj)
  local status = obj.status
  if type(status) ~= "table" or text(status.phase) == nil then
    return verdict("Progressing", "waiting for the operator")
  end
  local meta = map(obj.metadata)
  local phase = status.phase
  local message = text(status.message)
  if type(meta.generation) == "number" and type(status.observedGeneration) == "number"
    and status.observedGeneration < meta.generation then
    return verdict("Progressing", "waiting for the operator to observe generation "
      .. meta.generation .. " (status is of generation " .. status.observedGeneration .. ")")
  end

  local compiled = condition(status, "Compiled")
  if compiled ~= nil and compiled.status == "False" then
    return verdict("Degraded", message or text(compiled.message) or text(compiled.reason)
      or "the program does not compile")
  end
  local stalled = condition(status, "Stalled")
  if stalled ~= nil and stalled.status == "True" then
    return verdict("Degraded", message or text(stalled.message) or text(stalled.reason)
      or "stalled")
  end
  if phase == "Failed" then
    return verdict("Degraded", message or "failed")
  end

  local ready = condition(status, "Ready")
  if phase == "Ready" and (ready == nil or ready.status == "True") then
    return verdict("Healthy", message or text(status.ready) or "ready")
  end
  if phase == "Ready" or phase == "Pending" or phase == "Degraded" then
    local said = message or (ready and text(ready.message)) or "rolling out"
    local reason = ready and text(ready.reason)
    if reason ~= nil then
      said = reason .. ": " .. said
    end
    return verdict("Progressing", said)
  end
  return verdict("Unknown", "unknown phase " .. phase)
end

return health(obj)
