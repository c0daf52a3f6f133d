"""Compile the project's Java code (``serving/java``) against genmodel and py4j.

The compiled classes live in ``<cache>/<key>/`` where the key hashes the Java
source and the jar's bytes, so an edited source or another jar gets a fresh
build and an unchanged pair is compiled once. Builds land in a temporary folder
first and are renamed into place, so parallel processes never see half a build.

``python -m serving.javabuild [--jar PATH]`` builds ahead of time; without
``--jar`` it takes ``h2o-genmodel.jar`` out of the installed h2o wheel.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import logging
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from py4j.java_gateway import find_jar_path

from serving import affinity
from serving.runtime_errors import JavaBuildError, JavaNotFoundError

logger = logging.getLogger(__name__)

JAVA_SOURCE_DIR = Path(__file__).parent / "java"
DEFAULT_CLASS_CACHE = Path("artifacts/java-classes")
SCORER_CLASS = "mojoserve.BatchScorer"
GATEWAY_CLASS = "mojoserve.ScoringGateway"
# genmodel itself targets old JVMs; 11 keeps the classes loadable on any JDK since.
JAVA_RELEASE = "11"
_WHEEL_GENMODEL_ENTRY = "www/3/h2o-genmodel.jar"


def java_sources(source_dir: Path = JAVA_SOURCE_DIR) -> list[Path]:
    """The project's Java source files, in a stable order."""
    return sorted(source_dir.rglob("*.java"))


def py4j_jar() -> Path:
    """The py4j jar that matches the installed py4j Python package."""
    return Path(find_jar_path())


def build_key(genmodel_jar: Path, source_dir: Path = JAVA_SOURCE_DIR) -> str:
    """A short hash of the Java source, both jars' bytes and the target release."""
    digest = hashlib.sha256(JAVA_RELEASE.encode())
    digest.update(py4j_jar().read_bytes())
    for source in java_sources(source_dir):
        digest.update(source.relative_to(source_dir).as_posix().encode())
        digest.update(source.read_bytes())
    digest.update(genmodel_jar.read_bytes())
    return digest.hexdigest()[:20]


def ensure_compiled(
    genmodel_jar: Path,
    cache_dir: Path | None = None,
    *,
    source_dir: Path = JAVA_SOURCE_DIR,
) -> Path:
    """Return the classes folder for ``genmodel_jar``; compile when missing or stale."""
    cache = (cache_dir or DEFAULT_CLASS_CACHE).resolve()
    target = cache / build_key(genmodel_jar, source_dir)
    if (target / "mojoserve" / "BatchScorer.class").is_file():
        return target

    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=cache))
    try:
        _compile(genmodel_jar, source_dir, staging)
        staging.rename(target)
        logger.info(
            "compiled %s against %s into %s", SCORER_CLASS, genmodel_jar, target
        )
    except OSError:
        # Another process finished the same build first: use it.
        if not (target / "mojoserve" / "BatchScorer.class").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _compile(genmodel_jar: Path, source_dir: Path, output_dir: Path) -> None:
    javac = shutil.which("javac")
    if javac is None:
        raise JavaNotFoundError(
            "javac was not found on PATH; install a JDK 17 "
            "(Debian: apt-get install openjdk-17-jdk-headless)"
        )
    command = [
        javac,
        "--release",
        JAVA_RELEASE,
        "-encoding",
        "UTF-8",
        "-nowarn",
        "-classpath",
        os.pathsep.join([str(genmodel_jar.resolve()), str(py4j_jar())]),
        "-d",
        str(output_dir),
        *[str(source) for source in java_sources(source_dir)],
    ]
    with affinity.every_cpu():
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise JavaBuildError(
            f"javac failed on {source_dir} against {genmodel_jar} "
            f"(exit {result.returncode}):\n{result.stderr.strip()}"
        )


def wheel_genmodel_jar(destination: Path) -> Path:
    """Extract h2o-genmodel.jar from the installed h2o wheel (without importing h2o)."""
    spec = importlib.util.find_spec("h2o")
    if spec is None or spec.origin is None:
        raise JavaBuildError(
            "no --jar given and the h2o package is not installed; pass "
            "--jar path/to/h2o-genmodel.jar (it ships beside every model.zip)"
        )
    h2o_jar = Path(spec.origin).parent / "backend" / "bin" / "h2o.jar"
    target = destination / "h2o-genmodel.jar"
    with (
        zipfile.ZipFile(h2o_jar) as archive,
        archive.open(_WHEEL_GENMODEL_ENTRY) as src,
    ):
        target.write_bytes(src.read())
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line: compile the batch scorer and print the classes folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jar", type=Path, help="h2o-genmodel.jar to compile against")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CLASS_CACHE)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    with tempfile.TemporaryDirectory() as scratch:
        jar: Path = args.jar or wheel_genmodel_jar(Path(scratch))
        classes = ensure_compiled(jar, args.cache_dir)
    print(classes)  # noqa: T201 (command-line output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
