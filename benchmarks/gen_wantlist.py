"""Generate a realistic large TradeMaximizer / OLWLG want-list file.

Shaped like the big BoardGameGeek math trades: a few hundred users offering a
few items each (some many), official names, popularity skewed towards a few
hot items, users who copy one want list onto several of their items, and
``%dummy`` items bundling wants. Deterministic for a given ``--seed``.

    .venv/bin/python benchmarks/gen_wantlist.py -o /tmp/big.txt --items 3000 --edges 280000
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path


def generate(items: int, edges: int, users: int, seed: int) -> str:
    rng = random.Random(seed)
    names = [f"{1000000 + i}" for i in range(items)]
    user_names = [f"user{u:04d}" for u in range(users)]
    # Some users offer many items (heavy tail), everybody at least one.
    owner = [rng.randrange(users) if i >= users else i for i in range(items)]
    for i in range(users, items):
        if rng.random() < 0.3:
            owner[i] = rng.randrange(max(1, users // 10))
    # Popularity: a Zipf-like weight per item, shuffled so ids carry no hint.
    weights = [1.0 / (rank + 10) ** 0.8 for rank in range(items)]
    rng.shuffle(weights)
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)

    # Lists are copied at 90% per item and capped, so aim a little high.
    per_item = max(1, round(edges / items * 1.12))
    lines = [
        "# Generated want lists (benchmarks/gen_wantlist.py)",
        f"# items={items} edges~{edges} users={users} seed={seed}",
        "#! ALLOW-DUMMIES REQUIRE-COLONS REQUIRE-USERNAMES HIDE-NONTRADES",
        "#! SEED=123456 METRIC=USERS-TRADING",
        "",
        "!BEGIN-OFFICIAL-NAMES",
    ]
    lines += [
        f'{n} ==> {i + 1}. "Generated item {i + 1}" (from {user_names[owner[i]]})'
        for i, n in enumerate(names)
    ]
    lines += ["!END-OFFICIAL-NAMES", ""]

    by_user: dict[int, list[int]] = {}
    for i, u in enumerate(owner):
        by_user.setdefault(u, []).append(i)
    for u, mine in sorted(by_user.items()):
        mine_set = set(mine)
        user = user_names[u]
        # One shared list per user, copied (with variations) onto their items.
        length = max(1, int(rng.expovariate(1 / per_item)))
        length = min(length, items // 2)
        base: list[int] = []
        seen: set[int] = set()
        while len(base) < length:
            j = _pick(cumulative, total, rng)
            if j not in seen and j not in mine_set:
                seen.add(j)
                base.append(j)
        use_dummy = len(mine) > 2 and rng.random() < 0.3
        if use_dummy:
            lines.append(f"({user}) %{user}-best : " + " ".join(names[j] for j in base[:20]))
        for i in mine:
            wants = [names[j] for j in base if rng.random() < 0.9]
            if use_dummy:
                wants.insert(0, f"%{user}-best")
            if rng.random() < 0.2 and len(wants) > 4:
                wants.insert(len(wants) // 2, ";")
            lines.append(f"({user}) {names[i]} : " + " ".join(wants))
    return "\n".join(lines) + "\n"


def _pick(cumulative: list[float], total: float, rng: random.Random) -> int:
    x = rng.random() * total
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, help="file to write (default stdout)")
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--edges", type=int, default=280_000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    text = generate(args.items, args.edges, args.users, args.seed)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
