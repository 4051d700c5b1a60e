"""Percentiles of durations in the server's JSON log, within a time window.

    python3 bench/log_stats.py LOG FROM TO me      GET /api/v1/me, from the access log
    python3 bench/log_stats.py LOG FROM TO argon2  one argon2 computation (debug log)

FROM and TO are UTC timestamps `YYYY-MM-DDTHH:MM:SS`. Prints `p50 p99 mean count`, in ms.
"""
import json
import sys

path, start, end, kind = sys.argv[1:5]
times = []
with open(path, encoding="utf-8") as log:
    for line in log:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not start <= entry.get("timestamp", "")[:19] <= end or "elapsed_ms" not in entry:
            continue
        if kind == "me":
            wanted = entry.get("span", {}).get("path") == "/api/v1/me"
        else:
            wanted = entry.get("message") == "argon2 computation"
        if wanted:
            times.append(entry["elapsed_ms"])
times.sort()


def pick(q):
    return times[min(len(times) - 1, int(len(times) * q))] if times else float("nan")


mean = sum(times) / len(times) if times else float("nan")
print(f"{pick(0.50):.2f} {pick(0.99):.2f} {mean:.2f} {len(times)}")
