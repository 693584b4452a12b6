-- wrk: POST /webhook with a JSON body tagged with the run (the first script
-- argument) and numbered per thread, so that every event is distinct and
-- each run's events can be told apart (bench/events_webhook.sh).
local n = 0
local tag = "bench"
init = function(args)
  if args[1] then tag = args[1] end
end
request = function()
  n = n + 1
  return wrk.format("POST", "/webhook", {["Content-Type"] = "application/json"},
                    '{"message":"' .. tag .. '","n":' .. n .. '}')
end
