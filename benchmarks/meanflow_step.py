"""Speed and memory of one MeanFlow training step: the library's `meanflow_target` against a one-call baseline.

The baseline computes `u` and `du/dt` in a single `torch.func.jvp` call while autograd records both, so
the tangent's activations are kept for a backward pass that never uses them (the target is detached).
The library runs the JVP without autograd and `u` in its own forward pass (same dropout masks).
Both run in the same process on the same batches, interleaved; the figures to quote are the ratios.

    python benchmarks/meanflow_step.py --nets toy digits                    # CPU
    python benchmarks/meanflow_step.py --nets small paper --device cuda     # GPU: adds peak memory
"""
import argparse, statistics, time
import torch
from speed_report import start_report, add_row, write_report
from uot_unlearn import meanflow
from uot_unlearn.meanflow import MeanFlowMLP, meanflow_loss
from uot_unlearn.unet import unet

def one_call_target(net, z, r, t, v, y=None):
    "The baseline: `u` and `du/dt` from one `jvp` with autograd recording both."
    u, dudt = torch.func.jvp(lambda z, r, t: net(z, r, t, y), (z, r, t), (v, torch.zeros_like(r), torch.ones_like(t)))
    return u, v - (t - r).view(-1, *[1] * (z.ndim - 1)) * dudt

VARIANTS = {'library': meanflow.meanflow_target, 'one_call': one_call_target}

def problem(name:str):
    "The network and data shape of a benchmark problem, with its training batch size."
    if name == 'toy':
        from uot_unlearn.toy import ToyConfig
        cfg = ToyConfig(); return MeanFlowMLP(2, hidden=cfg.hidden, depth=cfg.depth), (2,), cfg.pretrain_batch
    if name == 'digits':
        from uot_unlearn.digits import DigitsConfig
        cfg = DigitsConfig(); return unet(cfg.unet_preset, channels=1, size=cfg.size), (1, cfg.size, cfg.size), cfg.pretrain_batch
    return unet(name, channels=3, size=32), (3, 32, 32), 128

def variant_loss(net, x, variant:str):
    "`meanflow_loss` on batch `x` with the target function of `variant`."
    meanflow.meanflow_target = VARIANTS[variant]  # meanflow_loss looks the target function up at call time
    try: return meanflow_loss(net, x)
    finally: meanflow.meanflow_target = VARIANTS['library']

def step(net, opt, x, variant:str) -> None:
    loss = variant_loss(net, x, variant)
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()

def gradients(net, x, variant:str, seed:int=0) -> list:
    "The loss gradient of `variant` on batch `x` with seeded noise and times (no optimiser step)."
    torch.manual_seed(seed)  # seeds the CUDA generators too
    return torch.autograd.grad(variant_loss(net, x, variant), list(net.parameters()))

def measure(name:str, dev, rounds:int, steps:int, batch:int|None) -> dict:
    torch.manual_seed(0)
    net, shape, default_batch = problem(name)
    net = net.to(dev).train()
    x = torch.randn(batch or default_batch, *shape, device=dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-6)  # tiny steps: the network barely moves between rounds
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else (lambda: None)
    ga, gb = gradients(net, x, 'library'), gradients(net, x, 'one_call')
    grad_diff = max(((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item() for a, b in zip(ga, gb))
    times, peak = {v: [] for v in VARIANTS}, {}
    for v in VARIANTS:  # warm-up (cudnn.benchmark, allocator) and peak memory of one step
        for _ in range(2): step(net, opt, x, v)
        if dev.type == 'cuda':
            sync(); torch.cuda.reset_peak_memory_stats(dev); step(net, opt, x, v); sync()
            peak[v] = torch.cuda.max_memory_allocated(dev) / 2**30
    for _ in range(rounds):
        for v in VARIANTS:
            sync(); t0 = time.perf_counter()
            for _ in range(steps): step(net, opt, x, v)
            sync(); times[v].append((time.perf_counter() - t0) / steps)
    s = {v: statistics.median(ts) for v, ts in times.items()}
    row = dict(net=name, params=sum(p.numel() for p in net.parameters()), batch=len(x),
               step_s={v: round(t, 5) for v, t in s.items()}, time_ratio_library_over_one_call=round(s['library'] / s['one_call'], 3),
               max_relative_gradient_difference=grad_diff)
    if peak: row.update(peak_memory_gib={v: round(m, 3) for v, m in peak.items()},
                        memory_ratio_library_over_one_call=round(peak['library'] / peak['one_call'], 3))
    return row

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--nets', nargs='+', default=['toy', 'digits'], help="'toy', 'digits', or U-Net presets ('small', 'paper')")
    p.add_argument('--device', default='cpu')
    p.add_argument('--batch', type=int, default=None, help="default: the problem's training batch (128 for U-Net presets)")
    p.add_argument('--rounds', type=int, default=5, help='interleaved rounds; the median round is reported')
    p.add_argument('--steps', type=int, default=5, help='steps per round and variant')
    p.add_argument('--out', default=None, help='JSON file for the results')
    args = p.parse_args()
    dev, report = start_report(args.device)
    for name in args.nets:
        add_row(report, measure(name, dev, args.rounds, args.steps, args.batch))
    write_report(report, args.out)
