-- Preload: PutItem of keys 0..BENCH_ITEMS-1 in order (wrapping round, the
-- puts are idempotent), stopping the thread after BENCH_STOP_AFTER
-- responses (see common.stop).  One thread; run.sh then checks with
-- verify.lua.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
  "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local prefix, n, got

function init(args)
  prefix = common.prefix("PutItem")
  n = 0
  got = 0
end

function request()
  local i = n % common.items
  n = n + 1
  local user, note = common.preload_key(i)
  return common.request(prefix, common.item_body(user, note, i))
end

function response(status, headers, body)
  got = got + 1
  if got == common.stop_after then common.stop() end
end
