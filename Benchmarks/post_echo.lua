-- wrk script: POST a small JSON body to the hello app's echo method (unsigned; echo is public).
--   wrk -t2 -c64 -d10s --latency -s Benchmarks/post_echo.lua http://127.0.0.1:PORT/v1/apps/hello/echo
-- No response() callback: it would make wrk parse every reply in Lua, slowing the echo side only. wrk itself
-- reports "Non-2xx or 3xx responses", which Benchmarks/gateway.sh checks.
wrk.method = "POST"
wrk.body = '{"bench":"gateway","pad":"0123456789abcdef0123456789abcdef"}'
wrk.headers["Content-Type"] = "application/json"
