"""The container files, checked without a container engine: they parse, and every command, port,
health path, environment variable and file they name exists in the project.

`docker compose config` runs too where the command is available (skipped here otherwise).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from everreach.platform.settings import Settings
from everreach_cli.commands import main
from everreach_dagster.execution import TEMPLATES
from everreach_dagster.instance import URL_ENV

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))
HELM_VALUES = DEPLOY / "helm" / "dagster-values.yaml"
WORKSPACE_GRPC = REPO / "workspace.grpc.yaml"
# Variables read by the images we run beside ours (Postgres, MinIO) or by Dagster itself.
THIRD_PARTY_ENV = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "MINIO_ROOT_USER"}
THIRD_PARTY_ENV |= {"MINIO_ROOT_PASSWORD", "DAGSTER_HOME", "PYTHONUNBUFFERED", "PATH"}
OUR_IMAGE = re.compile(r"(^|/)everreach:")


def settings_env_names() -> set[str]:
    """Every environment variable Settings reads (prefixed names and aliases)."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"EVERREACH_{name.upper()}")
        alias = field.validation_alias
        if alias is not None:
            names.update(str(choice) for choice in getattr(alias, "choices", [alias]))
    return names | {URL_ENV}


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def our_containers() -> Iterator[tuple[str, list[str], dict[str, str]]]:
    """(where, command, environment) of every container that runs our image."""
    for name, service in compose()["services"].items():
        if OUR_IMAGE.search(service.get("image", "")):
            yield f"compose:{name}", service["command"], service.get("environment", {})
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text()):
            spec = document.get("spec", {})
            pod = spec.get("template", {}).get("spec", {})
            for container in pod.get("containers", []):
                env = {e["name"]: e.get("value", "") for e in container.get("env", [])}
                yield f"{path.name}:{container['name']}", container["command"], env


def command_option_names(command: click.Command) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def test_every_deploy_file_parses() -> None:
    assert compose()["services"]
    for path in [*MANIFESTS, HELM_VALUES, WORKSPACE_GRPC, *TEMPLATES.values()]:
        assert list(yaml.safe_load_all(path.read_text())), path
    kinds = {d["kind"] for p in MANIFESTS for d in yaml.safe_load_all(p.read_text())}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= kinds


def test_the_dockerfile_is_multi_stage_non_root_and_copies_files_that_exist() -> None:
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    assert sum(line.startswith("FROM ") for line in lines) >= 2
    (user,) = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user.split(":")[0] not in ("0", "root")
    for line in lines:
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), line
    exposed = {int(p) for line in lines if line.startswith("EXPOSE ") for p in line.split()[1:]}
    assert {8000, 3000, 4000, 9100} == exposed


def test_every_everreach_command_and_option_named_exists() -> None:
    seen = 0
    for where, command, _ in our_containers():
        if command[0] != "everreach":
            continue
        subcommand = main.commands.get(command[1])
        assert subcommand is not None, where
        options = {arg for arg in command[2:] if arg.startswith("--")}
        assert options <= command_option_names(subcommand), where
        seen += 1
    assert seen >= 8  # migrate, api, forwarder, 2 workers (compose); api, forwarder, migrate


def test_every_dagster_command_is_installed_and_ports_agree_with_the_workspace() -> None:
    bin_dir = Path(sys.executable).parent
    services = compose()["services"]
    for name, service in services.items():
        if OUR_IMAGE.search(service.get("image", "")) and service["command"][0] != "everreach":
            assert (bin_dir / service["command"][0]).exists(), name
    (location,) = yaml.safe_load(WORKSPACE_GRPC.read_text())["load_from"]
    grpc = location["grpc_server"]
    assert grpc["host"] in services
    code_server = services[grpc["host"]]["command"]
    assert code_server[code_server.index("-p") + 1] == str(grpc["port"])
    for name in ("dagster-webserver", "dagster-daemon"):
        assert str(WORKSPACE_GRPC.relative_to(REPO)) in " ".join(services[name]["command"])
    (user_code,) = yaml.safe_load(HELM_VALUES.read_text())["dagster-user-deployments"][
        "deployments"
    ]
    assert user_code["port"] == grpc["port"]
    assert user_code["dagsterApiGrpcArgs"] == code_server[code_server.index("-m") :]


def test_api_ports_and_health_paths_exist_in_the_api() -> None:
    routes = set(re.findall(r'@get\("([^"]+)"', (REPO / "api" / "health.py").read_text()))
    api = compose()["services"]["api"]
    assert "8000:8000" in api["ports"][0] or api["ports"][0].endswith(":8000")
    assert (
        re.search(r"127\.0\.0\.1:8000(/\w+)", " ".join(api["healthcheck"]["test"])).group(1)
        in routes
    )
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text()):
            pod = document.get("spec", {}).get("template", {}).get("spec", {})
            for container in pod.get("containers", []):
                ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
                command = container["command"]
                for flag in ("--port", "--metrics-port"):
                    if flag in command:
                        assert int(command[command.index(flag) + 1]) in ports.values(), path
                for probe in ("readinessProbe", "livenessProbe"):
                    http = container.get(probe, {}).get("httpGet")
                    if http:
                        assert http["path"] in routes and http["port"] in ports, (path, probe)
    readiness = [
        c["readinessProbe"]["httpGet"]["path"]
        for d in yaml.safe_load_all((DEPLOY / "k8s" / "api.yaml").read_text())
        if d["kind"] == "Deployment"
        for c in d["spec"]["template"]["spec"]["containers"]
    ]
    assert readiness == ["/readyz"]


def test_every_environment_variable_named_is_a_setting() -> None:
    known = settings_env_names() | THIRD_PARTY_ENV
    for where, _, env in our_containers():
        assert set(env) <= known, (where, set(env) - known)
    for name, service in compose()["services"].items():
        assert set(service.get("environment", {})) <= known, name
    helm = yaml.safe_load(HELM_VALUES.read_text())
    (user_code,) = helm["dagster-user-deployments"]["deployments"]
    assert {e["name"] for e in user_code["env"]} <= known
    referenced = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    assert referenced <= known, referenced - known


def test_every_volume_is_declared_or_a_file_of_the_repo() -> None:
    document = compose()
    declared = set(document.get("volumes", {}))
    for name, service in document["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), (name, volume)
            else:
                assert source in declared, (name, volume)
    build = document["x-image"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).exists()


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI on this machine")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["no reason given"])[0][:200]
        pytest.skip(f"`docker compose` is not available here ({reason})")
    env = {
        "PATH": "/usr/bin:/bin",
        "POSTGRES_PASSWORD": "x",
        "MINIO_ROOT_USER": "x",
        "MINIO_ROOT_PASSWORD": "x",
        "EVERREACH_JWT_SECRET": "x",
    }
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
