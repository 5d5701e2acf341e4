"""Where a V8 CPU profile (node --cpu-prof) spent its time inside one function: self and inclusive
time per function, over the samples whose stack holds WITHIN (a function name and its file, as
"decode diag.ts"). For the profiles `bench/cuda/offline/measure.sh diag` writes.

  python3 bench/cuda/profile_summary.py PROFILE.cpuprofile "decode diag.ts" [TOP]
"""

import json
import sys
from collections import Counter

path, within = sys.argv[1], sys.argv[2]
top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
profile = json.load(open(path))
nodes = {n["id"]: n for n in profile["nodes"]}
parent = {child: n["id"] for n in profile["nodes"] for child in n.get("children", [])}


def frames(node_id):
    while node_id is not None:
        frame = nodes[node_id]["callFrame"]
        yield f"{frame['functionName'] or '(anonymous)'} {frame['url'].split('/')[-1]}"
        node_id = parent.get(node_id)


own, inclusive, total = Counter(), Counter(), 0
for sample, micros in zip(profile["samples"], profile["timeDeltas"]):
    stack = list(frames(sample))
    if within not in stack:
        continue
    total += micros
    own[stack[0]] += micros
    for name in set(stack):
        inclusive[name] += micros
print(f"{total / 1000:.1f} ms in {within}")
for title, counts in (("self", own), ("inclusive", inclusive)):
    for name, micros in counts.most_common(top):
        print(f"{title:9} {100 * micros / max(total, 1):5.1f}% {micros / 1000:9.1f} ms  {name}")
