-- Verify the preload: GetItem of keys 0..BENCH_ITEMS-1 in order; a 2xx
-- answer without an "Item" counts as a miss (global "misses", summed in
-- done()).  Stops after BENCH_STOP_AFTER responses.  One thread.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
  "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local prefix, n, got

function init(args)
  prefix = common.prefix("GetItem")
  n = 0
  got = 0
  misses = 0
end

function request()
  local i = n % common.items
  n = n + 1
  return common.request(prefix, common.key_body(common.preload_key(i)))
end

function response(status, headers, body)
  got = got + 1
  if status >= 200 and status < 300 and not string.find(body, '"Item"', 1, true) then
    misses = misses + 1
  end
  if got == common.stop_after then common.stop() end
end
