-- POST /api/v1/auth/login for the benchmark user.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@example.de","password":"Benchmark-Passwort-2026"}'
