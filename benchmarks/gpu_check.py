"""GPU check (issue 4): speed and memory of the small 32x32 MeanFlow U-Net and of `unlearn` on one GPU.

    bash benchmarks/gpu_check.sh            # on the GPU machine; writes gpu_check.json and a sample grid

Stand-in data: the digits upsampled to 32x32 and repeated over 3 channels (CIFAR-10's shape).
Measures: MeanFlow training images/s (fp32 with TF32, and bf16 autocast), the share of a training step
spent in the JVP, one-step sampling images/s, peak memory, unlearning steps/s, and a projection of
the time to unlearn one class at `unlearn`'s default number of steps.
"""
import argparse, json, time, platform
from pathlib import Path
import torch
import matplotlib; matplotlib.use('Agg')
from uot_unlearn.images import load_digit_images, plot_image_grid
from uot_unlearn.unet import unet, n_params
from uot_unlearn.meanflow import meanflow_loss, train_meanflow, sample_intervals
from uot_unlearn.image_classifiers import ConvClassifier
from uot_unlearn.classifier import train_classifier, accuracy
from uot_unlearn.core import unlearn, UnlearnSettings

p = argparse.ArgumentParser()
p.add_argument('--preset', default='small')
p.add_argument('--train-steps', type=int, default=300)
p.add_argument('--batch', type=int, default=128)
p.add_argument('--unlearn-steps', type=int, default=100)
p.add_argument('--out', default='benchmarks/out/gpu_check')
p.add_argument('--device', default=None)
p.add_argument('--size', type=int, default=32)
p.add_argument('--unet', default='{}', help='JSON of U-Net settings that override the preset, e.g. \'{"attn_res": []}\'')
p.add_argument('--speed-only', action='store_true', help='only the per-step timings (no training loop, sampling or unlearning)')
args = p.parse_args()
dev = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
cuda = dev.type == 'cuda'
torch.backends.cuda.matmul.allow_tf32 = True; torch.backends.cudnn.allow_tf32 = True
torch.backends.cudnn.benchmark = True
out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
overrides = json.loads(args.unet)
report = {'device': torch.cuda.get_device_name(dev) if cuda else platform.processor() or 'cpu',
          'torch': torch.__version__, 'preset': args.preset, 'unet_overrides': overrides, 'batch': args.batch, 'size': args.size}

def sync():
    if cuda: torch.cuda.synchronize(dev)

def timed(fn, n:int, warmup:int=3) -> float:
    "Seconds per call of `fn`, after `warmup` calls."
    for _ in range(warmup): fn()
    sync(); t0 = time.perf_counter()
    for _ in range(n): fn()
    sync(); return (time.perf_counter() - t0) / n

x, y = load_digit_images(args.size)
x = x.repeat(1, 3, 1, 1)
net = unet(args.preset, channels=3, size=args.size, **overrides).to(dev)
report['params'] = n_params(net)
opt = torch.optim.Adam(net.parameters(), lr=2e-4)
xb = x[:args.batch].to(dev)

def step(amp:bool=False):
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
        loss = meanflow_loss(net, xb)
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()

def step_without_jvp():
    "The same step with the JVP replaced by a plain forward: what the JVP costs is the difference."
    r, t = sample_intervals(len(xb), device=dev)
    e = torch.randn_like(xb); tb = t.view(-1, 1, 1, 1)
    u = net((1 - tb) * xb + tb * e, r, t)
    loss = (u - (e - xb)).pow(2).mean()
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()

if cuda: torch.cuda.reset_peak_memory_stats(dev)
t_fp32 = timed(step, 20)
report['train_peak_memory_gib'] = torch.cuda.max_memory_allocated(dev) / 2**30 if cuda else None
try: report['train_images_per_s_bf16'] = args.batch / timed(lambda: step(True), 20)
except RuntimeError as e: report['train_images_per_s_bf16'] = f'bf16 autocast failed: {str(e)[:300]}'
if cuda: torch.cuda.reset_peak_memory_stats(dev)
t_nojvp = timed(step_without_jvp, 20)
report['train_peak_memory_gib_without_jvp'] = torch.cuda.max_memory_allocated(dev) / 2**30 if cuda else None
report.update(train_images_per_s_tf32=args.batch / t_fp32, train_step_s_tf32=t_fp32, jvp_share_of_step=1 - t_nojvp / t_fp32)
print(json.dumps(report, indent=1), flush=True)
if args.speed_only:
    (out / 'gpu_check.json').write_text(json.dumps(report, indent=1)); raise SystemExit

# a few hundred real training steps on the stand-in data, then samples
t0 = time.perf_counter()
G, errors = train_meanflow(unet(args.preset, channels=3, size=args.size, **overrides), x, steps=args.train_steps, batch_size=args.batch,
                           lr=2e-4, ema_decay=0.99, seed=0, device=dev, progress=False)
sync(); report['train_loop_s'] = time.perf_counter() - t0
k = min(20, len(errors))  # the squared error per coordinate (the weighted loss stays near 1)
report['train_error_first_last'] = [sum(errors[:k]) / k, sum(errors[-k:]) / k]
G = G.to(dev)
e = torch.randn(1000, 3, args.size, args.size, device=dev)
with torch.no_grad():
    report['sample_images_per_s_tf32'] = 1000 / timed(lambda: G(e), 10)
    try:
        with torch.autocast(dev.type, dtype=torch.bfloat16):
            report['sample_images_per_s_bf16'] = 1000 / timed(lambda: G(e), 10)
    except RuntimeError as err: report['sample_images_per_s_bf16'] = f'failed: {str(err)[:300]}'
    plot_image_grid(G(e[:64]).float(), nrow=16).figure.savefig(out / 'samples.png', dpi=100)

# unlearning: a forget-cost classifier on the stand-in data, then `unlearn` on the trained generator
clf = train_classifier(ConvClassifier(3, 10), x, y, steps=300, seed=0, device=dev, progress=False)
report['classifier_train_accuracy'] = accuracy(clf, x, y)
if cuda: torch.cuda.reset_peak_memory_stats(dev)
sync(); t0 = time.perf_counter()
res = unlearn(G, clf, 0, steps=args.unlearn_steps, batch_size=UnlearnSettings.batch_size, seed=0, device=dev, progress=False)
sync(); t_unlearn = time.perf_counter() - t0
report.update(unlearn_steps_per_s=args.unlearn_steps / t_unlearn, unlearn_batch=UnlearnSettings.batch_size,
              unlearn_peak_memory_gib=torch.cuda.max_memory_allocated(dev) / 2**30 if cuda else None,
              unlearn_default_steps=UnlearnSettings.steps,
              unlearn_projected_s_at_default_steps=UnlearnSettings.steps * t_unlearn / args.unlearn_steps,
              unlearn_last_forget_share=res.history['forget_share'][-1])
print(json.dumps(report, indent=1))
(out / 'gpu_check.json').write_text(json.dumps(report, indent=1))
