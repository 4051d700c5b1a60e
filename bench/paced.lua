-- Paces each connection: a pause of PACE_MS (default 4) before every request, so a few
-- connections send a steady few hundred requests a second instead of saturating the
-- machine as fast as possible.
local pause = tonumber(os.getenv("PACE_MS") or "4")
function delay()
  return pause
end
