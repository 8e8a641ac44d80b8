-- The SCIM request mix of bench/throughput.sh: 50% userName eq lookups, 30% GET by id,
-- 10% POST (new users), 10% PATCH (displayName). Ids and names come from ids.txt (seed.py).
-- BENCH_ONLY=reads or BENCH_ONLY=writes keeps only the reads (5:3) or the writes (1:1) of the
-- mix, to see what each part costs.
local token = os.getenv("BENCH_TOKEN") or "bench-token"
local prefix = os.getenv("BENCH_PREFIX") or "/scim/v2"
local only = os.getenv("BENCH_ONLY") or ""
local ids, names = {}, {}
local counter = 0
local made = 0

-- Runs in the main state: give each thread a distinct tag (time + thread number), so the users
-- POSTed by different threads and different runs never collide.
function setup(thread)
  made = made + 1
  thread:set("tag", os.time() .. "-" .. made)
end

function init(args)
  local f = io.open(os.getenv("BENCH_IDS") or "ids.txt", "r")
  for line in f:lines() do
    local id, name = line:match("([^ ]+) ([^ ]+)")
    ids[#ids + 1] = id
    names[#names + 1] = name
  end
  f:close()
  math.randomseed(os.time() + #tostring(tag) * 7919 + tonumber((tostring(tag):gsub("%D", ""))) % 100000)
end

local headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/scim+json",
}

function request()
  local r = math.random(100)
  if only == "reads" then
    r = math.random(80)
  elseif only == "writes" then
    r = 80 + math.random(20)
  end
  local i = math.random(#ids)
  if r <= 50 then
    local q = names[i]:gsub("@", "%%40")
    return wrk.format("GET", prefix .. "/Users?filter=userName%20eq%20%22" .. q .. "%22", headers)
  elseif r <= 80 then
    return wrk.format("GET", prefix .. "/Users/" .. ids[i], headers)
  elseif r <= 90 then
    counter = counter + 1
    local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new-' .. tag .. '-' .. counter .. '@example.com","name":{"givenName":"New","familyName":"User"},"emails":[{"value":"new@example.com","primary":true}]}'
    return wrk.format("POST", prefix .. "/Users", headers, body)
  else
    local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Name ' .. math.random(1e6) .. '"}]}'
    return wrk.format("PATCH", prefix .. "/Users/" .. ids[i], headers, body)
  end
end

local errors = 0
function response(status, headers, body)
  if status >= 400 and status ~= 409 then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.status))
end
