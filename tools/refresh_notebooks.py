"""Execute the notebooks at their small configurations and keep their outputs: the figures and tables the site shows.

    python tools/refresh_notebooks.py                 # every notebook (about 6 minutes on two CPU cores)
    python tools/refresh_notebooks.py 08_toy.ipynb    # some of them

Cells marked `#| eval: false` (GPU runs, full configurations) are not run, as in `nbdev_test`. Figures are stored
as PNG at the notebook's own size. `nbdev_clean` runs afterwards, so the result is what the repository keeps.
"""
import os, re, subprocess, sys, time, warnings
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory

NBS = Path(__file__).resolve().parents[1] / 'nbs'


def _skip(cell) -> bool:
    "Cells the run leaves alone: markdown, the export call, and `#| eval: false`."
    if cell.cell_type != 'code' or 'nbdev_export' + '(' in cell.source: return True
    return bool(re.search(r'^\s*#\|\s*eval:\s*false', cell.source, re.M | re.I))


def refresh(path: Path):
    "Run `path` top to bottom in a fresh kernel and write it back with its outputs; stop at the first error."
    nb = read_nb(path)
    for cell in nb.cells:
        if cell.cell_type == 'code': cell.outputs, cell.execution_count = [], None
    shell = CaptureShell(path, mpl_format='png')
    with working_directory(path.parent): shell.run_all(nb, exc_stop=True, preproc=_skip)
    write_nb(nb, path)


if __name__ == '__main__':
    os.environ.setdefault('MPLBACKEND', 'Agg')
    # torch's own JVP decompositions warn on the first MeanFlow step; the page would show torch's install path
    warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated')
    names = sys.argv[1:] or sorted(p.name for p in NBS.glob('*.ipynb'))
    for name in names:
        t0 = time.perf_counter()
        refresh(NBS / name)
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    subprocess.run(['nbdev_clean'], cwd=NBS.parent, check=True)
