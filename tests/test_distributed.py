"Data-parallel MeanFlow on 2 CPU processes (gloo): the JVP path needs the explicit gradient all-reduce."
import os, socket
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP
from uot_unlearn.distributed import setup_distributed, broadcast_parameters, all_reduce_gradients, is_main
from uot_unlearn.meanflow import MeanFlowMLP, meanflow_loss


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def worker(rank, world, port, sync, steps, out):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    r, w, dev = setup_distributed()
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
    flat = torch.cat([p.detach().flatten() for p in net.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    if rank == 0: torch.save(gathered, out)
    dist.destroy_process_group()


def run(tmp_path, sync, steps=3):
    out = tmp_path / f'params_{sync}.pt'
    mp.spawn(worker, args=(2, free_port(), sync, steps, str(out)), nprocs=2, join=True)
    return torch.load(out)


def test_replicas_stay_identical_with_explicit_all_reduce(tmp_path):
    a, b = run(tmp_path, sync=True)
    assert torch.equal(a, b)


def test_without_all_reduce_the_replicas_drift_apart(tmp_path):
    a, b = run(tmp_path, sync=False)
    assert not torch.allclose(a, b)   # the silent failure the explicit all-reduce prevents
