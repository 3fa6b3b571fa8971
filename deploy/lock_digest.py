"""The part of pyproject.toml the image locks depend on, as a digest (deploy/lock.sh, tests).

``lock_digest.py PYPROJECT`` prints the sha256 of the runtime dependency list and the build
requirements; ``--build-requires`` prints the build requirements, one per line (pip-compile input).
"""

from __future__ import annotations

import hashlib
import sys
import tomllib
from pathlib import Path


def locked_inputs(pyproject: Path) -> tuple[list[str], list[str]]:
    data = tomllib.loads(pyproject.read_text())
    return list(data["project"]["dependencies"]), list(data["build-system"]["requires"])


def digest(pyproject: Path) -> str:
    runtime, build = locked_inputs(pyproject)
    text = "\n".join(sorted(runtime)) + "\n--\n" + "\n".join(sorted(build))
    return hashlib.sha256(text.encode()).hexdigest()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--build-requires"]:
        print("\n".join(locked_inputs(Path(argv[1]))[1]))
    else:
        print(digest(Path(argv[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
