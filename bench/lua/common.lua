-- Shared pieces of the Tidemark wrk scripts (see bench/README.md).
--
-- Loaded by every script here with require("common"); each script adds its own directory to package.path.
-- wrk runs every script twice over: once in the main Lua state (setup and
-- done) and once per thread (init, request, response), so everything here
-- must work in both.
--
-- Configuration comes from the environment (run.sh sets it):
--   BENCH_TABLE      table name                       (notes)
--   BENCH_ITEMS      preloaded items, keys 0..N-1     (10000)
--   BENCH_USERS      distinct userId values           (1000)
--   BENCH_RUN_TAG    noteId prefix of PutItem keys, unique per run
--   BENCH_AUTH       Authorization header value; "none" sends no
--                    Authorization/X-Amz-Date headers (default: a dummy
--                    SigV4-looking header, which dynalite requires and
--                    which is sent to every target so the work is equal)
--   BENCH_STOP_AFTER preload/verify: stop after this many responses

local M = {}

M.table = os.getenv("BENCH_TABLE") or "notes"
M.items = tonumber(os.getenv("BENCH_ITEMS") or "") or 10000
M.users = tonumber(os.getenv("BENCH_USERS") or "") or 1000
M.tag = os.getenv("BENCH_RUN_TAG") or "r0"
M.stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "") or (M.items + 64)

local DEFAULT_AUTH = "AWS4-HMAC-SHA256 " ..
  "Credential=AKIDTIDEMARKBENCH/20261125/us-east-1/dynamodb/aws4_request, " ..
  "SignedHeaders=content-type;host;x-amz-date;x-amz-target, " ..
  "Signature=" .. string.rep("0", 64)
M.auth = os.getenv("BENCH_AUTH") or ""
if M.auth == "" then M.auth = DEFAULT_AUTH end
if M.auth == "none" then M.auth = nil end

-- ~200 bytes of item (attribute names + values, DynamoDB's item size).
local TITLE = "Groceries and errands for the weekend"
local BODY = "Milk, eggs, bread, coffee beans; pick up the parcel at the post " ..
             "office; call the plumber about the kitchen sink before Friday."
local CREATED0 = 1764000000000

-- Key of preloaded item i (0-based): what preload.lua writes and
-- getitem.lua / verify.lua read.
function M.preload_key(i)
  return "u" .. (i % M.users), string.format("n%07d", i)
end

-- The constant parts of an item, joined once.
local ITEM_A = '{"userId":{"S":"'
local ITEM_B = '"},"noteId":{"S":"'
local ITEM_C = '"},"title":{"S":"' .. TITLE .. '"},"body":{"S":"' .. BODY ..
  '"},"createdAt":{"N":"'
local ITEM_D = '"}}'

-- The item as DynamoDB JSON (PutItem's Item, a BatchWriteItem PutRequest's).
function M.item_json(user, note, seq)
  return ITEM_A .. user .. ITEM_B .. note .. ITEM_C ..
    string.format("%.0f", CREATED0 + seq) .. ITEM_D
end

-- A PutItem body (into BENCH_TABLE).
local PUT_A = '{"TableName":"' .. M.table .. '","Item":'
function M.item_body(user, note, seq)
  return PUT_A .. M.item_json(user, note, seq) .. '}'
end

-- BatchWriteItem body of PutRequests, items = list of item JSON strings.
function M.batch_body(tbl, items)
  return '{"RequestItems":{"' .. tbl .. '":[{"PutRequest":{"Item":' ..
    table.concat(items, '}},{"PutRequest":{"Item":') .. '}}]}}'
end

-- true when a BatchWriteItem answer left items unprocessed ("UnprocessedItems"
-- not {}); those count as misses, i.e. errors.
function M.unprocessed(body)
  return not string.find(body, '"UnprocessedItems"%s*:%s*{%s*}')
end

-- Query benchmark (query.lua, preload_batch.lua): BENCH_QUERY_USERS
-- partitions "q0".. of exactly BENCH_QUERY_PAGE notes each, in the notes
-- table (the "u" partitions of the other loads never touch them).
M.query_users = tonumber(os.getenv("BENCH_QUERY_USERS") or "") or 100
M.query_page = tonumber(os.getenv("BENCH_QUERY_PAGE") or "") or 100

-- Scan benchmark (scan.lua, preload_batch.lua): table BENCH_SCAN_TABLE, HASH
-- id (S), BENCH_SCAN_ITEMS items of 1000 bytes by DynamoDB's count
-- ("id" + 7-character value = 9, "data" + 987 characters = 991), read
-- BENCH_SCAN_LIMIT (1000) at a time: a page of 1,000,000 bytes, just under
-- the 1 MB (1,048,576) page cap.
M.scan_table = os.getenv("BENCH_SCAN_TABLE") or "pages"
M.scan_items = tonumber(os.getenv("BENCH_SCAN_ITEMS") or "") or 2000
M.scan_limit = tonumber(os.getenv("BENCH_SCAN_LIMIT") or "") or 1000
local SCAN_DATA = string.sub(string.rep(TITLE .. ". " .. BODY .. " ", 8), 1, 987)
function M.scan_item_json(i)
  return string.format('{"id":{"S":"p%06d"},"data":{"S":"%s"}}', i, SCAN_DATA)
end

function M.key_body(user, note)
  return '{"TableName":"' .. M.table .. '","Key":{' ..
    '"userId":{"S":"' .. user .. '"},' ..
    '"noteId":{"S":"' .. note .. '"}}}'
end

-- Request head up to "Content-Length: "; call after wrk's own init (in
-- init()), when wrk.headers.Host is set.  Same bytes as wrk.format() would
-- produce, built once instead of per request.
function M.prefix(op)
  local h = "POST / HTTP/1.1\r\n" ..
    "Host: " .. wrk.headers["Host"] .. "\r\n" ..
    "Content-Type: application/x-amz-json-1.0\r\n" ..
    "X-Amz-Target: DynamoDB_20120810." .. op .. "\r\n"
  if M.auth then
    h = h .. "X-Amz-Date: 20261125T000000Z\r\n" ..
      "Authorization: " .. M.auth .. "\r\n"
  end
  return h .. "Content-Length: "
end

function M.request(prefix, body)
  return prefix .. #body .. "\r\n\r\n" .. body
end

-- A thread that has done its count stops itself, and tells run.sh, which
-- then ends wrk with SIGINT (wrk otherwise sleeps out its -d duration).
function M.stop()
  io.write("BENCH_STOPPED\n")
  io.flush()
  wrk.thread:stop()
end

-- setup/done run in the main state: number the threads, collect them, and
-- print one machine-readable line that run.sh parses.
local threads = {}

function M.setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local function thread_sum(name)
  local n = 0
  for _, t in ipairs(threads) do
    n = n + (tonumber(t:get(name)) or 0)
  end
  return n
end

function M.done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local function ms(p) return latency:percentile(p) / 1000 end
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_s=%.3f rps=%.1f " ..
    "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f mean_ms=%.3f max_ms=%.3f " ..
    "connect=%d read=%d write=%d status=%d timeout=%d misses=%d\n",
    summary.requests, secs, summary.requests / secs,
    ms(50), ms(90), ms(99), latency.mean / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, thread_sum("misses")))
end

return M
