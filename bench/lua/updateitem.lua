-- UpdateItem load: each request updates a random one of the BENCH_ITEMS
-- preloaded notes (preload.lua), under a condition every request meets:
--   SET #t = :t, #v = if_not_exists(#v, :zero) + :one
--   ConditionExpression attribute_exists(userId)
-- (#t = title, #v = version).  The preloaded items carry no version (they
-- are GetItem's items, unchanged), hence if_not_exists: the first update of
-- an item sets version 1, each later one adds 1.  A ConditionalCheckFailed
-- is an HTTP 400, so it counts as an error.  Requests are built once.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") ..
  "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local reqs, count

local A = '{"TableName":"' .. common.table .. '","Key":{"userId":{"S":"'
local B = '"},"noteId":{"S":"'
local C = '"}},"UpdateExpression":"SET #t = :t, #v = if_not_exists(#v, :zero) + :one",' ..
  '"ConditionExpression":"attribute_exists(userId)",' ..
  '"ExpressionAttributeNames":{"#t":"title","#v":"version"},' ..
  '"ExpressionAttributeValues":{":t":{"S":"Groceries, errands and the plumber"},' ..
  '":zero":{"N":"0"},":one":{"N":"1"}}}'

function init(args)
  local prefix = common.prefix("UpdateItem")
  reqs = {}
  for i = 0, common.items - 1 do
    local user, note = common.preload_key(i)
    reqs[i + 1] = common.request(prefix, A .. user .. B .. note .. C)
  end
  count = #reqs
  math.randomseed(2000 + (id or 1))
end

function request()
  return reqs[math.random(count)]
end
