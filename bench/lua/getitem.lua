-- GetItem load: each request reads a random one of the BENCH_ITEMS keys that
-- preload.lua wrote.  Requests are built once in init(), so request() costs
-- the client one random number and a table lookup.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
  "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local reqs, count

function init(args)
  local prefix = common.prefix("GetItem")
  reqs = {}
  for i = 0, common.items - 1 do
    reqs[i + 1] = common.request(prefix, common.key_body(common.preload_key(i)))
  end
  count = #reqs
  math.randomseed(1000 + (id or 1))
end

function request()
  return reqs[math.random(count)]
end
