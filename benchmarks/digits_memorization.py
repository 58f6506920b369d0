"""Does the data-based UOT-Unlearn copy its training images? u-FD against held-out images, and nearest neighbours.

    python benchmarks/digits_memorization.py --forget 8 --cache-dir ~/.cache/uot_unlearn

The data-based target is the generator's training half. A generator that copied it would have a much
lower u-FD against that half than against the held-out half, and samples closer to their nearest
training image than real held-out images are. Prints both for the pretrained model and three methods.
"""
import argparse
import torch
from uot_unlearn.digits import DigitsConfig, pretrained_digits, DigitsEvaluator, run_method
from uot_unlearn.image_classifiers import extract_features
from uot_unlearn.metrics import frechet_distance

p = argparse.ArgumentParser()
p.add_argument('--forget', type=int, default=8)
p.add_argument('--seed', type=int, default=0)
p.add_argument('--cache-dir', default=None)
args = p.parse_args()

cfg = DigitsConfig(device='cpu')
pre = pretrained_digits(cfg, args.cache_dir, progress=False)
ev, data = DigitsEvaluator(pre, cfg), pre['data']
kept_train, kept_held = data.y_train != args.forget, data.y_held_out != args.forget
f_train = extract_features(ev.eval_clf, data.x_train[kept_train])
f_held = extract_features(ev.eval_clf, data.x_held_out[kept_held])

def nearest(x, ref):
    "Mean pixel distance from each image of `x` to its nearest image in `ref`."
    return torch.cdist(x.flatten(1), ref.flatten(1)).min(1).values.mean().item()

print(f"real held-out images: FD to the training half {frechet_distance(f_held, f_train):.2f}, "
      f"nearest training image {nearest(data.x_held_out[kept_held], data.x_train[kept_train]):.3f}")
models = {'pretrained': pre['generator']}
for m in ['UOT-Unlearn', 'UOT-Unlearn (data)', 'finetune']:
    models[m] = run_method(m, pre, args.forget, cfg, progress=False, seed=args.seed).generator
for name, G in models.items():
    x = ev.samples(G); f = extract_features(ev.eval_clf, x)
    print(f"{name:>20}: u-FD to training half {frechet_distance(f, f_train):6.1f}, to held-out half {frechet_distance(f, f_held):6.1f}; "
          f"nearest training image {nearest(x, data.x_train):.3f}, nearest held-out image {nearest(x, data.x_held_out):.3f}")
