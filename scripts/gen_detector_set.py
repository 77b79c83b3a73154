#!/usr/bin/env python3
"""Generates a labelled set of per-step `pred_std` logs for benchmarking the collapse detector.

Writes OUT/labels.csv (series, family, collapse_step, recovered, every) and one OUT/NNN.csv per
series with columns step,pred_std (plus dead_frac_head_2 and update_ratio for the families that
carry mechanistic precursors). Labels come from the noise-free signal and the rule of DESIGN.md
(abs_floor 1e-4, rel_floor 1e-3, patience 100): a series is labelled collapsed at the first step
where its clean value stays at or below the floor for >= 100 steps.

Only the standard library: runs anywhere Python 3 does. Deterministic for a given --seed.
Usage: python3 scripts/gen_detector_set.py OUT_DIR [--seed 0]
"""
import argparse
import csv
import math
import os
import random

ABS, REL, PATIENCE = 1e-4, 1e-3, 100


def healthy_level(rng, n, lo=2e-3, hi=0.5):
    """A healthy std curve: rises from a fraction of its level, then drifts slowly."""
    level = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    rise = rng.randint(50, 600)
    drift = rng.uniform(-0.3, 0.3)
    return [level * min(1.0, 0.1 + 0.9 * t / rise) * math.exp(drift * t / n) for t in range(n)]


def noise(rng, clean, sigma, heavy=False):
    out = []
    for v in clean:
        if heavy:
            # Student-t (df 2) in log space, and rare single-step drops of 10-1000x.
            z = rng.gauss(0, 1) / math.sqrt(max(1e-9, (rng.gauss(0, 1) ** 2 + rng.gauss(0, 1) ** 2) / 2))
            z = max(-6.0, min(6.0, z))
            v = v * math.exp(sigma * z)
            if rng.random() < 0.003:
                v = v / (10 ** rng.uniform(1, 3))
        else:
            v = v * math.exp(rng.gauss(0, sigma))
        out.append(v)
    return out


def label(clean, every=1):
    """First step whose clean value stays at or below the floor for PATIENCE steps (or None),
    and whether it later stays above for PATIENCE steps."""
    peak, start, collapse, recovered, above_start = 0.0, None, None, False, None
    for t, v in enumerate(clean):
        peak = max(peak, v)
        below = v <= max(ABS, REL * peak)
        if collapse is None:
            start = (start if start is not None else t) if below else None
            if start is not None and t - start + 1 >= PATIENCE:
                collapse = start
        else:
            above_start = None if below else (above_start if above_start is not None else t)
            if above_start is not None and t - above_start + 1 >= PATIENCE:
                recovered = True
    if collapse is not None and every > 1:
        collapse = math.ceil(collapse / every) * every  # first logged step at or after it
    return collapse, recovered


def collapse_at(clean, s, width, depth):
    """Falls from clean[s] to depth·peak over `width` steps (geometrically), then stays."""
    peak = max(clean[: s + 1])
    lo = depth * peak
    out = clean[:s]
    for t in range(s, len(clean)):
        k = min(1.0, (t - s + 1) / width)
        out.append(math.exp((1 - k) * math.log(clean[t]) + k * math.log(lo)))
    return out


def series(rng, family):
    n = rng.randint(1500, 5000)
    # near_floor: healthy, but only 3-10x above the absolute floor, so noise crosses it often.
    clean = healthy_level(rng, n, 3e-4, 1e-3) if family == "near_floor" else healthy_level(rng, n)
    extra = {}
    sigma = rng.uniform(0.05, 0.5)
    heavy = family == "heavy_tail"
    if family == "transient_dip":
        for _ in range(rng.randint(1, 3)):
            a = rng.randint(700, n - 200)
            for t in range(a, a + rng.randint(3, PATIENCE - 10)):
                clean[t] = clean[t] * 10 ** rng.uniform(-7, -4)
    elif family in ("sudden", "gradual", "recover", "precursor"):
        s = rng.randint(600, n - 400)
        width = rng.randint(200, 1500) if family == "gradual" else rng.randint(1, 40)
        depth = 10 ** rng.uniform(-8, -3.5)  # down to 1/3 of the relative floor
        clean = collapse_at(clean, s, width, depth)
        if family == "recover":
            back = min(n - 150, s + width + rng.randint(2 * PATIENCE, 600))
            level = max(clean[:s])
            for t in range(back, n):
                clean[t] = level * rng.uniform(0.5, 1.0)
        if family == "precursor":
            lead = rng.randint(20, 300)
            extra["dead_frac_head_2"] = [0.25 if t < s - lead else min(1.0, 0.25 + 0.75 * (t - s + lead) / lead) for t in range(n)]
            spike = rng.random() < 0.5
            extra["update_ratio"] = [1e-3 * math.exp(rng.gauss(0, 0.3)) * (50 if spike and t == s - 1 else 1) for t in range(n)]
    elif family == "never":
        clean = [10 ** rng.uniform(-8, -5)] * n
    values = noise(rng, clean, sigma if family != "never" else 0.1, heavy)
    if family in ("sudden", "gradual", "recover", "precursor"):
        # A collapsed std jitters relative to its own level, sometimes by a factor of ~3, so
        # shallow collapses poke above the floor now and then.
        peak = max(clean)
        jitter = rng.uniform(0.2, 1.0)
        values = [v if c > max(ABS, REL * peak) else c * math.exp(rng.gauss(0, jitter)) for v, c in zip(values, clean)]
    return clean, values, extra


FAMILIES = [
    ("healthy", 40), ("near_floor", 20), ("heavy_tail", 30), ("transient_dip", 30), ("sudden", 40), ("gradual", 30),
    ("recover", 20), ("never", 10), ("precursor", 20), ("sparse", 30),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    rows = []
    i = 0
    for family, count in FAMILIES:
        for _ in range(count):
            every = 1
            fam = family
            if family == "sparse":
                fam = rng.choice(["healthy", "near_floor", "heavy_tail", "sudden", "gradual", "recover"])
                every = rng.choice([10, 50, 100])
            clean, values, extra = series(rng, fam)
            collapse, recovered = label(clean, every)
            name = f"{i:03d}"
            with open(os.path.join(args.out, name + ".csv"), "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["step", "pred_std", *extra])
                for t in range(0, len(values), every):
                    w.writerow([t, f"{values[t]:.6e}", *(f"{extra[k][t]:.6e}" for k in extra)])
            rows.append([name, family if family != "sparse" else f"sparse_{fam}_{every}", "" if collapse is None else collapse, str(recovered).lower(), every])
            i += 1
    with open(os.path.join(args.out, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["series", "family", "collapse_step", "recovered", "every"])
        w.writerows(rows)
    print(f"{len(rows)} series in {args.out}")


if __name__ == "__main__":
    main()
