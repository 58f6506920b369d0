"The benchmark scripts run end to end on their tiny configurations, several seeds, and write what RESULTS.md quotes."
import json, sys
import torch
from command_line import script


def run(name, *args):
    return script(name, '--small', *args)


def test_toy_benchmark_runs_seeds_and_reports_the_limit(tmp_path):
    r = run('toy.py', '--forget', '2', '0,1', '--seeds', '0', '1', '--out', str(tmp_path), '--steps', '30', '--w2-draws', '3', '--optimum-draws', '2')
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path / 'metrics.json').read_text())
    runs = [x for x in m['rows'] if 'seed' in x and x['forget'] == 2]
    assert sorted((x['method'], x['seed']) for x in runs) == sorted((n, s) for n in ['UOT-Unlearn', 'classifier-guided'] for s in [0, 1])
    assert all(x['retain_stability'] <= x['stability_limit'] + 0.05 for x in runs)  # the limit is a model: small slack
    ref = next(x for x in m['rows'] if x['method'] == 'discrete optimum' and x['forget'] == 2)  # the objective's optimum, scored too
    assert 0 < ref['pul'] <= 100 and 0 <= ref['tv_ideal'] <= 1 and 0 < ref['retain_stability'] <= 1 and 'stability_limit' in ref
    assert ref['n_draws'] == 2 and 0 < ref['share_sd_max'] < 0.2  # the reference averages the draws asked for
    assert 'discrete optimum   forget 2 (mean of 2 draws): PUL' in r.stdout
    assert f"in-support drop {ref['in_support_drop']:.2f} ± {ref['in_support_drop_sd']:.2f} pt" in r.stdout  # its own, over its draws
    assert len(ref['in_support_drop_draws']) == 2 and 0 <= ref['in_support'] <= 1
    pairs = [x for x in m['rows'] if 'seed' in x and x['forget'] == [0, 1]]  # 0 and 1 forgotten together, one run per seed and method
    assert len(pairs) == 4 and not any('stability_limit' in x for x in pairs)  # the limit is derived for one class
    assert (tmp_path / 'before_after_forget0+1.png').stat().st_size > 0
    uot = next(x for x in m['summary'] if x['method'] == 'UOT-Unlearn' and x['forget'] == 2)
    assert uot['n_seeds'] == 2 and 'tv_ideal_sd' in uot
    assert 'mean ± sd over seeds [0, 1]' in r.stdout
    w2 = m['pretrained_w2']  # the pretrained goal compares averages over fresh draws, not one draw
    assert w2['draws'] == 3 and w2['floor_sd'] > 0 and abs(w2['ratio'] - w2['w2'] / w2['floor']) < 1e-9
    assert (tmp_path / 'frontier_forget2.png').stat().st_size > 0


def test_toy_benchmark_runs_on_a_mixture_the_defaults_were_not_tuned_on(tmp_path):
    r = run('toy.py', '--mixture', 'blobs16', '--forget', '1', '--out', str(tmp_path), '--steps', '20', '--w2-draws', '2')
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path / 'metrics.json').read_text())
    assert m['mixture'] == 'blobs16' and len(m['rows'][0]['shares']) == 6
    runs = [x for x in m['rows'] if 'pul' in x]
    assert [x['method'] for x in runs] == ['discrete optimum', 'UOT-Unlearn', 'classifier-guided'] and all(x['forget'] == 1 for x in runs)
    assert all('stability_limit' not in x for x in runs)  # the order-preserving limit is the ring's
    assert not list(tmp_path.glob('*.png'))                 # the figures draw the ring's plane


def test_digits_benchmark_runs_every_method_once_per_seed(tmp_path):
    r = run('digits.py', '--forget', '3', '--seeds', '0', '1', '--out', str(tmp_path),
            '--methods', 'UOT-Unlearn (data)', 'retrain', '--discrete-optimum',
            '--set', 'pretrain_steps=40', 'classifier_steps=60')  # retraining gets the pretraining budget: keep both short
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((tmp_path / 'metrics.json').read_text())
    assert [(x['method'], x['seed']) for x in m['rows'][1:]] == [('UOT-Unlearn (data)', 0), ('UOT-Unlearn (data)', 1), ('retrain', 0), ('retrain', 1)]
    retrain = [x for x in m['rows'] if x['method'] == 'retrain']
    assert abs(sum(x['time_vs_retrain'] for x in retrain) / 2 - 1) < 1e-9  # times are over the mean retraining time
    assert 'fd_sd' in next(x for x in m['summary'] if x['method'] == 'retrain')  # the reference has a spread too
    assert 'forget 3: UOT-Unlearn' not in r.stdout  # the goal line needs the data-free method
    assert 'of the pretrained samples' in r.stdout and 0 < m['rows'][0]['clf_agreement_generated'] <= 1
    tilted = m['tilted_target']  # the objective's optimum as tau -> 0, under both judges, and its u-FD against retraining's
    assert tilted['lam'] == 2.0 and 0 < tilted['3']['pul_forget_clf'] <= 100 and "forget 3: the objective's optimum" in r.stdout
    fd_retrain = next(x for x in m['summary'] if x['method'] == 'retrain')['fd']
    assert tilted['3']['fd'] > 0 and f"u-FD {tilted['3']['fd']:.3f} = {tilted['3']['fd'] / fd_retrain:.2f}x retrain" in r.stdout
    opt = m['discrete_optimum']  # the exact optimum at unlearn's tau, asked for with --discrete-optimum
    assert opt['tau'] == 0.2 and 0 <= opt['3']['tv_ideal'] <= 1 and len(opt['3']['fd_draws']) == 3
    assert f"the objective's discrete optimum at tau 0.2 (mean of 3 target draws): PUL {opt['3']['pul']:.2f}" in r.stdout
    assert (tmp_path / 'tradeoff_forget3.png').stat().st_size > 0


def test_digits_benchmark_points_a_misplaced_meanflow_setting_to_its_dict(tmp_path):
    r = run('digits.py', '--out', str(tmp_path), '--set', 'time_std=1.0')
    assert r.returncode != 0 and 'go in "meanflow"' in r.stderr, r.stderr[-2000:]
    assert not (tmp_path / 'metrics.json').exists()  # refused before any work


def test_meanflow_step_benchmark_compares_equal_gradients(tmp_path):
    out = tmp_path / 'step.json'
    r = script('meanflow_step.py', '--nets', 'toy', '--batch', '64', '--rounds', '1', '--steps', '1', '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    row, = json.loads(out.read_text())['rows']
    assert row['net'] == 'toy' and row['batch'] == 64 and row['time_ratio_library_over_one_call'] > 0
    assert row['max_relative_gradient_difference'] < 1e-5  # the library's two passes give the one-call gradient


def test_unlearn_step_benchmark_times_both_potential_losses_on_equal_gradients(tmp_path):
    out = tmp_path / 'unlearn_step.json'
    r = script('unlearn_step.py', '--problems', 'toy', '--rounds', '1', '--steps', '2', '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    row, = json.loads(out.read_text())['rows']
    assert row['problem'] == 'toy' and set(row['step_s']) == {'library', 'two_passes'} and row['time_ratio_library_over_two_passes'] > 0
    assert row['max_relative_gradient_difference'] < 1e-5  # one batch through the potential gives the two passes' gradients
    bad = script('unlearn_step.py', '--problems', 'ring', '--out', tmp_path / 'bad.json')
    assert bad.returncode != 0 and "invalid choice: 'ring'" in bad.stderr


def test_gpu_step_benchmark_runs_its_configurations_on_a_cpu(tmp_path):
    "`--quick`: tiny networks in fp32; channels-last must give the same gradient as the contiguous step (the same noise)."
    out = tmp_path / 'gpu_step.json'
    r = script('meanflow_gpu_step.py', '--quick', '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads(out.read_text())['rows']
    assert [row['net'] for row in rows] == ['unet-tiny', 'dit-tiny'] and all(row['gflop_per_image'] > 0 for row in rows)
    for row in rows:
        assert set(row['configs']) == {'tf32', 'bf16+cl'} and all('images_per_s' in c for c in row['configs'].values()), row
        assert row['configs']['bf16+cl']['relative_gradient_difference'] < 1e-5


def test_suite_runs_both_halves_against_the_optimum_and_retraining(tmp_path):
    "`suite.py --ci` on one problem of each kind: the halves as written in problems.py, the references, the checks on the means."
    rng = torch.random.get_rng_state()
    r = script('suite.py', '--ci', '--problems', 'ring 0+1', 'digits 3', '--set', 'unlearn.lam=3', '--retrain', '--out', tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert torch.equal(torch.random.get_rng_state(), rng) and 'problems' not in sys.modules  # run as in a process of its own
    m = json.loads((tmp_path / 'suite.json').read_text())
    assert {n: q['half'] for n, q in m['problems'].items()} == {'ring 0+1': 'tune', 'digits 3': 'report'}
    q = m['problems']['ring 0+1']
    u, opt = q['unlearn'], q['optimum']
    assert u['n_seeds'] == 1 and opt['n_draws'] == 1 and q['forget'] == [0, 1]
    assert u['checks']['tv <= optimum + 0.02'] == (u['tv_ideal'] <= opt['tv_ideal'] + 0.02)
    assert u['checks']['in-support drop <= 1.5'] == (u['in_support_drop'] <= 1.5) and len(u['checks']) == 6
    assert abs(u['drop_from_forgotten'] + u['drop_from_retained'] - u['in_support_drop']) < 1e-6  # the drop split by where samples started
    assert abs(opt['drop_from_forgotten'] + opt['drop_from_retained'] - opt['in_support_drop']) < 1e-9  # the optimum's own drop
    assert f"{opt['in_support_drop']:.4f}" in r.stdout and len(opt['in_support_drop_draws']) == 1  # printed beside the runs' drop
    rt = q['retrained']  # retraining from scratch without 0 and 1, scored like the unlearned runs
    assert set(rt) == {'pul', 'tv_ideal', 'retain_stability', 'in_support_drop', 'optimum_share_gap', 'time_ratio'}
    assert 0 <= rt['pul'] <= 100 and 0 < rt['time_ratio'] and 'retraining from scratch (one run' in r.stdout
    d = m['problems']['digits 3']
    assert m['variant'] == {'unlearn': {'lam': 3}} and q['settings']['lam'] == d['settings']['lam'] == 3
    assert d['settings']['steps'] == 15 and q['settings']['steps'] == 60  # laid over each chapter's own settings
    assert abs(d['unlearn']['fd_vs_retrain'] - d['unlearn']['fd'] / d['retrain']['fd']) < 1e-12
    assert d['unlearn']['checks']['pul >= retraining'] == (d['unlearn']['pul'] >= d['retrain']['pul'])
    assert 'tune half, toy' in r.stdout and 'report half, digits' in r.stdout and 'report half, toy' not in r.stdout
    bad = script('suite.py', '--ci', '--problems', 'ring 9', '--out', tmp_path / 'bad')
    assert bad.returncode == 2 and "unknown problem(s) ['ring 9']" in bad.stderr and not (tmp_path / 'bad').exists()
    typo = script('suite.py', '--ci', '--problems', 'ring 0', '--set', 'unlearn.lamb=3', '--out', tmp_path / 'typo')
    assert typo.returncode != 0 and "Unknown setting(s) ['lamb']" in typo.stderr and 'Traceback' not in typo.stderr
    none = script('suite.py', '--half', 'tune', '--problems', 'digits 3', '--out', tmp_path / 'none')
    assert none.returncode == 2 and 'no problem of the suite' in none.stderr and not (tmp_path / 'none').exists()
