-- wrk script: POST /api/v1/customer-codes/check with the valid codes listed in the file
-- $CODES (one stored code per line), each request the next code, as $TOKEN.
local requests = {}
local counter = 0

function init(args)
  for code in io.lines(os.getenv("CODES")) do
    table.insert(requests, wrk.format("POST", "/api/v1/customer-codes/check", {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
    }, '{"code":"' .. code .. '"}'))
  end
  counter = math.random(#requests)
end

function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end
