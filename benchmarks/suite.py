"""The unlearning suite (issue 28): `unlearn` with its defaults on every problem of `problems.SUITE`, each against the
objective's discrete optimum (toy) or retraining from scratch (digits), with the goal checks.

    python benchmarks/suite.py --half report --seeds 0 1 2 --cache-dir ~/.cache/uot_unlearn --out benchmarks/out/suite
    python benchmarks/suite.py --ci --out benchmarks/out/suite_ci    # every problem at its small configuration, one seed
    python benchmarks/suite.py --half tune --set unlearn.potential_steps=1 --out benchmarks/out/one_step   # a variant of the defaults
    python benchmarks/suite.py --half report --chapter toy --retrain --out benchmarks/out/suite_retrain   # retraining beside the optimum

Defaults are chosen on the tune half only (the ring's classes and groups, digit 0); the report half measures them.
Checks on the means over seeds. Toy, against the optimum: TV <= its TV + 0.02, every class share within 0.03 of its
shares (each seed's largest gap, averaged), retain stability >= its stability - 0.03, in-support drop <= 1.5 points,
PUL >= 99, time <= 0.10 of pretraining's. Digits, against retraining: PUL >= retraining's, u-FD <= 1.1 x retraining's,
time <= 0.10 of retraining's. With --retrain each toy problem also gets retraining from scratch (one pretraining
without the forgotten classes, same budget, cached) as a row beside the optimum. Writes suite.json (the unlearned runs, the summaries, the checks) to --out.
"""
import argparse, json, platform, subprocess, time
from pathlib import Path
import torch
import matplotlib; matplotlib.use('Agg')
from uot_unlearn.toy import ToyConfig, run_toy
from uot_unlearn.digits import DigitsConfig, run_digits
from uot_unlearn.metrics import mean_over_seeds, metrics_table
from uot_unlearn.cli import set_item
from uot_unlearn.run_folder import changed_config
from problems import MIXTURES, SUITE, optimum_support, toy_unlearning_runs

p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
p.add_argument('--half', choices=['tune', 'report', 'all'], default='all', help='which half of the suite to run')
p.add_argument('--chapter', choices=['toy', 'digits', 'all'], default='all', help="only the toy's or the digits' problems")
p.add_argument('--problems', nargs='+', metavar='NAME', help='only these problems (names as in problems.SUITE)')
p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2], help="seeds of the unlearning runs (and of the digits' retrainings; the toy's retraining runs once, at the pretraining's seed)")
p.add_argument('--optimum-draws', type=int, default=3, help='draws of the discrete optimum averaged per toy problem')
p.add_argument('--ci', action='store_true', help='small configurations and one seed: the pipeline, not the numbers')
p.add_argument('--retrain', action='store_true', help="toy: also retrain from scratch without the forgotten classes (a full pretraining per problem) as a reference row")
p.add_argument('--cache-dir', default=None, help='reuse pretrained models (default: pretrain in this run)')
p.add_argument('--set', nargs='+', metavar='KEY=VALUE', help="a variant: settings laid over every problem's configuration (values as JSON), e.g. unlearn.potential_steps=1")
p.add_argument('--out', default='benchmarks/out/suite')
args = p.parse_args()
variant = {}
try:
    for item in args.set or []: set_item(variant, item)
except ValueError as e: p.error(str(e))
known = [name for name, *_ in SUITE]
unknown = [n for n in args.problems or [] if n not in known]
if unknown: p.error(f"unknown problem(s) {unknown}: the suite has {known}")
if args.optimum_draws < 1: p.error(f"--optimum-draws must be at least 1, got {args.optimum_draws}")
problems = [q for q in SUITE if args.half in ('all', q[1]) and args.chapter in ('all', q[2]) and (not args.problems or q[0] in args.problems)]
if not problems: p.error(f"no problem of the suite is in --half {args.half}, --chapter {args.chapter} and --problems {args.problems}")
seeds = args.seeds[:1] if args.ci else args.seeds


REFERENCE_METRICS = ('pul', 'tv_ideal', 'retain_stability', 'in_support_drop', 'optimum_share_gap', 'time_ratio')

def toy_summary(rows, forget):
    "The unlearned runs' means over seeds against the optimum of the same forget run (and retraining's, when run), with the goal checks."
    scored = toy_unlearning_runs(rows)
    runs = [r for r in scored if r['method'] == 'UOT-Unlearn' and r['forget'] == forget]
    retrained = [{k: r[k] for k in REFERENCE_METRICS} for r in scored if r['method'] == 'retrained' and r['forget'] == forget]
    opt = next(r for r in rows if r['method'] == 'discrete optimum' and r['forget'] == forget)
    s = mean_over_seeds(runs)[0]
    s['checks'] = {'tv <= optimum + 0.02': s['tv_ideal'] <= opt['tv_ideal'] + 0.02,
                   'shares within 0.03 of the optimum': s['optimum_share_gap'] <= 0.03,
                   'stability >= optimum - 0.03': s['retain_stability'] >= opt['retain_stability'] - 0.03,
                   'in-support drop <= 1.5': s['in_support_drop'] <= 1.5, 'pul >= 99': s['pul'] >= 99,
                   'time <= 0.10 x pretraining': s['time_ratio'] <= 0.10}
    optimum = {**{k: opt[k] for k in ('pul', 'tv_ideal', 'retain_stability', 'n_draws')}, **optimum_support(opt)}
    return {'unlearn': s, 'optimum': optimum, 'runs': runs,
            **({'retrained': retrained[0]} if retrained else {})}


def digits_summary(rows, forget):
    "UOT-Unlearn's means over seeds against retraining's, with the goal checks."
    u, r = (mean_over_seeds([x for x in rows if x['method'] == m and x['forget'] == forget])[0] for m in ('UOT-Unlearn', 'retrain'))
    u['fd_vs_retrain'] = u['fd'] / r['fd']
    u['checks'] = {'pul >= retraining': u['pul'] >= r['pul'], 'u-FD <= 1.1 x retraining': u['fd_vs_retrain'] <= 1.1,
                   'time <= 0.10 x retraining': u['time_vs_retrain'] <= 0.10}
    return {'unlearn': u, 'retrain': r}


def configure(cfg):
    "`cfg` with the variant of `--set` (its `unlearn` settings laid over the configuration's)."
    try: return changed_config(type(cfg), vars(cfg), variant)
    except (ValueError, TypeError) as e: raise SystemExit(f"suite.py: --set {' '.join(args.set)}: {e}")


def run_group(chapter, mixture, changes, group):
    "One pipeline call for the problems sharing pretrained models; their summaries by name."
    forget = tuple(q[4] for q in group)
    if chapter == 'toy':
        base = (lambda **kw: ToyConfig.small(pretrain_steps=1500, **kw)) if args.ci else ToyConfig  # the grid's corners need the steps
        cfg = configure(base(**{'forget': forget, 'methods': ('UOT-Unlearn',), 'optimum_draws': 1 if args.ci else args.optimum_draws,
                                'retrain': args.retrain, **changes}))
        rows = run_toy(cfg, args.cache_dir, progress=False, seeds=seeds, mix=MIXTURES[mixture]())['rows']
        return {q[0]: {**toy_summary(rows, q[4]), 'settings': cfg.unlearn.record()} for q in group}
    base = (lambda **kw: DigitsConfig.small(pretrain_steps=40, classifier_steps=60, **kw)) if args.ci else DigitsConfig  # retraining per digit
    cfg = configure(base(forget=forget, methods=('UOT-Unlearn', 'retrain'), **changes))
    rows = run_digits(cfg, args.cache_dir, progress=False, seeds=seeds)['rows']
    return {q[0]: {**digits_summary(rows, q[4]), 'settings': cfg.unlearn.record()} for q in group}


t0, results = time.perf_counter(), {}
groups = {}
for q in problems: groups.setdefault((q[2], q[3], json.dumps(q[5], sort_keys=True)), []).append(q)
for (chapter, mixture, changes), group in groups.items():
    t = time.perf_counter()
    results.update(run_group(chapter, mixture, json.loads(changes), group))
    print(f"{', '.join(q[0] for q in group)}: {time.perf_counter() - t:.0f} s", flush=True)

for half in ('tune', 'report'):
    toy = [dict(problem=n, **results[n]['unlearn'], **{f'optimum_{k}': v for k, v in results[n]['optimum'].items()},
                **{f'retrained_{k}': v for k, v in results[n].get('retrained', {}).items()})
           for n, h, c, *_ in problems if h == half and c == 'toy']
    digits = [dict(problem=n, **results[n]['unlearn'], retrain_pul=results[n]['retrain']['pul']) for n, h, c, *_ in problems if h == half and c == 'digits']
    if toy: print(f"\n{half} half, toy (mean over seeds {seeds}; optimum: mean over its draws)\n" + metrics_table(toy,
                  ['problem', 'pul', 'optimum_pul', 'tv_ideal', 'optimum_tv_ideal', 'optimum_share_gap', 'retain_stability',
                   'optimum_retain_stability', 'in_support_drop', 'drop_from_forgotten', 'drop_from_retained', 'optimum_in_support_drop',
                   'optimum_drop_from_forgotten', 'time_ratio']))
    if toy and args.retrain: print(f"\n{half} half, toy, retraining from scratch (one run, at the pretraining's seed) against UOT-Unlearn's mean\n" + metrics_table(toy,
                  ['problem', 'pul', 'retrained_pul', 'tv_ideal', 'retrained_tv_ideal', 'retain_stability', 'retrained_retain_stability',
                   'in_support_drop', 'retrained_in_support_drop', 'retrained_time_ratio']))
    if digits: print(f"\n{half} half, digits\n" + metrics_table(digits, ['problem', 'pul', 'retrain_pul', 'fd_vs_retrain', 'time_vs_retrain']))
print('\nchecks (met / all):')
for n, r in results.items():
    missed = [c for c, ok in r['unlearn']['checks'].items() if not ok]
    print(f"  {n}: {len(r['unlearn']['checks']) - len(missed)}/{len(r['unlearn']['checks'])}" + (f", not met: {'; '.join(missed)}" if missed else ''))
seconds = time.perf_counter() - t0
print(f"total {seconds:.0f} s")
git = lambda *a: subprocess.run(['git', *a], capture_output=True, text=True).stdout.strip()
commit = git('rev-parse', '--short', 'HEAD')
if git('status', '--porcelain', '--untracked-files=no'): commit += '+changes'  # the code that ran is not HEAD's
out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
(out / 'suite.json').write_text(json.dumps({'problems': {q[0]: {'half': q[1], 'chapter': q[2], 'mixture': q[3], 'forget': q[4],
                                                               'changes': q[5], **results[q[0]]} for q in problems},
                                            'seeds': seeds, 'variant': variant, 'ci': args.ci, 'seconds': seconds, 'commit': commit,
                                            'machine': platform.platform(), 'threads': torch.get_num_threads()}, indent=1))
