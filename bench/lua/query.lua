-- Query load: each request reads the whole partition of a random one of the
-- BENCH_QUERY_USERS users "q0".. that preload_batch.lua (query) filled with
-- exactly BENCH_QUERY_PAGE (100) notes: userId = :u, Limit 100, so every
-- answer is a 100-item page (run.sh checks Count once per partition before
-- the timed runs).  Requests are built once.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
  "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local reqs, count

function init(args)
  local prefix = common.prefix("Query")
  reqs = {}
  for u = 0, common.query_users - 1 do
    reqs[u + 1] = common.request(prefix,
      '{"TableName":"' .. common.table .. '",' ..
      '"KeyConditionExpression":"userId = :u",' ..
      '"ExpressionAttributeValues":{":u":{"S":"q' .. u .. '"}},' ..
      '"Limit":' .. common.query_page .. '}')
  end
  count = #reqs
  math.randomseed(3000 + (id or 1))
end

function request()
  return reqs[math.random(count)]
end
