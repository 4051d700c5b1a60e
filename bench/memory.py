"""What a process's resident memory is made of, from /proc/PID/smaps: the binary's own
pages (read from the file, and written ones: relocated pointers and statics), shared
libraries, the main heap, other anonymous memory (malloc's thread arenas, thread stacks,
large blocks) and its thread count.

    python3 bench/memory.py PID

Prints `name kB` lines: rss, binary, binary_written, libraries, heap, anonymous, other,
threads (a count); binary_written is part of binary.
"""
import os
import sys

pid = sys.argv[1]
binary = os.path.realpath(f"/proc/{pid}/exe")
totals = {"binary": 0, "libraries": 0, "heap": 0, "anonymous": 0, "other": 0}
binary_written = 0
name = ""
with open(f"/proc/{pid}/smaps", encoding="utf-8") as smaps:
    for line in smaps:
        fields = line.split()
        if not fields:
            continue
        if "-" in fields[0] and not fields[0].endswith(":"):
            # A mapping's first line: address range, perms, offset, dev, inode, [path].
            name = fields[5] if len(fields) > 5 else ""
            continue
        if fields[0] == "Anonymous:" and name == binary:
            binary_written += int(fields[1])
        if fields[0] != "Rss:":
            continue
        kb = int(fields[1])
        if name == binary:
            totals["binary"] += kb
        elif name.startswith("/"):
            totals["libraries"] += kb
        elif name == "[heap]":
            totals["heap"] += kb
        elif name == "" or name.startswith("[stack"):
            totals["anonymous"] += kb
        else:
            totals["other"] += kb
print(f"rss {sum(totals.values())}")
for key, kb in totals.items():
    print(f"{key} {kb}")
print(f"binary_written {binary_written}")
print(f"threads {len(os.listdir(f'/proc/{pid}/task'))}")
