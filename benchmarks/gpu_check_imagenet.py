"""GPU check of the ImageNet-256 chapter: the MeanFlow DiT step, the VAE, `unlearn` on B/2, and the tiny pipeline under torchrun.

    python benchmarks/gpu_check_imagenet.py OUT            # one GPU; writes OUT/gpu_check_imagenet.json after every part
    python benchmarks/gpu_check_imagenet.py OUT --quick    # seconds on a CPU: checks that the script itself runs

Random weights everywhere (the machine has no network): speed and memory do not depend on them. Each part is
timed after warm-up steps; model-FLOP utilisation (MFU) counts the FLOPs of one full step (torch's FLOP counter:
guidance pass, JVP, forward and backward) against the card's dense bf16 peak. A part that fails records its
error and the others still run, so a run cut off by a time limit keeps what it measured.
"""
import argparse, json, os, subprocess, sys, tempfile, time, traceback
from pathlib import Path
import torch

p = argparse.ArgumentParser()
p.add_argument('out')
p.add_argument('--quick', action='store_true', help='tiny sizes and few steps (a CPU check of the script)')
p.add_argument('--peak-tflops', type=float, default=989.0, help='dense bf16 peak of the card (H100 SXM: 989)')
args = p.parse_args()
out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
dev = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
cuda = dev.type == 'cuda'
torch.backends.cuda.matmul.allow_tf32 = True; torch.backends.cudnn.allow_tf32 = True
PRECISION = 'bf16' if cuda else 'fp32'  # bf16 autocast needs a GPU
report = {'device': torch.cuda.get_device_name(dev) if cuda else 'cpu', 'torch': torch.__version__, 'quick': args.quick}


def save(): (out / 'gpu_check_imagenet.json').write_text(json.dumps(report, indent=1))


def part(name):
    "Run a measurement; record its result or its error, and save the report either way."
    def wrap(fn):
        t0 = time.perf_counter()
        try: report[name] = fn()
        except Exception as e: report[name] = {'error': f'{type(e).__name__}: {e}', 'trace': traceback.format_exc()[-2000:]}
        report[name + '_seconds'] = round(time.perf_counter() - t0, 1)
        save(); print(name, json.dumps(report[name])[:400], flush=True)
    return wrap


def sync():
    if cuda: torch.cuda.synchronize()


def timed(fn, steps:int, warmup:int=2) -> float:
    "Seconds per call of `fn`, after `warmup` calls."
    for _ in range(warmup): fn()
    sync(); t0 = time.perf_counter()
    for _ in range(steps): fn()
    sync()
    return (time.perf_counter() - t0) / steps


from uot_unlearn.dit import dit, guidance_preset
from uot_unlearn.meanflow import meanflow_loss, meanflow_target
from uot_unlearn.training import training_precision

STEP_RUNS = [('tiny', 8, 2)] if args.quick else [('B/4', 256, 10), ('B/2', 256, 10), ('XL/2', 32, 5)]


def step_speed(preset:str, batch:int, steps:int) -> dict:
    "Images/s, peak memory, JVP share and MFU of the MeanFlow step with guidance folded in, bf16 autocast on a GPU."
    from torch.utils.flop_counter import FlopCounterMode
    net = dit(preset, size=32, channels=4, n_classes=1000).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.9, 0.95))
    x, y = torch.randn(batch, 4, 32, 32, device=dev), torch.randint(1000, (batch,), device=dev)
    guidance = {**guidance_preset(preset), 'label_dropout': 0.1}
    def step():
        with training_precision(PRECISION, dev): loss = meanflow_loss(net, x, y, guidance=guidance)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    def jvp_only():
        r = t = torch.rand(batch, device=dev)
        with training_precision(PRECISION, dev): meanflow_target(net, x, r, t, torch.randn_like(x), y)
    with FlopCounterMode(display=False) as fc: step()
    flops = fc.get_total_flops()
    if cuda: torch.cuda.reset_peak_memory_stats(dev)
    s = timed(step, steps)
    s_jvp = timed(jvp_only, steps)
    peak = torch.cuda.max_memory_allocated(dev) / 2**30 if cuda else None
    return {'batch': batch, 'params_M': round(sum(p.numel() for p in net.parameters()) / 1e6, 1), 's_per_step': s,
            'images_per_s': batch / s, 'peak_GiB': peak, 'jvp_share': s_jvp / s, 'gflop_per_image': flops / batch / 1e9,
            'mfu': flops / s / (args.peak_tflops * 1e12)}


for preset, batch, steps in STEP_RUNS: part(f'step_{preset}')(lambda: step_speed(preset, batch, steps))


@part('vae')
def vae_speed():
    "Encode and decode throughput of a VAE with the SD VAE's architecture (random weights), bf16, 256x256."
    from diffusers import AutoencoderKL
    if args.quick: vae, size, n = AutoencoderKL(block_out_channels=(8, 16), norm_num_groups=8, latent_channels=4,
                                                down_block_types=('DownEncoderBlock2D',) * 2, up_block_types=('UpDecoderBlock2D',) * 2), 32, 4
    else: vae, size, n = AutoencoderKL(block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
                                       down_block_types=('DownEncoderBlock2D',) * 4, up_block_types=('UpDecoderBlock2D',) * 4), 256, 64
    vae = vae.to(dev, torch.bfloat16 if cuda else torch.float32).eval()
    x = torch.randn(n, 3, size, size, device=dev, dtype=next(vae.parameters()).dtype)
    with torch.no_grad():
        z = vae.encode(x).latent_dist.mean
        enc = timed(lambda: vae.encode(torch.cat([x, x.flip(-1)])).latent_dist, 3)  # a crop and its mirror, as extraction does
        dec = timed(lambda: vae.decode(z).sample, 3)
    return {'batch': n, 'encode_images_per_s': n / enc, 'decode_images_per_s': n / dec}


@part('unlearn_B2')
def unlearn_speed():
    "50 `unlearn` steps of B/2 at batch 256 (forget-heavy prompts), bf16 not used: unlearn's own precision."
    from uot_unlearn.meanflow import OneStepGenerator
    from uot_unlearn.image_classifiers import ResNet18
    from uot_unlearn.core import unlearn
    from uot_unlearn.imagenet_pipeline import prompt_sampler
    preset, batch, steps = ('tiny', 8, 3) if args.quick else ('B/2', 256, 50)
    G = OneStepGenerator(dit(preset, size=32, channels=4, n_classes=1000), (4, 32, 32)).to(dev)
    clf = ResNet18(4, 1000, width=8 if args.quick else 64).to(dev)
    if cuda: torch.cuda.reset_peak_memory_stats(dev)
    t0 = time.perf_counter()
    unlearn(G, clf, [1], steps=steps, batch_size=batch, sample_inputs=prompt_sampler(G, [1], 1000), device=dev, progress=False, seed=0)
    sync(); s = (time.perf_counter() - t0) / steps
    return {'steps': steps, 'batch': batch, 's_per_step': s, 'projected_800_steps_min': 800 * s / 60,
            'peak_GiB': torch.cuda.max_memory_allocated(dev) / 2**30 if cuda else None}


@part('tiny_pipeline_torchrun')
def tiny_pipeline():
    "`uot-unlearn imagenet all --tiny` on a fabricated tree, one process under torchrun (NCCL on a GPU)."
    from diffusers import AutoencoderKL
    from uot_unlearn.imagenet import write_fake_imagenet
    d = Path(tempfile.mkdtemp())
    write_fake_imagenet(d / 'data', 3, 8)
    AutoencoderKL(block_out_channels=(8, 16), layers_per_block=1, latent_channels=4, norm_num_groups=8, sample_size=32,
                  down_block_types=('DownEncoderBlock2D',) * 2, up_block_types=('UpDecoderBlock2D',) * 2).save_pretrained(d / 'vae')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=1', '-m', 'uot_unlearn.cli', 'imagenet', 'all',
           '--tiny', '--quiet', '--run-dir', str(d / 'run'), '--data', str(d / 'data'), '--set', f'vae={d / "vae"}', f'latents={d / "lat"}']
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    return {'returncode': r.returncode, 'seconds': time.perf_counter() - t0, 'stdout': r.stdout[-1500:], 'stderr': r.stderr[-1500:]}
