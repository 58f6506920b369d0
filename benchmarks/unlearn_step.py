"""Speed of one `unlearn` step: the library's one-batch potential loss against two passes over the potential.

The library sends the generated and the target samples through the potential as one batch, so the gradient
penalty costs one double backward. The baseline (the code before it) runs the potential on each set and takes
the penalty's gradient through both graphs. Same sums, same gradients: the script checks the loss and the
potential's gradients agree, then times whole `unlearn` runs of each, interleaved in one process, on freshly
initialised generators and classifiers of each chapter's size (the time of a step does not depend on the weights);
each run's setup (copies of the models, a probe batch) is counted in its time, which pulls short runs' ratios toward 1.
The figures to quote are the ratios.

    python benchmarks/unlearn_step.py                                   # CPU: toy, blobs16, digits
    python benchmarks/unlearn_step.py --problems cifar10 --device cuda  # GPU: adds peak memory
"""
import argparse, statistics, time
import torch
from speed_report import start_report, add_row, write_report
from uot_unlearn import core
from uot_unlearn.core import unlearn, UnlearnSettings, conjugate

def two_passes(potential, x_gen, cost, x_target, psi_source, psi_target, r1:float, spread:float=1.0, target_weight=None):
    "The baseline: the potential on each set of samples, the penalty's gradient through both graphs."
    x_target, x_gen = (x.detach().requires_grad_(r1 > 0) for x in (x_target, x_gen))
    v_target, v_gen = potential(x_target), potential(x_gen)
    w = 1.0 if target_weight is None else target_weight
    loss = psi_source(v_gen - cost).mean() + (w * psi_target(-v_target)).mean()
    if r1 > 0:
        grads = torch.autograd.grad(v_target.sum() + v_gen.sum(), (x_target, x_gen), create_graph=True)
        loss = loss + r1 / 4 * spread * sum(g.pow(2).flatten(1).sum(1).mean() for g in grads)
    return loss

VARIANTS = {'library': core.potential_loss, 'two_passes': two_passes}
PROBLEMS = ('toy', 'blobs16', 'digits', 'cifar10')

def problem(name:str):
    "A fresh generator, classifier and the chapter's `unlearn` settings for a benchmark problem."
    from uot_unlearn.meanflow import MeanFlowMLP, OneStepGenerator
    from uot_unlearn.classifier import MLPClassifier
    from uot_unlearn.image_classifiers import ConvClassifier
    if name in ('toy', 'blobs16'):
        from uot_unlearn.toy import ToyConfig
        cfg, dim = ToyConfig(), 2 if name == 'toy' else 16
        return OneStepGenerator(MeanFlowMLP(dim, cfg.hidden, cfg.depth), (dim,)), MLPClassifier(dim, 8), cfg.unlearn
    if name == 'digits':
        from uot_unlearn.digits import DigitsConfig, digit_generator
        cfg = DigitsConfig(); return digit_generator(cfg), ConvClassifier(1, 10), cfg.unlearn
    if name == 'cifar10':
        from uot_unlearn.cifar10_pipeline import CifarConfig
        from uot_unlearn.unet import unet
        cfg = CifarConfig()
        return OneStepGenerator(unet(cfg.unet_preset, channels=3, size=32), (3, 32, 32)), ConvClassifier(3, 10), cfg.unlearn
    raise ValueError(f"Unknown problem {name!r}: use one of {PROBLEMS}.")

def agreement(G, settings:UnlearnSettings, dev) -> float:
    "Largest relative difference between the potential's gradients under both variants, on one batch of `G`'s samples."
    from uot_unlearn.potential import potential_for
    with torch.no_grad(): x = G(*[t.to(dev) for t in _inputs(G, settings.batch_size)]).float()
    torch.manual_seed(0); pot = potential_for(x).to(dev)
    xt, cost, w = torch.randn_like(x), torch.rand(len(x), device=dev), torch.rand(len(x), device=dev)
    args = (pot, x, cost, xt, conjugate(settings.source_divergence), conjugate(settings.divergence), settings.r1, 17.0, w)
    ga, gb = (torch.autograd.grad(f(*args), list(pot.parameters())) for f in VARIANTS.values())
    return max(((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item() for a, b in zip(ga, gb))

def _inputs(G, n):
    z = G.sample_inputs(n)
    return z if isinstance(z, tuple) else (z,)

def run(G, clf, settings, steps:int, dev, variant:str, seed:int):
    core.potential_loss = VARIANTS[variant]  # `unlearn` looks the loss up at call time
    try: unlearn(G, clf, [0], settings, steps=steps, seed=seed, device=dev, progress=False)
    finally: core.potential_loss = VARIANTS['library']

def measure(name:str, dev, rounds:int, steps:int) -> dict:
    torch.manual_seed(0)
    G, clf, settings = problem(name)
    G, clf = G.to(dev).eval(), clf.to(dev).eval()
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else (lambda: None)
    times, peak = {v: [] for v in VARIANTS}, {}
    for v in VARIANTS:  # warm-up (cudnn.benchmark, allocator) and the peak memory of a short run
        if dev.type == 'cuda': sync(); torch.cuda.reset_peak_memory_stats(dev)
        run(G, clf, settings, 3, dev, v, 0)
        if dev.type == 'cuda': sync(); peak[v] = torch.cuda.max_memory_allocated(dev) / 2**30
    for r in range(rounds):
        for v in (VARIANTS if r % 2 == 0 else reversed(VARIANTS)):  # alternate which goes first
            sync(); t0 = time.perf_counter()
            run(G, clf, settings, steps, dev, v, r)
            sync(); times[v].append((time.perf_counter() - t0) / steps)
    ratios = [a / b for a, b in zip(times['library'], times['two_passes'])]
    row = dict(problem=name, batch=settings.batch_size, potential_steps=settings.potential_steps, steps_per_round=steps,
               step_s={v: round(statistics.median(ts), 5) for v, ts in times.items()},
               time_ratio_library_over_two_passes=round(statistics.median(ratios), 3),
               ratio_spread=[round(min(ratios), 3), round(max(ratios), 3)],
               max_relative_gradient_difference=agreement(G, settings, dev))
    if peak: row.update(peak_memory_gib={v: round(m, 3) for v, m in peak.items()})
    return row

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--problems', nargs='+', default=['toy', 'blobs16', 'digits'], choices=PROBLEMS)
    p.add_argument('--device', default='cpu')
    p.add_argument('--rounds', type=int, default=7, help='interleaved rounds; the median ratio of a round pair is reported')
    p.add_argument('--steps', type=int, default=None, help='unlearn steps per round and variant (default: 100 toy/blobs16, 20 images)')
    p.add_argument('--out', default=None, help='JSON file for the results')
    args = p.parse_args()
    dev, report = start_report(args.device)
    for name in args.problems:
        add_row(report, measure(name, dev, args.rounds, args.steps or (100 if name in ('toy', 'blobs16') else 20)))
    write_report(report, args.out)
