"Commands as the tests run them: in this process (torch is imported once), or the installed console script in its own."
import io, os, random, runpy, subprocess, sys, sysconfig, traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
import numpy as np, torch
from uot_unlearn.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _in_process(run, argv, cwd=None) -> subprocess.CompletedProcess:
    "Call `run()`; its exit status and what it printed, as a shell would see them."
    out, err, here = io.StringIO(), io.StringIO(), os.getcwd()
    code, states = 0, (random.getstate(), np.random.get_state())
    try:
        if cwd: os.chdir(cwd)
        # a command seeds the global generators, as its own process would: the tests after it must not see that
        with redirect_stdout(out), redirect_stderr(err), torch.random.fork_rng(devices=[]):
            try: run()
            except SystemExit as e:  # sys.exit(message) prints the message and exits 1, as the interpreter does
                if e.code is not None and not isinstance(e.code, int): print(e.code, file=sys.stderr)
                code = e.code if isinstance(e.code, int) else int(e.code is not None)
            except Exception:  # an uncaught error: the traceback and exit status 1 a shell would see
                traceback.print_exc(file=sys.stderr)
                code = 1
    finally:
        os.chdir(here)
        random.setstate(states[0]); np.random.set_state(states[1])
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    "`uot-unlearn ARGS`, in this process."
    args = [str(a) for a in args]
    return _in_process(lambda: main(args), ['uot-unlearn', *args], cwd)


def script(name, *args) -> subprocess.CompletedProcess:
    "`python benchmarks/NAME ARGS` from the repository root, in this process."
    path, args = ROOT / 'benchmarks' / name, [str(a) for a in args]
    def run():
        saved, modules = (sys.argv, sys.path[:]), set(sys.modules)
        sys.argv, sys.path[:0] = [str(path), *args], [str(path.parent)]  # as `python SCRIPT` sets them
        try: runpy.run_path(str(path), run_name='__main__')
        finally:
            sys.argv, sys.path[:] = saved
            for m in set(sys.modules) - modules:  # modules it imported from benchmarks/ (`problems`) go with its process
                if str(path.parent) in str(getattr(sys.modules[m], '__file__', None)): del sys.modules[m]
    return _in_process(run, ['python', str(path), *args], ROOT)


def console_script(*args, **kw) -> subprocess.CompletedProcess:
    "The `uot-unlearn` console script installed beside this interpreter, in a process of its own."
    return subprocess.run([str(Path(sysconfig.get_path('scripts')) / 'uot-unlearn'), *args], capture_output=True, text=True, **kw)
