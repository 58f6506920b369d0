"The site's build as nbdev runs it, without Quarto and without nbdev's reinstall: every notebook is processed, no page cites what readers do not have."
import json, os, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / 'nbs').glob('*.ipynb'))
# nbdev's processing of one notebook for the docs, as `nbdev_proc_nbs` does after installing Quarto and the
# package (which re-points an existing editable install): here only the processing, notebook by notebook
PROCESS = '''
import sys
from pathlib import Path
from nbdev.serve import _proc_file
from nbdev import serve_drv
nbs, cache = Path('nbs').resolve(), Path('_proc').resolve()
failed = []
for name in sys.argv[1:]:
    try: serve_drv.main(_proc_file(nbs / name, cache=cache, path=nbs))
    except Exception as e: failed.append(f"{name}: {e}")
print('\\n\\n'.join(failed))
sys.exit(1 if failed else 0)
'''


def test_docs_processing_runs_every_notebook(tmp_path):
    "The doc build runs every cell that exports, calls show_doc or imports: those cells must run on their own."
    for name in ['settings.ini', 'setup.py', 'README.md']: shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / 'nbs', tmp_path / 'nbs', ignore=shutil.ignore_patterns('_proc', '.ipynb_checkpoints', 'nbdev.yml'))
    r = subprocess.run([sys.executable, '-c', PROCESS, *[p.name for p in NOTEBOOKS]], cwd=tmp_path, capture_output=True,
                       text=True, env={**os.environ, 'MPLBACKEND': 'Agg'}, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert sorted(p.name for p in (tmp_path / '_proc').glob('*.ipynb')) == [p.name for p in NOTEBOOKS]


MISSING = re.compile(r'DESIGN\.md|STYLE\.md|shared/|/wor[k]/|/hom[e]/\w+|scratch\d*/')  # [k], [e]: this file cites no path itself


def test_pages_cite_nothing_readers_do_not_have():
    "Readers have the site and the repository: no page or results table points to files outside them."
    pages = [*NOTEBOOKS, ROOT / 'README.md', ROOT / 'benchmarks' / 'RESULTS.md']
    found = []
    for p in pages:
        text = p.read_text()
        if p.suffix == '.ipynb': text = '\n'.join(''.join(c['source']) for c in json.loads(text)['cells'])
        found += [f"{p.name}: {m.group()}" for m in MISSING.finditer(text)]
    assert not found, found


def test_nbdev_keeps_the_committed_quarto_configuration(tmp_path):
    "On a fresh clone nbdev writes its own `_quarto.yml` unless the project has one: the committed one, with the site's theme and stylesheet, stays."
    shutil.copy(ROOT / 'settings.ini', tmp_path / 'settings.ini')
    shutil.copytree(ROOT / 'nbs', tmp_path / 'nbs', ignore=shutil.ignore_patterns('*.ipynb', 'images', 'nbdev.yml'))
    committed = (ROOT / 'nbs' / '_quarto.yml').read_text()
    assert 'theme: cosmo' in committed and 'css: styles.css' in committed and 'sidebar.yml' in committed
    r = subprocess.run([sys.executable, '-c', 'from nbdev.quarto import refresh_quarto_yml; refresh_quarto_yml()'], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / 'nbs' / '_quarto.yml').read_text() == committed
    assert (tmp_path / 'nbs' / 'nbdev.yml').exists()  # generated from settings.ini at build time, ignored by git


def test_workflows_run_the_readme_test_command_and_build_the_site():
    "CI on GitHub runs exactly what `.ci/run` runs (the README's test command); the site is built by nbdev with Quarto and published."
    import yaml
    flows = {p.stem: yaml.safe_load(p.read_text()) for p in (ROOT / '.github' / 'workflows').glob('*.yaml')}
    steps = lambda flow: [s.get('run', '') for job in flow['jobs'].values() for s in job['steps']]
    assert 'bash .ci/run' in steps(flows['test']) and 'python -m pytest tests' in (ROOT / '.ci' / 'run').read_text()
    assert 'python -m pytest tests' in (ROOT / 'README.md').read_text()
    assert 'nbdev_docs' in steps(flows['deploy'])
    uses = [s.get('uses', '') for job in flows['deploy']['jobs'].values() for s in job['steps']]
    assert any(u.startswith('quarto-dev/quarto-actions/setup') for u in uses)  # with Quarto present, nbdev_docs never reinstalls


DRAWS = re.compile(r'^(?!\s*#).*(\bplt\.(subplots|figure|imshow|plot|bar|scatter|hist)\b|\bplot_\w+\(|\binteract\()', re.M)
NOT_SHOWN = re.compile(r'^\s*#\|\s*(export|exporti|exports|eval:\s*false)\b|plt\.close|save_figures?\(|save_forget_figures\(', re.M)


def test_every_figure_cell_shows_its_figure_and_the_outputs_stay_small():
    "The site shows what the notebooks store: a cell that draws a figure carries its image. Refresh: `python tools/refresh_notebooks.py`."
    missing, paths, size = [], [], 0
    for p in NOTEBOOKS:
        size += p.stat().st_size
        for i, c in enumerate(json.loads(p.read_text())['cells']):
            if c['cell_type'] != 'code': continue
            src, outputs = ''.join(c['source']), json.dumps(c.get('outputs', []))
            if DRAWS.search(src) and not NOT_SHOWN.search(src) and '"image/png"' not in outputs: missing.append(f"{p.name} cell {i}")
            if re.search(r'/wor[k]/|/roo[t]/|/hom[e]/\w+', outputs): paths.append(f"{p.name} cell {i}")
    assert not missing, f"cells that draw a figure but store none (run tools/refresh_notebooks.py): {missing}"
    assert not paths, f"outputs that show a machine's paths: {paths}"
    assert size < 8e6, f"the notebooks hold {size / 1e6:.1f} MB with their outputs: compress the figures"


def test_sidebar_lists_every_page_once_in_sections():
    "Readers find every page: the sidebar's sections hold each notebook exactly once, in numbered order within a section."
    import yaml
    sidebar = yaml.safe_load((ROOT / 'nbs' / 'sidebar.yml').read_text())['website']['sidebar']['contents']
    sections = [s for s in sidebar if isinstance(s, dict)]
    listed = [p for s in sections for p in s['contents']] + [p for p in sidebar if isinstance(p, str)]
    assert sorted(listed) == [p.name for p in NOTEBOOKS], set(listed) ^ {p.name for p in NOTEBOOKS}
    assert [s['section'] for s in sections][:2] == ['Method', 'Toy']
    for s in sections: assert s['contents'] == sorted(s['contents']), s['section']
