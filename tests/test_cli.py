"The `uot-unlearn` command line as a user calls it (run in this process; the installed entry point once)."
import json
from command_line import cli, console_script


def test_toy_small_writes_table_metrics_and_figures_and_reuses_cache(tmp_path):
    out, cache = tmp_path / 'out', tmp_path / 'cache'
    r = cli('toy', '--small', '--quiet', '--forget', '2', '--out', str(out), '--cache-dir', str(cache), '--set', 'pretrain_steps=300')
    assert r.returncode == 0, r.stderr
    assert 'UOT-Unlearn' in r.stdout and 'classifier-guided' in r.stdout
    m = json.loads((out / 'metrics.json').read_text())
    rows = m['rows']
    assert {r['method'] for r in rows} == {'pretrained', 'discrete optimum', 'UOT-Unlearn', 'classifier-guided'}
    uot = next(r for r in m['runs'] if r['method'] == 'UOT-Unlearn')  # a run: what ran, with which settings, its files
    assert uot['forget'] == 2 and uot['settings']['forget'] == [2] and uot['settings']['lam'] == 2.0
    assert uot['metrics']['pul'] == next(r for r in rows if r['method'] == 'UOT-Unlearn')['pul']
    assert all((out / f).exists() for f in uot['files'].values()) and 'before_after' in uot['files']
    assert (out / 'before_after_forget2.png').stat().st_size > 0 and (out / 'class_mass_forget2.png').exists()
    cached = list(cache.glob('toy-*.pt'))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    # a second run, forgetting classes 0 and 1 together, reuses the cached models; retraining without them is one more row
    r2 = cli('toy', '--small', '--quiet', '--forget', '0,1', '--out', str(out), '--cache-dir', str(cache), '--steps', '5',
             '--set', 'pretrain_steps=300', 'retrain=true')
    assert r2.returncode == 0, r2.stderr
    assert cached[0].stat().st_mtime_ns == stamp        # the cached models were reused, not retrained
    rows = json.loads((out / 'metrics.json').read_text())['rows']
    assert {tuple(r['forget']) for r in rows[1:]} == {(0, 1)}
    runs = {r['method']: r['metrics'] for r in json.loads((out / 'metrics.json').read_text())['runs']}
    forgotten_share = lambda m: m['shares'][0] + m['shares'][1]
    assert forgotten_share(runs["retrained"]) < forgotten_share(runs["pretrained"])  # trained on classes 2-7 only (the same seed on all 8 would give equal shares)
    assert runs['retrained']['time_s'] > 0 and len(list(cache.glob('toy-*.pt'))) == 2    # and cached beside the pretrained models
    assert (out / 'before_after_forget0+1.png').stat().st_size > 0


def test_a_group_naming_every_class_is_refused(tmp_path):
    r = cli('toy', '--small', '--forget', '0,1,2,3,4,5,6,7', '--out', str(tmp_path))
    assert r.returncode == 2 and 'cannot forget all 8 classes' in r.stderr


def test_unknown_forget_class_is_a_clear_error(tmp_path):
    r = cli('toy', '--small', '--forget', '9', '--out', str(tmp_path))
    assert r.returncode == 2 and '--forget takes classes 0..7 for `toy`' in r.stderr


def test_no_command_shows_usage():
    r = console_script()  # the installed entry point itself
    assert r.returncode == 2 and 'usage: uot-unlearn' in r.stderr


def test_digits_small_takes_the_dialect_and_writes_settings_metrics_and_figures(tmp_path):
    "The digits notebook runs every method on the small configuration; here the command line's own work: flags, records, files."
    out, cache = tmp_path / 'out', tmp_path / 'cache'
    r = cli('digits', '--small', '--quiet', '--forget', '5', '--device', 'cpu', '--out', str(out), '--cache-dir', str(cache),
            '--methods', 'UOT-Unlearn', 'classifier-guided', '--lam', '3', '--steps', '10',
            '--set', 'unlearn.r1=0.05', 'n_eval=200', 'pretrain_steps=40', 'classifier_steps=40')
    assert r.returncode == 0, r.stderr
    m = json.loads((out / 'metrics.json').read_text())
    rows, config = m['rows'], m['config']
    assert [r['method'] for r in rows] == ['pretrained', 'UOT-Unlearn', 'classifier-guided']
    assert all(0 <= r['pul'] <= 100 for r in rows[1:])
    assert (config['n_eval'], config['forget'], config['methods']) == (200, [5], ['UOT-Unlearn', 'classifier-guided'])
    u = config['unlearn']  # the settings the run used: the flags over the small configuration's
    assert (u['lam'], u['steps'], u['r1'], u['batch_size'], u['ema']) == (3.0, 10, 0.05, 64, 0.95)
    for name in ['tradeoff', 'forgotten_inputs', 'samples']: assert (out / f'{name}_forget5.png').stat().st_size > 0
    assert len(list(cache.glob('digits-*.pt'))) == 1


def test_bad_settings_are_one_clear_line(tmp_path):
    r = cli('toy', '--small', '--lam', '-1', '--out', str(tmp_path))
    assert r.returncode != 0 and r.stderr.strip().startswith('uot-unlearn toy: `lam` is the weight of the forget cost'), r.stderr
    r = cli('toy', '--small', '--set', 'unlearn.lamb=2', '--out', str(tmp_path))
    assert r.returncode != 0 and "Unknown setting(s) ['lamb'] of `unlearn`" in r.stderr and 'Traceback' not in r.stderr


def test_digits_bad_arguments_are_clear_errors(tmp_path):
    r = cli('digits', '--small', '--forget', '10', '--out', str(tmp_path))
    assert r.returncode == 2 and '--forget takes classes 0..9' in r.stderr
    r = cli('digits', '--small', '--methods', 'magic', '--out', str(tmp_path))
    assert r.returncode == 2 and '--methods takes some of' in r.stderr
