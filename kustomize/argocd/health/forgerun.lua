-- Argo CD health check for neam.dev/v1alpha1 ForgeRun.
-- The source of truth: `make argocd-health` embeds common.lua and this file into
-- kustomize/argocd/health/argocd-cm-health.yaml as resource.customizations.health.neam.dev_ForgeRun.
-- Argo CD runs it in gopher-lua (Lua 5.1) with only the base, table and os libraries:
-- no string or math functions here.
--
--   Progressing  no status yet; Pending (the reason, e.g. Unschedulable, leads the
--                message); Running (also Retrying); the spec not observed yet
--   Healthy      Succeeded (outcome completed)
--   Degraded     Failed, a compile error (Compiled=False); message = the run's message
--   Suspended    Stopped, or spec.stop set (the run is stopping)
-- A finished run (phase, completionTime and the Succeeded condition agree) is final:
-- only its TTL can still change, so a later spec edit does not make it Progressing
-- while the operator catches up.

local function health(obj)
  local status = obj.status
  if type(status) ~= "table" or text(status.phase) == nil then
    return verdict("Progressing", "waiting for the operator")
  end
  local spec = map(obj.spec)
  local meta = map(obj.metadata)
  local phase = status.phase
  local ready = map(condition(status, "Ready"))
  local reason = text(status.reason) or text(ready.reason)
  local message = text(status.message)

  local compiled = condition(status, "Compiled")
  if compiled ~= nil and compiled.status == "False" then
    return verdict("Degraded", message or text(compiled.message) or reason or "compile error")
  end

  local succeeded = condition(status, "Succeeded")
  local terminal = phase == "Succeeded" or phase == "Failed" or phase == "Stopped"
  local finished = terminal and text(status.completionTime) ~= nil and succeeded ~= nil
    and (succeeded.status == "True" or succeeded.status == "False")
  local stale = type(meta.generation) == "number" and type(status.observedGeneration) == "number"
    and status.observedGeneration < meta.generation

  if terminal and (finished or not stale) then
    if phase == "Succeeded" then
      return verdict("Healthy", message or "completed")
    elseif phase == "Failed" then
      local stalled = map(condition(status, "Stalled"))
      return verdict("Degraded", message or text(stalled.message) or reason or "failed")
    end
    return verdict("Suspended", message or "stopped by spec.stop")
  end
  if spec.stop == true then
    if not stale and reason == "Stopping" and message ~= nil then
      return verdict("Suspended", message)
    end
    return verdict("Suspended", "stopping (spec.stop)")
  end
  if stale then
    return verdict("Progressing", "waiting for the operator to observe generation "
      .. meta.generation .. " (status is of generation " .. status.observedGeneration .. ")")
  end
  local stalled = condition(status, "Stalled")
  if stalled ~= nil and stalled.status == "True" then
    return verdict("Degraded", message or text(stalled.message) or reason or "stalled")
  end
  if phase == "Pending" or phase == "Running" then
    local default = "running"
    if phase == "Pending" then
      default = "waiting for the forge pod"
    end
    local said = message or default
    if reason ~= nil and reason ~= phase then
      said = reason .. ": " .. said
    end
    return verdict("Progressing", said)
  end
  return verdict("Unknown", "unknown phase " .. phase)
end

return health(obj)
