"""Samples a server's memory and CPU (its whole process tree) while the loader runs.

Usage: python3 sample.py SERVER_PID LOADER_PID LOADER_STDERR [INTERVAL]

Every INTERVAL seconds (default 0.2) it sums VmRSS over SERVER_PID and all its descendants,
until LOADER_PID has exited; then prints one JSON object:

  rss_base_kb   the first sample, taken before the loader connects
  rss_peak_kb   the largest sample
  rss_held_kb   the largest sample after the loader wrote "READY" on its stderr (idle mode:
                every connection open), absent otherwise
  cpu_s         CPU time (user + system) the tree used over the sampling, seconds

Standard library only; Linux /proc.
"""

import json
import os
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(name))
    return tree


def _tree(root: int) -> list[int]:
    children = _children()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie has exited too
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main() -> int:
    server, loader, stderr_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.2
    cpu_first: dict[int, int] = {}
    cpu_last: dict[int, int] = {}
    base = peak = 0
    held = None
    first = True
    while True:
        pids = _tree(server)
        rss = sum(_rss_kb(p) for p in pids)
        for p in pids:
            ticks = _cpu_ticks(p)
            cpu_first.setdefault(p, ticks)
            cpu_last[p] = ticks
        if first:
            base = peak = rss
            first = False
        peak = max(peak, rss)
        if held is None:
            try:
                with open(stderr_path, errors="replace") as f:
                    if "READY" in f.read():
                        held = rss
            except OSError:
                pass
        else:
            held = max(held, rss)
        if not _alive(loader):
            break
        time.sleep(interval)
    out = {
        "rss_base_kb": base,
        "rss_peak_kb": peak,
        "cpu_s": round(sum(cpu_last[p] - cpu_first[p] for p in cpu_last) / TICKS, 2),
    }
    if held is not None:
        out["rss_held_kb"] = held
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
