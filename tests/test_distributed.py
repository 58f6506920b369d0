"Data-parallel MeanFlow on 2 CPU processes (gloo): the JVP path needs the explicit gradient all-reduce."
import os, socket, warnings
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP
from uot_unlearn.distributed import setup_distributed, broadcast_parameters, all_reduce_gradients, is_main
from uot_unlearn.meanflow import MeanFlowMLP, meanflow_loss


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def join(rank, world, port):
    "Join a 2-process gloo group on this machine, as torchrun would."
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    return setup_distributed()


def gather_and_leave(rank, world, params, out, **objects):
    "Gather each rank's flat parameters (and `objects`) on rank 0, save them to `out`, leave the group."
    flat = torch.cat([p.detach().flatten() for p in params])
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    result = {'params': gathered}
    for k, v in objects.items():
        result[k] = [None] * world
        dist.all_gather_object(result[k], v)
    if rank == 0: torch.save(result, out)
    dist.barrier()
    dist.destroy_process_group()


def worker(rank, world, port, sync, steps, out):
    r, w, dev = join(rank, world, port)
    assert (r, w) == (rank, world) and is_main() == (rank == 0)
    torch.manual_seed(rank)                       # different initial weights on purpose: broadcast must fix them
    net = MeanFlowMLP(2, 32, 3)
    broadcast_parameters(net)
    ddp = DDP(net)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(100 + rank)   # each rank its own data shard
    for _ in range(steps):
        x = torch.randn(64, 2, generator=g) * (1 + rank)
        loss = meanflow_loss(ddp.module, x)         # torch.func.jvp cannot run through the DDP wrapper
        opt.zero_grad(); loss.backward()
        if sync: all_reduce_gradients(ddp.module)
        opt.step()
    del ddp, opt            # release DDP's reducer (and its threads) before the process group goes
    gather_and_leave(rank, world, net.parameters(), out)


def spawn(fn, out, *args, tries=3):
    "Run `fn(rank, 2, port, *args, out)` in 2 processes; a new port if the chosen one was taken meanwhile."
    for attempt in range(tries):
        try: return mp.spawn(fn, args=(2, free_port(), *args, out), nprocs=2, join=True)
        except mp.ProcessRaisedException as e:
            if 'address already in use' not in str(e).lower() or attempt == tries - 1: raise
        except mp.ProcessExitedException as e:
            # gloo can abort a process while tearing down its threads after the work is done
            # ("terminate called without an active exception"); the results are written by then
            if e.signal_name != 'SIGABRT' or not os.path.exists(out): raise
            warnings.warn(f"a worker aborted at exit after writing its results: {e}")
            return


def run(tmp_path, sync, steps=3):
    out = tmp_path / f'params_{sync}.pt'
    spawn(worker, str(out), sync, steps)
    return torch.load(out)['params']


def test_replicas_stay_identical_with_explicit_all_reduce(tmp_path):
    a, b = run(tmp_path, sync=True)
    assert torch.equal(a, b)


def test_without_all_reduce_the_replicas_drift_apart(tmp_path):
    a, b = run(tmp_path, sync=False)
    assert not torch.allclose(a, b)   # the silent failure the explicit all-reduce prevents


def train_worker(rank, world, port, out):
    from uot_unlearn.meanflow import train_meanflow
    join(rank, world, port)
    torch.manual_seed(rank)                                   # different weights per rank before training
    G, hist = train_meanflow(MeanFlowMLP(2, 32, 3), lambda n: torch.randn(n, 2) * 3, steps=4, batch_size=32,
                             seed=0, device='cpu', progress=False)
    gather_and_leave(rank, world, G.parameters(), out, losses=hist)


def test_train_meanflow_under_torchrun_keeps_replicas_identical(tmp_path):
    out = tmp_path / 'train.pt'
    spawn(train_worker, str(out))
    res = torch.load(out)
    assert torch.equal(*res['params'])                       # same EMA generator on both ranks
    assert res['losses'][0] != res['losses'][1]               # each rank trained on its own batches


def unlearn_worker(rank, world, port, out):
    from uot_unlearn.core import unlearn
    join(rank, world, port)
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    torch.manual_seed(1)
    clf = torch.nn.Linear(2, 3)
    torch.manual_seed(rank)                                   # a different potential per rank: broadcast must fix it
    res = unlearn(G, clf, 0, sample_inputs=lambda n: torch.randn(n, 2), steps=5, batch_size=32, seed=0,
                  device='cpu', progress=False)
    gather_and_leave(rank, world, [*res.generator.parameters(), *res.potential.parameters()], out, loss_g=res.history['loss_g'])


def test_unlearn_under_torchrun_keeps_generator_and_potential_identical(tmp_path):
    out = tmp_path / 'unlearn.pt'
    spawn(unlearn_worker, str(out))
    res = torch.load(out)
    assert torch.equal(*res['params'])                       # generator and potential identical on both ranks
    assert res['loss_g'][0] != res['loss_g'][1]               # each rank drew its own inputs
