"""Toy benchmark (issue 2 §5): pretrained quality, then UOT-Unlearn and the ablation on several forget classes.

    python benchmarks/toy.py --forget 0 3 5 --seeds 0 1 2 --out benchmarks/out/toy
    python benchmarks/toy.py --tau 0.5 --set unlearn.r1=1 --out benchmarks/out/toy_tau05   # the dialect of `uot-unlearn toy`
    python benchmarks/toy.py --mixture grid --out benchmarks/out/toy_grid   # a problem the defaults were not tuned on
    python benchmarks/toy.py --forget 0,1 0,4 --out benchmarks/out/toy_pairs   # two classes forgotten together, per run

Every unlearning run is repeated once per seed on the same pretrained models. Prints the runs, their
mean ± sd per method and class, the goal checks (on the means) and, for each run, the largest retain
stability any order-preserving generator can have at that run's TV; writes metrics.json and figures to --out.
"""
import argparse, json, platform, time
from pathlib import Path
import torch
import matplotlib; matplotlib.use('Agg')
from uot_unlearn.toy import ToyConfig, run_toy, format_table, save_figures, order_preserving_stability, w2_to_mixture, mode_spread
from uot_unlearn.metrics import mean_over_seeds, metrics_table
from problems import MIXTURES, optimum_support, toy_unlearning_runs
from uot_unlearn.cli import add_dialect, config_changes, configured

DEFAULT_FORGET = {'ring': [0, 3, 5], 'grid': [0, 4, 7], 'blobs16': [0, 2, 5], 'ring-unequal': [0, 1]}

p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
add_dialect(p, 'one run each (default: 0 3 5 on the ring, 0 4 7 on the grid, 0 2 5 on blobs16, 0 1 on ring-unequal)', ('seed',), device=False)
p.set_defaults(command='toy')
p.add_argument('--mixture', choices=list(MIXTURES), default='ring', help="the data: the chapter's ring, or a problem the defaults were not tuned on")
p.add_argument('--seeds', type=int, nargs='+', default=[0], help='seeds of the unlearning runs, one row each (--seed is the pretraining\'s)')
p.add_argument('--out', default='benchmarks/out/toy')
p.add_argument('--cache-dir', default=None, help='reuse pretrained models (default: pretrain in this run, timed)')
p.add_argument('--optimum-draws', type=int, default=5, help="draws of the discrete optimum averaged (10-15 s each on 2 CPU cores; the pipeline's default is ToyConfig.optimum_draws)")
p.add_argument('--w2-draws', type=int, default=10, help='fresh draws averaged for the pretrained W2 and its floor (one draw is noisy)')
args = p.parse_args()

ring = args.mixture == 'ring'
changes = {'forget': tuple(DEFAULT_FORGET[args.mixture]), 'optimum_draws': args.optimum_draws, **config_changes(args)}
cfg = configured(ToyConfig, changes, small=args.small)
t0 = time.perf_counter()
res = run_toy(cfg, cache_dir=args.cache_dir, progress=False, seeds=args.seeds, mix=MIXTURES[args.mixture]())
rows = res['rows']
pre = rows[0]
runs = toy_unlearning_runs(rows)
refs = [r for r in rows if r['method'] == 'discrete optimum']  # the objective's discrete optimum, averaged over draws, one per forget run
for r in refs: r.update(optimum_support(r))  # its own in-support drop, against its source sample
for r in runs + refs:
    if ring and isinstance(r['forget'], int):  # the limit of the ring's cyclic order, derived for one class
        r['stability_limit'] = order_preserving_stability(pre['shares'], r['forget'], r['tv_ideal'])
print(format_table(rows))
columns = ['method', 'forget', 'pul', 'tv_ideal', 'in_support_drop', 'retain_stability', *(['stability_limit'] if ring else []),
           'w2', 'optimum_share_gap', 'residual_off_support', 'time_ratio']
summary = mean_over_seeds(runs)
print(f"\nmean ± sd over seeds {args.seeds} (the discrete optimum: mean over {cfg.optimum_draws} draws per forget run):\n" + metrics_table(summary + refs, columns))
mix, G0 = res['mix'], res['G0']
w2 = w2_to_mixture(lambda n: G0(G0.sample_inputs(n)), mix, cfg.n_w2, draws=args.w2_draws, seed=cfg.seed + 300)
print(f"\npretrained: W2^2 {w2['w2']:.4f} ± {w2['w2_sd']:.4f} vs mixture-to-mixture {w2['floor']:.4f} ± {w2['floor_sd']:.4f} "
      f"(means over {w2['draws']} draws of n = {w2['n']}; ratio {w2['ratio']:.2f}, goal <= 2); on the fixed inputs {pre['w2']:.4f}; "
      f"in-support {pre['in_support']:.4f} (goal >= 0.97); max class-share error "
      f"{max(abs(s - w) for s, w in zip(pre['shares'], mix.weights.tolist())):.4f} (goal <= 0.02)")
ev = res['evaluator']
spread = mode_spread(ev.x0, ev.labels0, mix.n_classes).tolist()
print(f"pretrained mode spread (rms per coordinate, per class): {min(spread):.3f}-{max(spread):.3f} (mixture std {'/'.join(f'{v:g}' for v in sorted(set(mix.std.tolist())))})")
for r in summary:
    limit = f"; limit at this TV {r['stability_limit']:.4f}" if 'stability_limit' in r else ''
    print(f"{r['method']:18s} forget {r['forget']} (mean of {r['n_seeds']}): PUL {r['pul']:.2f} (>= 99.5), TV {r['tv_ideal']:.4f} (<= 0.03), "
          f"in-support drop {r['in_support_drop']:.2f} pt (<= 1), stability {r['retain_stability']:.4f} (>= 0.95{limit}), "
          f"gap to the optimum's shares {r['optimum_share_gap']:.4f} (<= 0.03), time ratio {r['time_ratio']:.3f} (<= 0.10)")
for r in refs:
    limit = f"; limit at this TV {r['stability_limit']:.4f}" if 'stability_limit' in r else ''
    print(f"{r['method']:18s} forget {r['forget']} (mean of {r['n_draws']} draws): PUL {r['pul']:.2f}, TV {r['tv_ideal']:.4f}, in-support drop {r['in_support_drop']:.2f} ± {r['in_support_drop_sd']:.2f} pt, "
          f"stability {r['retain_stability']:.4f}{limit}; shares vary by up to {r['share_sd_max']:.4f} (sd) between draws")
out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
(out / 'metrics.json').write_text(json.dumps({'mixture': args.mixture, 'rows': rows, 'summary': summary, 'seeds': args.seeds, 'pretrained_w2': w2, 'pretrained_mode_spread': spread,
                                             'machine': platform.platform(), 'threads': torch.get_num_threads()}, indent=1))
if ring: save_figures(res, out)  # the figures draw the ring's plane
print(f"total {time.perf_counter() - t0:.0f} s")
