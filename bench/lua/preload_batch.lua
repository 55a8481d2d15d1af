-- Preload by BatchWriteItem, 25 items a request, in order (wrapping round;
-- the puts are idempotent), stopping the thread after BENCH_STOP_AFTER
-- answers (see common.stop).  BENCH_PRELOAD picks the data:
--   query: BENCH_QUERY_USERS x BENCH_QUERY_PAGE notes in the notes table,
--          userId "q<u>", noteId "n0000000".."n0000099"
--   scan:  BENCH_SCAN_ITEMS 1000-byte items "p000000".. in BENCH_SCAN_TABLE
-- An answer with UnprocessedItems counts as a miss (run.sh fails the setup).
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
  "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local prefix, n, got, total, tbl, item
local BATCH = 25
local mode = os.getenv("BENCH_PRELOAD") or "query"

function init(args)
  prefix = common.prefix("BatchWriteItem")
  n = 0
  got = 0
  misses = 0
  if mode == "scan" then
    total, tbl = common.scan_items, common.scan_table
    item = common.scan_item_json
  else
    total, tbl = common.query_users * common.query_page, common.table
    item = function(k)
      return common.item_json("q" .. math.floor(k / common.query_page),
        string.format("n%07d", k % common.query_page), k)
    end
  end
end

function request()
  local items = {}
  for j = 1, BATCH do
    items[j] = item(n % total)
    n = n + 1
  end
  return common.request(prefix, common.batch_body(tbl, items))
end

function response(status, headers, body)
  got = got + 1
  if status >= 200 and status < 300 and common.unprocessed(body) then
    misses = misses + 1
  end
  if got == common.stop_after then common.stop() end
end
