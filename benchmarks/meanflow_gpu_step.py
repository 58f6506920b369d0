"""The MeanFlow training step on a GPU: today's path and faster candidates, side by side in one process.

Every configuration trains the same network on the same batches with `meanflow_loss`, as `train_meanflow` does:
- `tf32`: today's GPU default (TF32 matmuls and convolutions, eager);
- `bf16`: bf16 autocast;
- `bf16+cl`: and channels-last memory (U-Nets; the DiT has no convolution after its patch embedding);
- `bf16+compile`, `bf16+cl+compile`: and `torch.compile` of the network (the JVP runs through the compiled module).
For each network it reports images/s, peak memory, the gradient's relative difference to `tf32` on the same noise,
and MFU: the FLOPs of one step (torch's FLOP counter over forward, JVP and backward) over the step time and the
card's dense bf16 peak (989 TFLOP/s for an H100 or H200 SXM; `--peak-tflops` for other cards). A configuration
that fails (e.g. compile through `torch.func.jvp`) is reported with its error's first line.

    python benchmarks/meanflow_gpu_step.py --out runs/gpu_step.json     # GPU: CIFAR-10 small and paper U-Nets, DiT-B/2
    python benchmarks/meanflow_gpu_step.py --quick                       # a CPU check that it runs (tiny networks, fp32)
"""
import argparse, copy, json, statistics, time
from pathlib import Path
import torch
from torch.utils.flop_counter import FlopCounterMode
from uot_unlearn.meanflow import meanflow_loss
from uot_unlearn.training import training_precision
from uot_unlearn.unet import unet
from uot_unlearn.dit import dit, guidance_preset

CONFIGS = {'tf32': dict(precision='tf32'), 'bf16': dict(precision='bf16'), 'bf16+cl': dict(precision='bf16', channels_last=True),
           'bf16+compile': dict(precision='bf16', compile=True), 'bf16+cl+compile': dict(precision='bf16', channels_last=True, compile=True)}

def problem(name:str):
    "(network, data shape, classes, batch, loss settings) of a benchmark network."
    if name in ('small', 'paper'): return unet(name, channels=3, size=32), (3, 32, 32), None, 128, {}
    if name == 'dit-B/2':  # ImageNet-256 latents, guidance folded in as the chapter trains it
        return dit('B/2'), (4, 32, 32), 1000, 256, {'guidance': {'label_dropout': 0.1, **guidance_preset('B/2')}}
    if name == 'unet-tiny': return unet('digits', channels=3, size=16), (3, 16, 16), None, 8, {}
    if name == 'dit-tiny': return dit('tiny', size=8, n_classes=10), (4, 8, 8), 10, 8, {'guidance': {'label_dropout': 0.1, **guidance_preset('B/2')}}
    raise ValueError(f"Unknown network {name!r}: 'small', 'paper', 'dit-B/2' (GPU) or 'unet-tiny', 'dit-tiny' (--quick).")

def prepared(net, x, channels_last=False, compile=False):
    "The network to call and the batch, in the configuration's memory format."
    if channels_last and x.ndim == 4: net, x = net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    return (torch.compile(net) if compile else net), x

def loss_of(net, x, y, precision, kw, dev, seed=0):
    torch.manual_seed(seed)
    with training_precision(precision, dev): return meanflow_loss(net, x, y, **kw)

def gradients(net) -> torch.Tensor:
    "Every parameter's gradient in one vector (zeros where a parameter got none)."
    return torch.cat([(torch.zeros_like(p) if p.grad is None else p.grad).flatten().float() for p in net.parameters()])

def timing(s:float, batch:int, flops:float, peak_tflops:float, diff:float, dev) -> dict:
    "One configuration's figures from its median step time `s`."
    return dict(images_per_s=round(batch / s, 1), step_s=round(s, 5), relative_gradient_difference=round(diff, 5),
                mfu=round(flops / s / (peak_tflops * 1e12), 4),
                peak_memory_gib=round(torch.cuda.max_memory_allocated(dev) / 2**30, 2) if dev.type == 'cuda' else None)

def measure(name:str, dev, rounds:int, steps:int, configs:list, peak_tflops:float) -> dict:
    torch.manual_seed(0)
    base, shape, n_classes, batch, kw = problem(name)
    base = base.to(dev).train()
    x = torch.randn(batch, *shape, device=dev)
    y = torch.randint(n_classes, (batch,), device=dev) if n_classes else None
    with FlopCounterMode(display=False) as counter:  # one step's work, the same in every configuration
        loss_of(base, x, y, 'fp32' if dev.type == 'cpu' else 'tf32', kw, dev).backward()
    flops, reference = counter.get_total_flops(), gradients(base)
    start = copy.deepcopy(base.state_dict())  # each configuration starts from these weights
    row = dict(net=name, params=sum(p.numel() for p in base.parameters()), batch=batch, gflop_per_image=round(flops / batch / 1e9, 2), configs={})
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else (lambda: None)
    for cname in configs:
        c = dict(CONFIGS[cname]); precision = c.pop('precision')
        if dev.type == 'cpu': precision = 'fp32'  # bf16 autocast and TF32 are CUDA paths
        try:
            base.load_state_dict(start)
            net, xb = prepared(base, x, **c)
            opt = torch.optim.Adam(base.parameters(), lr=1e-7)  # tiny steps: the network barely moves between configurations
            def step():
                opt.zero_grad(set_to_none=True); loss_of(net, xb, y, precision, kw, dev).backward()
            step(); grads = gradients(base)
            diff = ((grads - reference).norm() / reference.norm()).item()
            opt.step(); step(); opt.step()  # warm-up: compilation, cudnn autotuning, allocator
            if dev.type == 'cuda': sync(); torch.cuda.reset_peak_memory_stats(dev)
            times = []
            for _ in range(rounds):
                sync(); t0 = time.perf_counter()
                for _ in range(steps): step(); opt.step()
                sync(); times.append((time.perf_counter() - t0) / steps)
            row['configs'][cname] = timing(statistics.median(times), batch, flops, peak_tflops, diff, dev)
        except Exception as e:  # a configuration that does not work on this card or this torch is a result too
            row['configs'][cname] = dict(error=str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__)
        finally:
            base.to(memory_format=torch.contiguous_format)
    ok = {k: v for k, v in row['configs'].items() if 'images_per_s' in v}
    if 'tf32' in ok: row['speedup_over_tf32'] = {k: round(v['images_per_s'] / ok['tf32']['images_per_s'], 3) for k, v in ok.items()}
    return row

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--nets', nargs='+', default=['small', 'paper', 'dit-B/2'])
    p.add_argument('--configs', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument('--rounds', type=int, default=5, help='timed rounds; the median is reported')
    p.add_argument('--steps', type=int, default=10, help='steps per round')
    p.add_argument('--peak-tflops', type=float, default=989., help="the card's dense bf16 peak, for MFU (default: H100/H200 SXM)")
    p.add_argument('--quick', action='store_true', help='tiny networks on the CPU in fp32: checks that the script runs')
    p.add_argument('--out', default=None, help='JSON file for the results')
    args = p.parse_args()
    dev = torch.device('cpu' if args.quick or not torch.cuda.is_available() else 'cuda')
    if args.quick: args.nets, args.configs, args.rounds, args.steps = ['unet-tiny', 'dit-tiny'], ['tf32', 'bf16+cl'], 1, 1
    if dev.type == 'cuda': torch.backends.cudnn.benchmark = True
    report = dict(device=torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu', torch=torch.__version__, rows=[])
    for name in args.nets:
        report['rows'].append(measure(name, dev, args.rounds, args.steps, args.configs, args.peak_tflops))
        print(json.dumps(report['rows'][-1]), flush=True)
    if args.out: Path(args.out).parent.mkdir(parents=True, exist_ok=True); Path(args.out).write_text(json.dumps(report, indent=1))
