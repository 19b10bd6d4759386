"""`pip install .` into a fresh venv (Debian's setuptools and wheel, offline), then import."""
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_pip_install_into_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    # The build ctest runs in already has the extension: pip's build reuses it.
    env.setdefault("LOADSPIKER_BUILD_DIR", os.path.join(ROOT, "build"))
    p = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation",
                        "--no-index", ROOT], capture_output=True, text=True, env=env,
                       timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    p = subprocess.run([str(venv / "bin" / "python"), "-c",
                        "import loadspiker, os; print(loadspiker.__version__, "
                        "os.path.dirname(loadspiker.__file__))"],
                       capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr
    version, where = p.stdout.split()
    assert version == "0.1.0" and where.startswith(str(venv))
