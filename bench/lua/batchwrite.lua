-- BatchWriteItem load: every request puts 25 new notes (the PutItem item
-- shape; userId cycles over BENCH_USERS "u" users, noteId unique per run,
-- thread and item).  An answer with UnprocessedItems not empty counts as a
-- miss (an error): every item of a clean run was written.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
  "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local prefix, n, tagid
local BATCH = 25

function init(args)
  prefix = common.prefix("BatchWriteItem")
  n = 0
  tagid = common.tag .. "-" .. (id or 1) .. "-"
  misses = 0
end

function request()
  local items = {}
  for k = 1, BATCH do
    n = n + 1
    items[k] = common.item_json("u" .. (n % common.users), tagid .. n, n)
  end
  return common.request(prefix, common.batch_body(common.table, items))
end

function response(status, headers, body)
  if status >= 200 and status < 300 and common.unprocessed(body) then
    misses = misses + 1
  end
end
