-- Scan load: every request reads the first page of BENCH_SCAN_TABLE with
-- Limit BENCH_SCAN_LIMIT (1000 items of 1000 bytes: a ~1 MB page; run.sh
-- checks Count and LastEvaluatedKey once before the timed runs).
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
  "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local req

function init(args)
  req = common.request(common.prefix("Scan"),
    '{"TableName":"' .. common.scan_table .. '","Limit":' .. common.scan_limit .. '}')
end

function request()
  return req
end
