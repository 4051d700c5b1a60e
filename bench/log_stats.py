"""Percentiles of request durations in the server's JSON access log, within a time
window, for one path (`me` stands for `/api/v1/me`).

    python3 bench/log_stats.py LOG FROM TO me|/api/v1/...

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
        wanted = "/api/v1/me" if kind == "me" else kind
        # The request span names the path `url.path` (OpenTelemetry's conventions).
        if entry.get("span", {}).get("url.path") == wanted:
            times.append(entry["elapsed_ms"])
times.sort()


def pick(q):
    return times[min(len(times) - 1, int(len(times) * q))] if times else float("nan")


mean = sum(times) / len(times) if times else float("nan")
print(f"{pick(0.50):.2f} {pick(0.99):.2f} {mean:.2f} {len(times)}")
