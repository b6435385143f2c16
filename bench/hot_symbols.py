"""The functions a server runs on every request, hottest first, as linker symbol names: for hot-path.order.

    python3 bench/hot_symbols.py CALLGRIND_N1 CALLGRIND_N2 REQUESTS BINARY

CALLGRIND_N1 and CALLGRIND_N2 are callgrind dumps (`--dump-instr=yes --demangle=no`) of one server after N1 and
N2 requests; REQUESTS is N2 - N1. An instruction address whose count grew by at least REQUESTS ran on every
request (on average); its function is found in BINARY's symbol table (callgrind reports a position-independent
executable at its link addresses, as `nm` does). Prints one symbol a line, by instructions per request.
"""

import bisect
import collections
import subprocess
import sys


def costs(path):
    """Instructions by address in a callgrind dump written with --dump-instr=yes."""
    cost = collections.Counter()
    pos = 0
    after_calls = False
    with open(path) as f:
        for line in f:
            if line[0] not in "0123456789+-*":
                after_calls = line.startswith("calls=")
                continue
            parts = line.split()
            a = parts[0]
            if a.startswith("0x"):
                pos = int(a, 16)
            elif a[0] in "+-":
                step = int(a[1:], 16) if a[1:].startswith("0x") else int(a[1:])
                pos += step if a[0] == "+" else -step
            # The line after `calls=` is the call's inclusive cost, not the caller's own.
            if after_calls:
                after_calls = False
                continue
            if len(parts) > 2:
                cost[pos] += int(parts[2])
    return cost


def functions(binary):
    """(start, size, name) of the binary's defined functions, by start."""
    out = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        p = line.split()
        if len(p) == 4 and p[2] in "tTwW":
            syms.append((int(p[0], 16), int(p[1], 16), p[3]))
    return sorted(syms)


def main():
    before, after, requests, binary = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    a, b = costs(before), costs(after)
    syms = functions(binary)
    starts = [s[0] for s in syms]
    per_function = collections.Counter()
    for addr, n in b.items():
        grew = n - a.get(addr, 0)
        if grew < requests:
            continue
        i = bisect.bisect_right(starts, addr) - 1
        if i >= 0 and addr < syms[i][0] + max(syms[i][1], 1):
            per_function[syms[i][2]] += grew
    for name, _ in per_function.most_common():
        print(name)


if __name__ == "__main__":
    main()
