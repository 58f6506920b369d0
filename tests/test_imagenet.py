"The ImageNet-256 pipeline from the command line, on a fabricated tree of JPEGs and a tiny VAE: every stage, and each bad input as one line."
import json, subprocess, sys
import numpy as np
import pytest
from uot_unlearn.imagenet import write_fake_imagenet
from command_line import cli


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    "A 3-class tree of JPEGs, a tiny diffusers VAE saved in its own folder, and the tree's latents."
    from diffusers import AutoencoderKL
    from uot_unlearn.imagenet import extract_latents, load_vae
    root = tmp_path_factory.mktemp('imagenet')
    write_fake_imagenet(root / 'data', n_classes=3, per_class=8)
    AutoencoderKL(block_out_channels=(8, 16), layers_per_block=1, latent_channels=4, norm_num_groups=8, sample_size=32,
                  down_block_types=('DownEncoderBlock2D',) * 2, up_block_types=('UpDecoderBlock2D',) * 2).save_pretrained(root / 'vae')
    extract_latents(root / 'data', load_vae(root / 'vae'), root / 'latents', size=32, shard_size=8, progress=False)  # the tiny configuration's
    return root


def tiny(tree, *args):
    return ('--tiny', '--quiet', '--device', 'cpu', '--data', str(tree / 'data'), '--set', f'vae={tree / "vae"}', f'latents={tree / "latents"}', *args)


def test_every_stage_from_the_command_line(tree):
    run = tree / 'run'
    r = cli('imagenet', 'all', '--run-dir', str(run), *tiny(tree, '--forget', '1'))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert '[imagenet export]' in r.stdout and 'retained_accuracy' in r.stdout
    m = json.loads((run / 'metrics_forget1.json').read_text())
    assert m['forget'] == [1] and (m['retain_stability'] is None or 0 <= m['retain_stability'] <= 1) and m['u_fid'] > 0
    assert np.load(run / 'samples_forget1.npz')['arr_0'].shape == (32, 32, 32, 3)  # retained prompts only, ADM's layout
    assert json.loads((tree / 'latents' / 'meta.json').read_text())['n_images'] == 24
    r = cli('imagenet', 'unlearn', '--run-dir', str(run), *tiny(tree, '--forget', '5'))  # the data has 3 classes
    assert r.returncode == 1 and 'classes 0..2' in r.stderr and 'Traceback' not in r.stderr


def test_bad_inputs_are_one_line(tree, tmp_path):
    r = cli('imagenet', 'extract-latents', '--run-dir', str(tmp_path / 'r'), *tiny(tree, '--data', str(tmp_path / 'nothing')))
    assert r.returncode == 1 and 'train/<wnid>/*.JPEG' in r.stderr and 'Traceback' not in r.stderr
    r = cli('imagenet', 'unlearn', '--run-dir', str(tmp_path / 'r3'), *tiny(tree))
    assert r.returncode == 1 and 'run `uot-unlearn imagenet pretrain' in r.stderr
    r = cli('imagenet', 'unlearn', '--run-dir', str(tmp_path / 'r4'), '--forget', '1000')
    assert r.returncode == 2 and 'classes 0..999' in r.stderr


def test_two_processes_share_the_extraction(tree, tmp_path):
    "Under torchrun each process writes every second shard; together they write what one process writes."
    one, two = tmp_path / 'one', tmp_path / 'two'
    base = ['imagenet', 'extract-latents', '--tiny', '--quiet', '--device', 'cpu', '--data', str(tree / 'data'), '--set', f'vae={tree / "vae"}']
    r = cli(*base, f'latents={one}', '--run-dir', str(tmp_path / 'r1'))
    assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', '-m', 'uot_unlearn.cli',
                        *base, f'latents={two}', '--run-dir', str(tmp_path / 'r2')], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    shards = sorted(p.name for p in one.glob('shard_*.pt'))
    assert len(shards) == 3 and sorted(p.name for p in two.glob('shard_*.pt')) == shards
    assert all((one / s).read_bytes() == (two / s).read_bytes() for s in shards)


def _meanflow_port(path):
    "A tiny DiT saved as zhuyu-cs/MeanFlow's training script saves it (EMA, `r_embedder`)."
    import torch
    from uot_unlearn.dit import dit
    net = dit('tiny', size=16, n_classes=3)
    torch.save({'ema': {k.replace('h_embedder.', 'r_embedder.'): v for k, v in net.state_dict().items()}, 'opt': {}}, path)
    return path


def _imf_release(path):
    "A tiny iMF saved under the names of the released iMF-*.pth files (`net.`, `_flax_linear`, `_flax_embedding`)."
    import torch
    from uot_unlearn.imf import ImprovedMeanFlowDiT
    net = ImprovedMeanFlowDiT(size=16, hidden=64, depth=3, heads=2, n_classes=3, u_depth=1)
    level = {name: '_flax_linear.' if isinstance(m, torch.nn.Linear) else '_flax_embedding.' for name, m in net.named_modules()
             if isinstance(m, (torch.nn.Linear, torch.nn.Embedding))}
    def upstream(k):
        module, _, leaf = k.rpartition('.')
        return f"net.{module}.{level[module]}{leaf}" if module in level else f"net.{k}"
    torch.save({upstream(k): v for k, v in net.state_dict().items()}, path)
    return path


def _consistency_folder(path):
    "A tiny class-conditional consistency model saved by diffusers as a pipeline folder."
    from diffusers import UNet2DModel, CMStochasticIterativeScheduler, ConsistencyModelPipeline
    unet = UNet2DModel(sample_size=16, in_channels=3, out_channels=3, block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=8,
                       down_block_types=('DownBlock2D', 'DownBlock2D'), up_block_types=('UpBlock2D', 'UpBlock2D'), num_class_embeds=3)
    ConsistencyModelPipeline(unet=unet, scheduler=CMStochasticIterativeScheduler()).save_pretrained(path)
    return path


@pytest.mark.parametrize('layout, fabricate, extra', [('meanflow', _meanflow_port, []), ('imf', _imf_release, ['--guidance', '4', '0.3', '0.7']),
                                                      ('diffusers-cm', _consistency_folder, [])])
def test_an_imported_checkpoint_goes_through_every_later_stage(tree, tmp_path, layout, fabricate, extra):
    "A fabricated checkpoint in each upstream layout: `uot-unlearn import`, then classifier, unlearn, evaluate and export from its run folder."
    import torch
    torch.manual_seed(0)
    weights, run = fabricate(tmp_path / 'weights'), tmp_path / 'run'
    r = cli('import', '--from', layout, '--weights', str(weights), '--run-dir', str(run), '--tiny', *extra,
            '--set', f'data={tree / "data"}', f'vae={tree / "vae"}', f'latents={tree / "latents"}')
    assert r.returncode == 0 and 'Imported a' in r.stdout, r.stderr[-2000:]
    from uot_unlearn import imagenet_pipeline as ip
    cfg = ip.run_config(run, {'forget': [2]})  # the stages in this process: the command line is tested above
    stamp = (run / 'generator.pt').stat().st_mtime_ns
    for stage in ('extract-latents', 'pretrain', 'classifier', 'unlearn', 'evaluate', 'export'): ip.STAGES[stage](run, cfg, 'cpu', False)
    assert (run / 'generator.pt').stat().st_mtime_ns == stamp  # `all` keeps an imported generator: pretraining skips it
    m = json.loads((run / 'metrics_forget2.json').read_text())
    assert m['forget'] == [2] and m['u_fid'] > 0 and m['fid_pretrained'] > 0
    size = 16 if layout == 'diffusers-cm' else 32  # a consistency model's own size; latents decode to the configuration's
    assert np.load(run / 'samples_forget2.npz')['arr_0'].shape == (32, size, size, 3)
    assert (ip.generator_info(run)['space'] == 'pixels') == (layout == 'diffusers-cm')
    if layout == 'imf': assert ip.generator_info(run)['network']['guidance'] == {'omega': 4.0, 't_min': 0.3, 't_max': 0.7}
    r = cli('import', '--from', layout, '--weights', str(weights), '--run-dir', str(run))
    assert r.returncode == 1 and 'already holds a generator' in r.stderr  # what the first import and the stages wrote stays


def test_imports_refuse_bad_input_in_one_line(tmp_path):
    r = cli('import', '--from', 'meanflow', '--weights', str(tmp_path / 'missing.pt'), '--run-dir', str(tmp_path / 'run'))
    assert r.returncode == 1 and 'does not exist' in r.stderr and 'Traceback' not in r.stderr
    r = cli('import', '--from', 'imf', '--weights', str(_meanflow_port(tmp_path / 'port.pt')), '--run-dir', str(tmp_path / 'run'),
            '--set', 'latent_norm="sd-vae"')
    assert r.returncode == 1 and "normalised as 'imf'" in r.stderr and 'Traceback' not in r.stderr
    r = cli('import', '--from', 'diffusers-cm', '--weights', str(tmp_path), '--run-dir', str(tmp_path / 'run'))
    assert r.returncode == 1 and 'holds no diffusers configuration' in r.stderr and not (tmp_path / 'run').exists()
