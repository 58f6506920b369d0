"""Digits benchmark (issue 3): UOT-Unlearn and every baseline on several forget digits, one configuration.

    python benchmarks/digits.py --forget 0 3 8 --seeds 0 1 2 --out benchmarks/out/digits
    python benchmarks/digits.py --forget 3,8 --out benchmarks/out/digits_pair   # 3 and 8 forgotten together
    python benchmarks/digits.py --forget 3 --lam 4 --set conditional=true --out benchmarks/out/digits_lam4   # the dialect of `uot-unlearn digits`

Pretrains in the same run (timed; pass --cache-dir to reuse), runs every method once per seed (retraining,
the reference, too), prints the runs, their mean ± sd and the goal checks (on the means), writes
metrics.json and the figures to --out.
"""
import argparse, json, platform, sys, time
from pathlib import Path
import torch
import matplotlib; matplotlib.use('Agg')
from uot_unlearn.digits import DigitsConfig, run_digits, format_table, save_figures
from uot_unlearn.metrics import mean_over_seeds
from uot_unlearn.utils import class_group_name
from uot_unlearn.cli import add_dialect, config_changes, configured, config_record

p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
add_dialect(p, "one run each (default: the configuration's, 0 3 8)", ('seed', 'device', 'methods'))
p.set_defaults(command='digits')
p.add_argument('--methods', nargs='+', default=None, help='methods to run (default: all)')
p.add_argument('--out', default='benchmarks/out/digits')
p.add_argument('--cache-dir', default=None, help='reuse pretrained models (default: pretrain in this run, timed)')
p.add_argument('--seeds', type=int, nargs='+', default=[0], help='seeds of the unlearning runs, one row each (--seed is the pretraining\'s)')
p.add_argument('--discrete-optimum', type=int, nargs='?', const=3, default=0, metavar='DRAWS',
               help="also solve the objective's exact discrete optimum at unlearn's tau, averaged over DRAWS target draws (default 3; about 10 s per draw and forget run on 2 CPU cores)")
args = p.parse_args()

try: cfg = configured(DigitsConfig, {'device': 'cpu', **config_changes(args)}, small=args.small)
except (ValueError, TypeError, FileNotFoundError) as e: sys.exit(f"benchmarks/digits.py: {e}")  # refused before any work
t0 = time.perf_counter()
res = run_digits(cfg, cache_dir=args.cache_dir, progress=False, seeds=args.seeds)
rows = res['rows']
print(format_table(rows))
summary = mean_over_seeds([r for r in rows if r['forget'] is not None])
print(f"\nmean ± sd over seeds {args.seeds}:\n" + format_table(summary))
pre = rows[0]
print(f"\nforget-cost classifier accuracy {pre['forget_classifier_accuracy']:.4f}, evaluation classifier accuracy "
      f"{pre['eval_classifier_accuracy']:.4f}; they agree on {pre['clf_agreement_real']:.4f} of the real digits and "
      f"{pre['clf_agreement_generated']:.4f} of the pretrained samples; pretrained FD {pre['fd']:.3f}, real-to-real FD {pre['fd_real']:.3f}")
for f in cfg.forget:
    by = {r['method']: r for r in summary if r['forget'] == f}
    u, rt = by.get('UOT-Unlearn'), by.get('retrain')
    if u and rt:
        print(f"forget {f}: UOT-Unlearn PUL {u['pul']:.2f} (>= 99), u-FD {u['fd']:.3f} = {u['fd'] / rt['fd']:.2f}x retrain "
              f"(<= 1.1), TV {u['tv_ideal']:.4f} (<= 0.05), time {u['time_vs_retrain']:.3f} of retrain (<= 0.10)")
ran = dict(lam=cfg.unlearn.lam, forget_cost=cfg.unlearn.forget_cost)  # what UOT-Unlearn ran with
lam, tau = cfg.unlearn.lam, cfg.unlearn.tau
tilted = {class_group_name(f): res['evaluator'].tilted_target(f, **ran) for f in cfg.forget}
discrete = {class_group_name(f): res['evaluator'].discrete_optimum(f, tau=tau, draws=args.discrete_optimum, **ran)
            for f in cfg.forget} if args.discrete_optimum else {}

def vs_retrain(f, fd):
    rt = next((r for r in summary if r['forget'] == f and r['method'] == 'retrain'), None)
    return f" = {fd / rt['fd']:.2f}x retrain" if rt else ''

for f in cfg.forget:
    name, t = class_group_name(f), tilted[class_group_name(f)]
    print(f"forget {name}: the objective's optimum as tau -> 0 (pretrained samples weighted by e^(-{lam:g} F)): "
          f"PUL {t['pul']:.2f} (evaluation clf), {t['pul_forget_clf']:.2f} (forget-cost clf), u-FD {t['fd']:.3f}{vs_retrain(f, t['fd'])}")
    if name in discrete:
        d = discrete[name]
        print(f"forget {name}: the objective's discrete optimum at tau {tau:g} (mean of {len(d['fd_draws'])} target draws): PUL {d['pul']:.2f} "
              f"(evaluation clf), TV {d['tv_ideal']:.4f}, u-FD {d['fd']:.3f}{vs_retrain(f, d['fd'])} (draws: {' / '.join(f'{v:.2f}' for v in d['fd_draws'])})")
out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
(out / 'metrics.json').write_text(json.dumps({'rows': rows, 'summary': summary, 'tilted_target': {'lam': lam, **tilted}, 'discrete_optimum': {'tau': tau, **discrete}, 'seeds': args.seeds, 'config': config_record(cfg),
                                             'machine': platform.platform(), 'threads': torch.get_num_threads()}, indent=1, default=list))
save_figures(res, out)
print(f"total {time.perf_counter() - t0:.0f} s")
