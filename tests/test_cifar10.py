"The CIFAR-10 pipeline on a fabricated folder in the real pickle layout: every stage, resume, torchrun, and every missing-file error."
import json, os, shutil, subprocess, sys
import pytest
import torch
from uot_unlearn.cifar10 import write_fake_cifar10
from uot_unlearn import cifar10_pipeline as cp
from uot_unlearn.fid import INCEPTION_URL, INCEPTION_FILE
from command_line import cli


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar')
    write_fake_cifar10(root, per_class=4)
    return root


@pytest.fixture(scope='module')
def finished_run(data, tmp_path_factory):
    "A run folder after `cifar10 all` with the tiny configuration."
    run = tmp_path_factory.mktemp('runs') / 'tiny'
    r = cli('cifar10', 'all', '--tiny', '--quiet', '--device', 'cpu', '--run-dir', str(run), '--data', str(data), '--forget', '3')
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return run, r.stdout


def test_every_stage_writes_its_outputs(finished_run):
    run, stdout = finished_run
    for name in ['config.json', 'generator.pt', 'pretrain_checkpoint.pt', 'pretrain_samples.png', 'forget_classifier.pt',
                 'eval_classifier.pt', 'classifiers.json', 'unlearned_forget3.pt', 'unlearn_forget3_checkpoint.pt',
                 'metrics_forget3.json', 'metrics_forget3.txt', 'samples_forget3.png', 'fid_stats_all.pt']:
        assert (run / name).exists(), name
    m = json.loads((run / 'metrics_forget3.json').read_text())
    assert m['forget'] == [3] and m['n_eval'] == 64 and m['features'] == 'random-features'
    assert m['fid_pretrained'] >= 0 and m['u_fid'] >= 0 and 0 <= m['retain_stability'] <= 1
    assert abs(sum(m['shares']) - 1) < 1e-9
    acc = json.loads((run / 'classifiers.json').read_text())['test_accuracy']
    assert set(acc) == {'forget_classifier', 'eval_classifier'}
    assert 'u_fid' in stdout and 'test accuracy' in stdout


def test_the_config_is_kept_in_the_run_folder(finished_run, data):
    run, _ = finished_run
    cfg = json.loads((run / 'config.json').read_text())
    assert cfg['unet_preset'] == 'digits' and cfg['forget'] == [3] and cfg['data'] == str(data)


def test_ablation_from_the_same_run_folder(finished_run):
    run, _ = finished_run
    r = cli('cifar10', 'unlearn', '--quiet', '--device', 'cpu', '--run-dir', str(run), '--method', 'classifier-guided',
            '--set', 'unlearn={"steps": 4, "batch_size": 16, "r1": 0.5}')   # r1 (a potential setting) does not apply to it
    assert r.returncode == 0, r.stderr[-3000:]
    assert (run / 'unlearned_classifier-guided_forget3.pt').exists()


def test_data_based_unlearning_from_the_same_run_folder(finished_run):
    run, _ = finished_run
    r = cli('cifar10', 'unlearn', '--quiet', '--device', 'cpu', '--run-dir', str(run), '--method', 'uot-data')
    assert r.returncode == 0, r.stderr[-3000:]
    history = json.loads((run / 'unlearn_uot-data_forget3_history.json').read_text())
    assert history['config']['data_free'] is False and (run / 'unlearned_uot-data_forget3.pt').exists()
    r = cli('cifar10', 'unlearn', '--quiet', '--device', 'cpu', '--run-dir', str(run), '--method', 'magic')
    assert r.returncode == 1 and "method must be one of ('uot', 'uot-data', 'classifier-guided')" in r.stderr


def test_missing_inception_weights_name_the_file_and_url(finished_run, tmp_path):
    run = shutil.copytree(finished_run[0], tmp_path / 'run')  # the shared run keeps its configuration
    r = cli('cifar10', 'evaluate', '--quiet', '--device', 'cpu', '--run-dir', str(run), '--method', 'uot',
            '--set', 'stand_in_features=false', '--fid-weights', str(tmp_path / INCEPTION_FILE))
    assert r.returncode == 1 and INCEPTION_URL in r.stderr and 'Traceback' not in r.stderr


def test_a_stage_before_its_inputs_says_which_stage_to_run(data, tmp_path):
    r = cli('cifar10', 'unlearn', '--tiny', '--quiet', '--run-dir', str(tmp_path / 'r'), '--data', str(data))
    assert r.returncode == 1 and 'run `uot-unlearn cifar10 pretrain' in r.stderr


def test_missing_dataset_names_the_folder_and_url(tmp_path):
    r = cli('cifar10', 'pretrain', '--tiny', '--quiet', '--run-dir', str(tmp_path / 'r'), '--data', str(tmp_path / 'nothing'))
    assert r.returncode == 1 and 'cifar-10-batches-py' in r.stderr and 'cifar-10-python.tar.gz' in r.stderr


def test_fabricated_folder_fails_the_official_checksums(data, tmp_path):
    r = cli('cifar10', 'pretrain', '--tiny', '--quiet', '--run-dir', str(tmp_path / 'r'), '--data', str(data), '--set', 'verify=true')
    assert r.returncode == 1 and 'official checksums' in r.stderr and 'Traceback' not in r.stderr


def test_bad_settings_are_clear_errors(tmp_path):
    r = cli('cifar10', 'pretrain', '--tiny', '--run-dir', str(tmp_path / 'r'), '--set', 'pretrain_stepz=3')
    assert r.returncode == 1 and 'Unknown setting' in r.stderr
    r = cli('cifar10', 'pretrain', '--tiny', '--run-dir', str(tmp_path / 'r'), '--forget', '11')
    assert r.returncode == 2 and '--forget takes classes 0..9' in r.stderr
    r = cli('cifar10', 'pretrain', '--run-dir', str(tmp_path / 'r'), '--config', str(tmp_path / 'none.json'))
    assert r.returncode == 1 and 'no such file' in r.stderr


def test_pretraining_resumed_after_an_interruption_equals_an_uninterrupted_run(data, tmp_path, monkeypatch):
    cfg = cp.CifarConfig.tiny(data=str(data), pretrain_steps=6, checkpoint_every=2)
    G_full = cp.pretrain(tmp_path / 'full', cfg, device='cpu', progress=False)
    calls, flip = [0], cp.random_hflip
    def flip_then_stop(x):
        calls[0] += 1
        if calls[0] > 3: raise KeyboardInterrupt("simulated interruption")
        return flip(x)
    with monkeypatch.context() as m:
        m.setattr(cp, 'random_hflip', flip_then_stop)
        with pytest.raises(KeyboardInterrupt): cp.pretrain(tmp_path / 'cut', cfg, device='cpu', progress=False)
    assert torch.load(tmp_path / 'cut' / 'pretrain_checkpoint.pt', weights_only=False)['step'] == 2
    G_resumed = cp.pretrain(tmp_path / 'cut', cfg, device='cpu', progress=False)
    for a, b in zip(G_full.parameters(), G_resumed.parameters()): assert torch.equal(a, b)


def test_torchrun_two_processes_run_every_stage(data, tmp_path):
    "One launch of two processes runs every stage; rank 0 alone reports, and evaluation (rank 0 only) does not hang the other."
    run = tmp_path / 'ddp'
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                        '-m', 'uot_unlearn.cli', 'cifar10', 'all', '--tiny', '--quiet', '--device', 'cpu',
                        '--run-dir', str(run), '--data', str(data)], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    for stage in ['pretrain', 'classifier', 'unlearn', 'evaluate']: assert r.stdout.count(f'[cifar10 {stage}]') == 1, r.stdout
    ckpt = torch.load(run / 'pretrain_checkpoint.pt', weights_only=False)
    assert len(ckpt['rng']) == 2                                   # each process's random state, for an exact resume
    assert (run / 'unlearned_forget0.pt').exists() and json.loads((run / 'metrics_forget0.json').read_text())['u_fid'] >= 0


def test_class_conditional_generator_through_every_stage(data, tmp_path):
    run = tmp_path / 'cond'
    r = cli('cifar10', 'all', '--tiny', '--quiet', '--device', 'cpu', '--run-dir', str(run), '--data', str(data),
            '--set', 'conditional=true')
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    G = cp.load_generator(run, cp.run_config(run))
    assert G.net.n_classes == 10 and len(G.sample_inputs(4)) == 2      # G(e, y)
    assert json.loads((run / 'metrics_forget0.json').read_text())['u_fid'] >= 0
