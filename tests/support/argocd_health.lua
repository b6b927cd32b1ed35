-- Runs an Argo CD health script the way Argo CD does, with a Lua 5.1 interpreter:
--
--   lua5.1 tests/support/argocd_health.lua SCRIPT.lua < object.json
--
-- The object (e.g. `kubectl get forgerun x -o json`) becomes the global `obj`, JSON
-- null becoming nil as in Argo CD's conversion. The script runs with what Argo CD's
-- gopher-lua VM gives a health script from argocd-cm (util/lua: package, base, table
-- and a safe subset of os; no string, math, io or debug library, and strings have no
-- methods). Prints {"status": ..., "message": ...} as JSON; exits 1 (message on stderr)
-- when the script fails or returns no valid health.

local byte, char, sub, find, format, gsub = string.byte, string.char, string.sub,
  string.find, string.format, string.gsub
local concat = table.concat

-- ------------------------------------------------------------------ JSON decoder

local decode_value

local function fail(pos, what)
  error(format("invalid JSON at byte %d: %s", pos, what), 0)
end

local function skip(s, pos)
  local _, last = find(s, "^[ \t\r\n]*", pos)
  return last + 1
end

local function utf8(code)
  if code < 0x80 then
    return char(code)
  elseif code < 0x800 then
    return char(0xC0 + math.floor(code / 0x40), 0x80 + code % 0x40)
  elseif code < 0x10000 then
    return char(0xE0 + math.floor(code / 0x1000), 0x80 + math.floor(code / 0x40) % 0x40,
      0x80 + code % 0x40)
  end
  return char(0xF0 + math.floor(code / 0x40000), 0x80 + math.floor(code / 0x1000) % 0x40,
    0x80 + math.floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
end

local ESCAPES = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n",
  r = "\r", t = "\t" }

local function decode_string(s, pos)
  -- pos is just past the opening quote
  local parts = {}
  while true do
    local stop = find(s, '["\\]', pos)
    if stop == nil then
      fail(pos, "unterminated string")
    end
    parts[#parts + 1] = sub(s, pos, stop - 1)
    if sub(s, stop, stop) == '"' then
      return concat(parts), stop + 1
    end
    local e = sub(s, stop + 1, stop + 1)
    if e == "u" then
      local hex = sub(s, stop + 2, stop + 5)
      if not find(hex, "^%x%x%x%x$") then
        fail(stop, "bad \\u escape")
      end
      local code = tonumber(hex, 16)
      pos = stop + 6
      if code >= 0xD800 and code <= 0xDBFF and sub(s, pos, pos + 1) == "\\u" then
        local low = tonumber(sub(s, pos + 2, pos + 5), 16)
        if low and low >= 0xDC00 and low <= 0xDFFF then
          code = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00)
          pos = pos + 6
        end
      end
      parts[#parts + 1] = utf8(code)
    elseif ESCAPES[e] then
      parts[#parts + 1] = ESCAPES[e]
      pos = stop + 2
    else
      fail(stop, "bad escape")
    end
  end
end

local function decode_array(s, pos)
  local out, n = {}, 0
  pos = skip(s, pos)
  if sub(s, pos, pos) == "]" then
    return out, pos + 1
  end
  while true do
    local value
    value, pos = decode_value(s, pos)
    n = n + 1
    out[n] = value
    pos = skip(s, pos)
    local c = sub(s, pos, pos)
    if c == "]" then
      return out, pos + 1
    elseif c ~= "," then
      fail(pos, "expected , or ]")
    end
    pos = pos + 1
  end
end

local function decode_object(s, pos)
  local out = {}
  pos = skip(s, pos)
  if sub(s, pos, pos) == "}" then
    return out, pos + 1
  end
  while true do
    pos = skip(s, pos)
    if sub(s, pos, pos) ~= '"' then
      fail(pos, "expected a key")
    end
    local key
    key, pos = decode_string(s, pos + 1)
    pos = skip(s, pos)
    if sub(s, pos, pos) ~= ":" then
      fail(pos, "expected :")
    end
    local value
    value, pos = decode_value(s, pos + 1)
    out[key] = value
    pos = skip(s, pos)
    local c = sub(s, pos, pos)
    if c == "}" then
      return out, pos + 1
    elseif c ~= "," then
      fail(pos, "expected , or }")
    end
    pos = pos + 1
  end
end

function decode_value(s, pos)
  pos = skip(s, pos)
  local c = sub(s, pos, pos)
  if c == "{" then
    return decode_object(s, pos + 1)
  elseif c == "[" then
    return decode_array(s, pos + 1)
  elseif c == '"' then
    return decode_string(s, pos + 1)
  elseif sub(s, pos, pos + 3) == "true" then
    return true, pos + 4
  elseif sub(s, pos, pos + 4) == "false" then
    return false, pos + 5
  elseif sub(s, pos, pos + 3) == "null" then
    return nil, pos + 4
  end
  local first, last = find(s, "^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  if first == nil then
    fail(pos, "unexpected character")
  end
  return tonumber(sub(s, first, last)), last + 1
end

local function decode(s)
  local value, pos = decode_value(s, 1)
  pos = skip(s, pos)
  if pos <= #s then
    fail(pos, "trailing characters")
  end
  return value
end

-- ------------------------------------------------------------------ output

local function quote(s)
  return '"' .. gsub(s, '[%c"\\]', function(c)
    return format("\\u%04x", byte(c))
  end) .. '"'
end

local function die(message)
  io.stderr:write(message, "\n")
  os.exit(1)
end

-- ------------------------------------------------------------------ run

local script_path = arg[1]
if script_path == nil then
  die("usage: lua5.1 argocd_health.lua SCRIPT.lua < object.json")
end
local script, why = loadfile(script_path)
if script == nil then
  die("cannot load " .. script_path .. ": " .. why)
end
local ok, obj = pcall(decode, io.read("*a"))
if not ok then
  die(obj)
end

-- What Argo CD opens for a health script from argocd-cm (useOpenLibraries unset).
local env = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
  pcall = pcall, print = print, rawequal = rawequal, rawget = rawget, rawset = rawset,
  select = select, setmetatable = setmetatable, getmetatable = getmetatable,
  tonumber = tonumber, tostring = tostring, type = type, unpack = unpack,
  xpcall = xpcall, _VERSION = _VERSION,
  table = { concat = table.concat, insert = table.insert, remove = table.remove,
    sort = table.sort, maxn = table.maxn, getn = table.getn },
  os = { time = os.time, date = os.date, clock = os.clock, difftime = os.difftime },
  obj = obj,
}
env._G = env
setfenv(script, env)
-- gopher-lua gives strings methods only with the string library: take them away.
local string_meta = getmetatable("")
local string_index = string_meta.__index
string_meta.__index = nil
local ran, hs = pcall(script)
string_meta.__index = string_index
if not ran then
  die("the health script failed: " .. tostring(hs))
end
if type(hs) ~= "table" then
  die("the health script returned " .. type(hs) .. ", not a table")
end
local VALID = { Healthy = true, Progressing = true, Degraded = true, Suspended = true,
  Missing = true, Unknown = true }
if not VALID[hs.status] then
  die("invalid health status: " .. tostring(hs.status))
end
if hs.message ~= nil and type(hs.message) ~= "string" then
  die("the message is a " .. type(hs.message) .. ", not a string")
end
io.write('{"status": ', quote(hs.status), ', "message": ', quote(hs.message or ""), "}\n")
