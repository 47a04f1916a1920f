"""The package installs where students are: plain `pip install .` (not editable) into a fresh virtual environment,
then notebook 00 runs from a copy outside the repository on the fast preset."""

import shutil
import subprocess
import sys
import venv

import pytest

from gc_helpers.config import project_root


@pytest.mark.install
@pytest.mark.notebook
def test_pip_install_and_run_setup_notebook_outside_the_repo(tmp_path):
    root = project_root()
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    src = tmp_path / "src"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(root, src, ignore=shutil.ignore_patterns(".venv", ".git", "out", "data", "videos", "figures",
                                                             "student", "*.egg-info", "build", "__pycache__"))
    install = subprocess.run([py, "-m", "pip", "install", "-q", "-c", root / "requirements.txt", src],
                             capture_output=True, text=True, timeout=1800)
    assert install.returncode == 0, f"pip install . failed:\n{install.stdout[-2000:]}\n{install.stderr[-3000:]}"
    where = subprocess.run([py, "-c", "import gc_helpers, pathlib; print(pathlib.Path(gc_helpers.__file__).parent)"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert "site-packages" in where.stdout, f"not installed into the venv: {where.stdout} {where.stderr}"
    work = tmp_path / "class"
    work.mkdir()
    shutil.copy(root / "notebooks" / "00_setup.ipynb", work / "00_setup.ipynb")
    code = (f"import sys; sys.path.append({str(root)!r}); from tools.runner import execute; "
            "execute('00_setup.ipynb', 'executed.ipynb', preset='fast', timeout=600)")
    run = subprocess.run([py, "-c", code], capture_output=True, text=True, cwd=work, timeout=1800,
                         env={"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert run.returncode == 0, f"00_setup failed outside the repository:\n{run.stderr[-4000:]}"
    assert (work / "executed.ipynb").is_file()
    assert sys.executable != str(py)
