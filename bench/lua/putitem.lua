-- PutItem load: every request writes a new key.  userId cycles over
-- BENCH_USERS values, noteId is unique per run (BENCH_RUN_TAG), thread and
-- request counter.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
  "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local prefix, n, tagid

function init(args)
  prefix = common.prefix("PutItem")
  n = 0
  tagid = common.tag .. "-" .. (id or 1) .. "-"
end

function request()
  n = n + 1
  return common.request(prefix,
    common.item_body("u" .. (n % common.users), tagid .. n, n))
end
