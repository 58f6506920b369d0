"The digits pipeline in its other settings: a class-conditional generator, resized images."
import dataclasses
import torch
from uot_unlearn.digits import DigitsConfig, run_digits, pretrained_digits, DigitsEvaluator, save_figures

TINY = dict(pretrain_steps=10, pretrain_batch=16, classifier_steps=10, n_eval=200, unlearn=dict(steps=3, batch_size=16, ema=0.95), device='cpu')


def with_drawn_class(cfg, cache):
    "`cfg` forgetting the class the barely trained generator draws most (PUL needs the class to occur)."
    pre = pretrained_digits(cfg, cache, progress=False)
    return dataclasses.replace(cfg, forget=(int(DigitsEvaluator(pre, cfg).labels0.mode().values),))


def test_class_conditional_generator_runs_through_unlearn_and_baselines(tmp_path):
    cfg = with_drawn_class(DigitsConfig(**TINY, conditional=True, methods=('UOT-Unlearn', 'finetune', 'gradient ascent')), tmp_path)
    res = run_digits(cfg, cache_dir=tmp_path, progress=False)
    G = res['pretrained']['generator']
    assert G.net.n_classes == 10
    e, y = G.sample_inputs(4)
    assert e.shape == (4, 1, 8, 8) and y.dtype == torch.long
    assert [r['method'] for r in res['rows']] == ['pretrained', 'UOT-Unlearn', 'finetune', 'gradient ascent']


def test_resized_digits_use_the_same_code_path(tmp_path):
    cfg = with_drawn_class(DigitsConfig(**TINY, size=16, methods=('UOT-Unlearn', 'classifier-guided')), tmp_path)
    res = run_digits(cfg, cache_dir=tmp_path, progress=False)
    assert res['evaluator'].x0.shape[1:] == (1, 16, 16)
    assert all(0 <= r['tv_ideal'] <= 1 for r in res['rows'][1:])
    again = run_digits(cfg, cache_dir=tmp_path, progress=False)  # from the cache
    assert torch.equal(again['evaluator'].x0, res['evaluator'].x0)


def test_a_group_is_forgotten_in_one_run_per_method(tmp_path):
    cfg = DigitsConfig(**TINY, forget=((3, 8),), methods=('classifier-guided', 'retrain'))
    res = run_digits(cfg, cache_dir=tmp_path, progress=False)
    assert [(r['method'], r['forget']) for r in res['rows'][1:]] == [('classifier-guided', (3, 8)), ('retrain', (3, 8))]
    for m in ('classifier-guided', 'retrain'): assert res['models'][(m, (3, 8))].config['forget'] == [3, 8]  # both digits, one run
    names = [p.name for p in save_figures(res, tmp_path / 'figures')]
    assert names == ['tradeoff_forget3+8.png', 'forgotten_inputs_forget3+8.png']  # the samples figure is UOT-Unlearn's


def test_retraining_is_cached_per_classes_and_seed(tmp_path):
    cfg = DigitsConfig(**TINY, forget=(3,), methods=('retrain',))
    first = run_digits(cfg, cache_dir=tmp_path, progress=False, seeds=[0, 1])
    assert len(list(tmp_path.glob('digits-retrain-*.pt'))) == 2  # one per seed
    for path in tmp_path.glob('digits-retrain-*.pt'):  # the stored time was measured under another load: not used
        state = torch.load(path, weights_only=False); state['time_s'] = 1e6; torch.save(state, path)
    again = run_digits(cfg, cache_dir=tmp_path, progress=False, seeds=[0, 1])
    a, b = ([r for r in res['rows'] if r['method'] == 'retrain'] for res in (first, again))
    assert all(0 < r['time_s'] < 1e3 for r in b)  # timed in this process from a few steps
    assert [r['fd'] for r in a] == [r['fd'] for r in b]          # the same generators
    G0, G1 = (first['models'][('retrain', 3)].generator, again['models'][('retrain', 3)].generator)
    assert all(torch.equal(p, q) for p, q in zip(G0.state_dict().values(), G1.state_dict().values()))
