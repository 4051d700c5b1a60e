-- wrk script: POST /api/v1/me/subscriptions/link, each request as the next of the
-- accounts listed in the file $LINK_REQUESTS (lines "access-token<TAB>json-body").
local requests = {}
local counter = 0

function init(args)
  for line in io.lines(os.getenv("LINK_REQUESTS")) do
    local token, body = line:match("^([^\t]+)\t(.+)$")
    table.insert(requests, wrk.format("POST", "/api/v1/me/subscriptions/link", {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. token,
    }, body))
  end
end

function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end
