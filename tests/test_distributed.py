"Data-parallel MeanFlow on 2 CPU processes (gloo): the JVP path needs the explicit gradient all-reduce."
import os, socket, warnings
import pytest
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


def gather(world, params, **objects):
    "Every rank's flat parameters (and `objects`), gathered on every rank."
    flat = torch.cat([p.detach().flatten() for p in params])
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    result = {'params': gathered}
    for k, v in objects.items():
        result[k] = [None] * world
        dist.all_gather_object(result[k], v)
    return result


def data_parallel_steps(rank, world, sync, steps=3):
    "MeanFlow steps through DDP, with or without the explicit all-reduce; the replicas' parameters."
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
    del ddp, opt            # release DDP's reducer (and its threads) before the next check
    return gather(world, net.parameters())


def library_training(world):
    "`train_meanflow` from different weights per rank; the replicas and each rank's losses."
    from uot_unlearn.meanflow import train_meanflow
    torch.manual_seed(dist.get_rank())
    G, hist = train_meanflow(MeanFlowMLP(2, 32, 3), lambda n: torch.randn(n, 2) * 3, steps=4, batch_size=32,
                             seed=0, device='cpu', progress=False)
    return gather(world, G.parameters(), losses=hist)


def library_unlearning(world):
    "`unlearn` with a different potential per rank; the generator's and potential's replicas and each rank's losses."
    from uot_unlearn.core import unlearn
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    torch.manual_seed(1)
    clf = torch.nn.Linear(2, 3)
    torch.manual_seed(dist.get_rank())                        # a different potential per rank: broadcast must fix it
    res = unlearn(G, clf, 0, sample_inputs=lambda n: torch.randn(n, 2), steps=5, batch_size=32, seed=0,
                  device='cpu', progress=False)
    return gather(world, [*res.generator.parameters(), *res.potential.parameters()], loss_g=res.history['loss_g'])


def worker(rank, world, port, out):
    "Every check in one process group (starting two processes costs more than the checks)."
    r, w, dev = join(rank, world, port)
    assert (r, w) == (rank, world) and is_main() == (rank == 0)
    result = {'synced': data_parallel_steps(rank, world, True), 'unsynced': data_parallel_steps(rank, world, False),
              'train': library_training(world), 'unlearn': library_unlearning(world)}
    if rank == 0: torch.save(result, out)
    dist.barrier()
    dist.destroy_process_group()


def spawn(fn, out, tries=3):
    "Run `fn(rank, 2, port, out)` in 2 processes; a new port if the chosen one was taken meanwhile."
    for attempt in range(tries):
        try: return mp.spawn(fn, args=(2, free_port(), out), nprocs=2, join=True)
        except mp.ProcessRaisedException as e:
            if 'address already in use' not in str(e).lower() or attempt == tries - 1: raise
        except mp.ProcessExitedException as e:
            # gloo can abort a process while tearing down its threads after the work is done
            # ("terminate called without an active exception"); the results are written by then
            if e.signal_name != 'SIGABRT' or not os.path.exists(out): raise
            warnings.warn(f"a worker aborted at exit after writing its results: {e}")
            return


@pytest.fixture(scope='module')
def two_ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp('ddp') / 'results.pt'
    spawn(worker, str(out))
    return torch.load(out)


def test_replicas_stay_identical_with_explicit_all_reduce(two_ranks):
    a, b = two_ranks['synced']['params']
    assert torch.equal(a, b)


def test_without_all_reduce_the_replicas_drift_apart(two_ranks):
    a, b = two_ranks['unsynced']['params']
    assert not torch.allclose(a, b)   # the silent failure the explicit all-reduce prevents


def test_train_meanflow_under_torchrun_keeps_replicas_identical(two_ranks):
    res = two_ranks['train']
    assert torch.equal(*res['params'])                       # same EMA generator on both ranks
    assert res['losses'][0] != res['losses'][1]               # each rank trained on its own batches


def test_unlearn_under_torchrun_keeps_generator_and_potential_identical(two_ranks):
    res = two_ranks['unlearn']
    assert torch.equal(*res['params'])                       # generator and potential identical on both ranks
    assert res['loss_g'][0] != res['loss_g'][1]               # each rank drew its own inputs
