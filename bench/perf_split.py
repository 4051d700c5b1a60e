"""Where the CPU went during a system-wide `perf record -e cpu-clock -a -g`: per program,
and the server's costliest functions, each in µs of CPU per request (or transaction).
Writes the folded stacks of the server (for a flame graph) beside the recording.

    perf script -i REC -F comm,pid,tid,period,ip,sym,dso | \
        python3 bench/perf_split.py REQUESTS SERVER_PID FOLDED_OUT [TOP]

Prints lines `program <name> <µs per request>` (the server, postgres, the load
generator, everything else and idle), then `top <µs> <share %> <dso> <function>` for the
server's TOP (default 5) functions by self time, then `dso <µs> <name>` for the server's
time by library.
"""
import collections
import re
import sys

requests = float(sys.argv[1])
server_pid = sys.argv[2]
folded_out = sys.argv[3]
top_n = int(sys.argv[4]) if len(sys.argv) > 4 else 5

HEADER = re.compile(r"^(?P<comm>.+?)\s+(?P<pid>-?\d+)/(?P<tid>-?\d+)\s+(?P<period>\d+)")
FRAME = re.compile(r"^\s+[0-9a-f]+\s+(?P<sym>.*?)\s+\((?P<dso>[^)]*)\)\s*$")
HASH = re.compile(r"::h[0-9a-f]{16}$")
OFFSET = re.compile(r"\+0x[0-9a-f]+$")

programs = collections.Counter()
leaf = collections.Counter()
by_dso = collections.Counter()
folded = collections.Counter()


def tidy(symbol):
    symbol = OFFSET.sub("", symbol)
    return HASH.sub("", symbol) or "[unknown]"


def short_dso(dso):
    name = dso.rsplit("/", 1)[-1]
    return name or "[unknown]"


def finish(sample):
    if sample is None:
        return
    comm, pid, period, frames = sample
    if pid == server_pid:
        program = "server"
    elif pid == "0":
        program = "idle"
    elif comm.startswith("postgres"):
        program = "postgres"
    elif comm in ("wrk", "pgbench"):
        program = comm
    else:
        program = "other"
    programs[program] += period
    if program != "server":
        return
    if frames:
        symbol, dso = frames[0]
        leaf[(short_dso(dso), symbol)] += period
        by_dso[short_dso(dso)] += period
    stack = ";".join(symbol for symbol, _ in reversed(frames)) or "[unknown]"
    folded[f"{comm};{stack}"] += period


sample = None
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line.strip():
        continue
    if not line[0].isspace():
        finish(sample)
        match = HEADER.match(line)
        sample = None
        if match:
            sample = (match["comm"].strip(), match["pid"], int(match["period"]), [])
        continue
    frame = FRAME.match(line)
    if sample is not None and frame:
        sample[3].append((tidy(frame["sym"]), frame["dso"]))
finish(sample)

# cpu-clock periods are nanoseconds.
def per_request(ns):
    return ns / 1000 / requests


server_total = programs["server"] or 1
for program in ("server", "postgres", "wrk", "pgbench", "other", "idle"):
    if program in programs:
        print(f"program {program} {per_request(programs[program]):.1f}")
for (dso, symbol), ns in leaf.most_common(top_n):
    print(f"top {per_request(ns):.1f} {100 * ns / server_total:.1f} {dso} {symbol}")
for dso, ns in by_dso.most_common(6):
    print(f"dso {per_request(ns):.1f} {dso}")
with open(folded_out, "w", encoding="utf-8") as out:
    for stack, ns in folded.most_common():
        out.write(f"{stack} {ns}\n")
