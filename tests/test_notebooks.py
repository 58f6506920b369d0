"The nbdev-ci checks: the library matches the notebooks, the notebooks are clean, and every notebook runs."
import filecmp, shutil, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p.name for p in (ROOT / 'nbs').glob('*.ipynb') if not p.name.startswith('_'))


@pytest.fixture(scope='module')
def copy_of_project(tmp_path_factory):
    "A copy of the sources, so the checks never touch the working tree."
    dst = tmp_path_factory.mktemp('proj')
    for name in ['settings.ini', 'setup.py', 'README.md']: shutil.copy(ROOT / name, dst / name)
    shutil.copytree(ROOT / 'nbs', dst / 'nbs', symlinks=True)
    shutil.copytree(ROOT / 'uot_unlearn', dst / 'uot_unlearn', ignore=shutil.ignore_patterns('__pycache__'))
    return dst


def _diff(a: Path, b: Path, pattern):
    return [p.name for p in sorted(a.glob(pattern)) if not filecmp.cmp(p, b / p.name, shallow=False)]


def test_library_matches_notebooks(copy_of_project):
    subprocess.run(['nbdev_export'], cwd=copy_of_project, check=True)
    changed = _diff(copy_of_project / 'uot_unlearn', ROOT / 'uot_unlearn', '*.py')
    assert not changed, f"nbdev_export changes {changed}: run nbdev_export and commit the result"


def test_notebooks_are_clean(copy_of_project):
    subprocess.run(['nbdev_clean'], cwd=copy_of_project, check=True)
    changed = _diff(copy_of_project / 'nbs', ROOT / 'nbs', '*.ipynb')
    assert not changed, f"nbdev_clean changes {changed}: run nbdev_clean and commit the result"


def test_readme_is_the_index_notebook():
    "README.md is the prose of nbs/index.ipynb (the site's front page), with image and page links seen from the root."
    import json, re
    cells = json.loads((ROOT / 'nbs' / 'index.ipynb').read_text())['cells']
    prose = '\n\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'markdown')
    expected = re.sub(r'\]\((\w+\.ipynb)\)', r'](nbs/\1)', prose.replace('](images/', '](nbs/images/')) + '\n'  # links seen from the root
    assert (ROOT / 'README.md').read_text() == expected, "README.md and nbs/index.ipynb differ: edit the notebook and regenerate README.md"


def test_every_notebook_runs():
    "Every notebook, top to bottom, as `nbdev_test` runs them: one process for all (torch is imported once), each in its own namespace."
    r = subprocess.run(['nbdev_test', '--n_workers', '0', '--do_print'], cwd=ROOT, capture_output=True, text=True)
    completed = r.stdout.count('- Completed')
    assert r.returncode == 0 and completed == len(NBS), f"{completed} of {len(NBS)} completed\n" + r.stdout[-3000:] + r.stderr[-5000:]


def test_no_notebook_imports_a_module_of_a_later_notebook():
    "Reading order is import order: a notebook uses only what the notebooks before it (or itself) export."
    import json, re
    exported = {}  # module -> the notebook that exports it
    for name in NBS:
        cells = json.loads((ROOT / 'nbs' / name).read_text())['cells']
        for c in cells:
            m = re.match(r'#\|\s*default_exp\s+(\S+)', ''.join(c['source']))
            if m: exported[m.group(1)] = name
    late = []
    for name in NBS:
        source = '\n'.join(''.join(c['source']) for c in json.loads((ROOT / 'nbs' / name).read_text())['cells'] if c['cell_type'] == 'code')
        for module in set(re.findall(r'uot_unlearn\.(\w+)', source)) | set(re.findall(r'from uot_unlearn import (\w+)', source)):
            if module in exported and exported[module] > name:
                late.append(f"{name} imports uot_unlearn.{module} of {exported[module]}")
    assert not late, '; '.join(late)


def test_no_library_function_is_longer_than_40_lines():
    "A function of the library does one thing: none runs over 40 lines (signature and docstring included)."
    import ast
    long = [f"{p.name}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)"
            for p in sorted((ROOT / 'uot_unlearn').glob('*.py')) for n in ast.walk(ast.parse(p.read_text()))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 40]
    assert not long, 'split these: ' + '; '.join(long)
