"Contract of `unlearn`: bad inputs, checkpoints and resume, generators that are not MeanFlow."
import math
import pytest
import torch
from torch import nn
from uot_unlearn.core import unlearn, classifier_guided, UnlearnSettings
from uot_unlearn.training import NonFiniteLoss
from uot_unlearn.toy_data import ring_mixture, BayesClassifier

MIX = ring_mixture()
BAYES = BayesClassifier(MIX)


def plain_generator(seed=0):
    "A plain MLP map z -> x that has nothing to do with MeanFlow."
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 2))


def inputs(n): return torch.randn(n, 2)


def run(G=None, **kw):
    return unlearn(G or plain_generator(), BAYES, 0, sample_inputs=inputs,
                   **{'steps': 4, 'batch_size': 32, 'seed': 0, 'progress': False, **kw})


def params(m): return torch.cat([p.detach().flatten() for p in m.parameters()])


def test_plain_generator_is_copied_not_modified():
    G = plain_generator()
    before = params(G).clone()
    res = run(G, steps=10)
    assert torch.equal(params(G), before)
    assert not torch.equal(params(res.generator), before)
    assert len(res.history['loss_g']) == 10 and all(math.isfinite(v) for v in res.history['loss_v'])


def test_frozen_parameters_stay_frozen_and_a_frozen_generator_is_trained_whole():
    G = plain_generator(); G[2].requires_grad_(False)
    for fn in (unlearn, classifier_guided):  # the ablation shares the setup
        out = fn(G, BAYES, 0, sample_inputs=inputs, steps=5, batch_size=32, seed=0, progress=False, ema=0.9).generator
        assert torch.equal(out[2].weight, G[2].weight) and torch.equal(out[2].bias, G[2].bias)
        assert not torch.equal(out[0].weight, G[0].weight)
    frozen = plain_generator().requires_grad_(False)
    out = run(frozen, steps=5).generator
    assert not torch.equal(out[0].weight, frozen[0].weight) and not torch.equal(out[2].weight, frozen[2].weight)


def test_tuple_inputs_and_several_forget_classes():
    class Conditional(nn.Module):
        def __init__(self): super().__init__(); self.lin, self.emb = nn.Linear(2, 2), nn.Embedding(8, 2)
        def forward(self, z, y): return self.lin(z) * 4 + self.emb(y)
    res = unlearn(Conditional(), BAYES, [0, 3], sample_inputs=lambda n: (torch.randn(n, 2), torch.randint(8, (n,))),
                  steps=3, batch_size=16, progress=False)
    assert res.config['forget'] == [0, 3]


def test_float64_generator_gets_a_float64_potential():
    torch.manual_seed(0)
    clf = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 8)).double()
    res = unlearn(plain_generator().double(), clf, 0, sample_inputs=lambda n: torch.randn(n, 2, dtype=torch.float64),
                  steps=4, batch_size=32, seed=0, progress=False)
    assert {p.dtype for m in (res.generator, res.potential) for p in m.parameters()} == {torch.float64}
    assert all(math.isfinite(v) for v in res.history['loss_v'] + res.history['loss_g'])


def test_data_based_target_and_divergences():
    target = torch.randn(100, 2) * 4
    for div in ['kl', 'chi2', 'softplus', 'linear']:
        res = run(target=target, divergence=div, forget_cost='prob', ema=0.9)
        assert res.config['divergence'] == div and not res.config['data_free'] and res.settings.divergence == div
        assert all(math.isfinite(v) for v in res.history['loss_v'] + res.history['loss_g'])
        assert not torch.equal(params(res.generator), params(plain_generator()))  # the EMA of a generator that moved


def test_ablation_has_no_potential():
    res = classifier_guided(plain_generator(), BAYES, 0, sample_inputs=inputs, steps=3, batch_size=16, progress=False)
    assert res.potential is None and len(res.history['loss_g']) == 3


@pytest.mark.parametrize('kw, match', [
    (dict(forget=8), 'not classes of the classifier'),
    (dict(forget=[]), 'empty'),
    (dict(classifier=nn.Linear(3, 8)), "cannot take the generator's output"),
    (dict(classifier=lambda x: x.sum(1)), 'logits of shape'),
    (dict(target=torch.zeros(10, 3)), 'Target samples have shape'),
    (dict(target=[]), 'yields no batches'),
    (dict(divergence='tv'), 'Unknown divergence'),
    (dict(forget_cost='hinge'), 'Unknown forget cost'),
    (dict(sample_inputs=None), 'Pass `sample_inputs`'),
    (dict(classifier=lambda x: BAYES(x).softmax(1)), 'returns probabilities'),
    (dict(classifier=lambda x: BAYES(x.detach())), 'No gradient flows'),
    (dict(forget_cost=lambda x: x.sum(1, keepdim=True)), r'one value per sample, shape \(256,\)'),
    (dict(forget_cost=lambda x: x[:, 0]), 'finite penalty >= 0'),
    (dict(lam=-1), '`lam` is the weight of the forget cost'),
    (dict(batch_size=0), '`batch_size` is the number of samples per step: an integer >= 1, got 0'),
    (dict(lamb=3), r"Unknown setting\(s\) \['lamb'\]"),
])
def test_bad_input_is_refused_clearly(kw, match):
    args = dict(forget=0, classifier=BAYES, sample_inputs=inputs)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        unlearn(plain_generator(), args.pop('classifier'), args.pop('forget'), steps=2, progress=False, **args)


def test_a_class_name_is_refused_not_split_into_letters():
    with pytest.raises(TypeError, match="a class index or a list of them.*'cat'"):
        unlearn(plain_generator(), BAYES, 'cat', sample_inputs=inputs, steps=2, progress=False)


def test_a_damaged_checkpoint_is_named(tmp_path):
    ck = tmp_path / 'ck.pt'
    ck.write_bytes(b'\x80\x02 half a pickle')
    with pytest.raises(ValueError, match='ck.pt is not a readable checkpoint'):
        run(steps=2, checkpoint=ck)
    assert ck.read_bytes() == b'\x80\x02 half a pickle'  # nothing the user had is overwritten


def test_settings_object_and_keywords_give_the_same_run():
    a = run(steps=3, lam=3.0, seed=1)
    b = unlearn(plain_generator(), BAYES, 0, UnlearnSettings(lam=3.0, steps=3, batch_size=32), sample_inputs=inputs,
                seed=1, progress=False)
    assert torch.equal(params(a.generator), params(b.generator)) and a.config == b.config


def test_inputs_that_are_not_tensors_are_refused_clearly():
    with pytest.raises(TypeError, match=r"tensor or a tuple of tensors.*\['dict'\]"):
        unlearn(plain_generator(), BAYES, 0, sample_inputs=lambda n: {'z': torch.randn(n, 2)}, steps=2, progress=False)


def test_a_generator_that_outputs_nan_is_refused_before_training():
    class Broken(nn.Module):
        def __init__(self): super().__init__(); self.lin = nn.Linear(2, 2)
        def forward(self, z): return self.lin(z) * float('nan')
    with pytest.raises(ValueError, match='not a finite tensor'):
        unlearn(Broken(), BAYES, 0, sample_inputs=inputs, steps=2, progress=False)


def test_non_finite_loss_stops_with_step_and_last_values():
    nan_after = {'n': 0}
    def cost(x):
        nan_after['n'] += 1
        return x.pow(2).sum(1) * (float('nan') if nan_after['n'] > 3 else 1.0)
    with pytest.raises(NonFiniteLoss, match=r'unlearn, step \d+: Non-finite loss.*Last finite values'):
        run(forget_cost=cost, steps=10)


def test_resume_equals_uninterrupted_run(tmp_path):
    full = run(steps=12, checkpoint=tmp_path / 'full.pt', checkpoint_every=4)
    part = tmp_path / 'part.pt'
    run(steps=6, checkpoint=part, checkpoint_every=3)      # interrupted after 6 steps
    resumed = run(steps=12, checkpoint=part, checkpoint_every=3)
    assert torch.equal(params(resumed.generator), params(full.generator))
    assert resumed.history['loss_g'] == full.history['loss_g']
    assert [f.name for f in tmp_path.iterdir() if f.name.endswith('.tmp')] == []


def test_checkpoint_from_other_configuration_is_refused(tmp_path):
    ck = tmp_path / 'ck.pt'
    run(steps=2, checkpoint=ck)
    with pytest.raises(ValueError, match='different configuration.*lam'):
        run(steps=2, checkpoint=ck, lam=5.0)
