-- Helpers shared by the neam.dev health checks. `make argocd-health` puts this file
-- in front of each kind's script (Argo CD runs every argocd-cm health script on its
-- own, so each embedded script carries them).

local function condition(status, kind)
  if type(status.conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if type(c) == "table" and c.type == kind then
      return c
    end
  end
  return nil
end

local function text(value)
  if type(value) == "string" and value ~= "" then
    return value
  end
  return nil
end

local function map(value)
  if type(value) == "table" then
    return value
  end
  return {}
end

local function verdict(status, message)
  return { status = status, message = message }
end
