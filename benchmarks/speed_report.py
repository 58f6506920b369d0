"What the speed benchmarks share: the device with its fast kernels on, and the JSON report they print and write."
import json, platform
from pathlib import Path
import torch

def start_report(device:str):
    "The torch device (TF32 and cuDNN autotuning on for CUDA) and an empty report that names the machine."
    dev = torch.device(device)
    if dev.type == 'cuda': torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else platform.processor() or 'cpu'
    return dev, dict(device=name, threads=torch.get_num_threads(), torch=torch.__version__, rows=[])

def add_row(report:dict, row:dict):
    "Append `row` to the report and print it as one JSON line."
    report['rows'].append(row)
    print(json.dumps(row), flush=True)

def write_report(report:dict, out=None):
    "Write the report to the JSON file `out` (nothing without one)."
    if out: Path(out).parent.mkdir(parents=True, exist_ok=True); Path(out).write_text(json.dumps(report, indent=1))
