"""docker-compose.yml, deploy/ and the Dockerfile agree with each other and with the processes.

Docker cannot run here, so these checks read the files: every name one service uses to reach
another is a compose service, every port it uses is one that service's command listens on, and the
gotchas of the real images are respected (Toxiproxy's ``-host=0.0.0.0``, Grafana's port). The live
counterpart, which runs each command, is ``test_services.py``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from deploy_support import option

SERVICES = {"emulator", "toxiproxy", "runner", "prometheus", "grafana"}


def published(service: dict[str, Any]) -> dict[int, int]:
    """The service's ``ports:`` as {host port: container port}."""
    mapping = {}
    for entry in service.get("ports", []):
        host, container = str(entry).split("/")[0].rsplit(":", 2)[-2:]
        mapping[int(host)] = int(container)
    return mapping


def mounts(service: dict[str, Any], root: Path) -> dict[str, Path]:
    """The service's bind mounts as {container path: host path}."""
    result = {}
    for entry in service.get("volumes", []):
        source, target = entry.split(":")[:2]
        result[target] = (root / source).resolve()
    return result


def test_the_stack_has_every_service(services: dict[str, Any]) -> None:
    assert set(services) == SERVICES


def test_published_ports_are_ports_the_commands_listen_on(
    services: dict[str, Any], ports: dict[str, dict[int, str]]
) -> None:
    host_ports: list[int] = []
    for name, service in services.items():
        mapping = published(service)
        host_ports.extend(mapping)
        assert set(mapping.values()) <= set(ports[name]), name
    assert len(host_ports) == len(set(host_ports)), "two services publish the same host port"
    # The emulator publishes both of its ports under their own numbers, so ws://localhost:3001/prod
    # and the ready line agree.
    assert published(services["emulator"]) == {port: port for port in ports["emulator"]}


def test_emulator_and_runner_come_from_the_projects_dockerfile(
    services: dict[str, Any], root: Path
) -> None:
    emulator, runner = services["emulator"], services["runner"]
    assert emulator["build"] == "."
    assert (root / "Dockerfile").is_file()
    # The runner reuses the image compose builds for the emulator instead of building it twice.
    assert runner["image"] == emulator["image"]
    assert emulator["command"][0] == "emulator"
    assert option(emulator["command"], "--host") == "0.0.0.0"


def test_dockerfile_installs_every_package_and_runs_wschaos(root: Path) -> None:
    dockerfile = (root / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert re.search(r'^ENTRYPOINT \["wschaos"\]$', dockerfile, re.M)
    copied = {
        source.rstrip("/")
        for line in re.findall(r"^COPY (.+) \S+$", dockerfile, re.M)
        for source in line.split()
    }
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    # What setuptools builds from: every package, the metadata and the readme it names.
    assert {name.rstrip("*") for name in include} | {
        "pyproject.toml",
        pyproject["project"]["readme"],
    } <= copied


def test_toxiproxy_listens_on_every_interface_and_loads_the_populate_file(
    services: dict[str, Any], root: Path, populate: list[dict[str, Any]], ports: dict
) -> None:
    toxiproxy = services["toxiproxy"]
    image, _, tag = toxiproxy["image"].partition(":")
    assert image == "ghcr.io/shopify/toxiproxy"
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), (
        "pin a release; Docker Hub's shopify/toxiproxy is stale"
    )
    command = toxiproxy["command"]
    # Overriding `command` drops the image's CMD ["-host=0.0.0.0"]: it must be repeated.
    assert "-host=0.0.0.0" in command
    config = option(command, "-config")
    assert mounts(toxiproxy, root)[config] == (root / "deploy" / "toxiproxy.json").resolve()
    # The image has no shell: a healthcheck must exec a binary, never CMD-SHELL.
    assert toxiproxy["healthcheck"]["test"][0] == "CMD"

    names = [proxy["name"] for proxy in populate]
    assert len(names) == len(set(names))
    for proxy in populate:
        assert set(proxy) <= {"name", "listen", "upstream", "enabled"}
        listen_host, listen_port = proxy["listen"].rsplit(":", 1)
        # A wildcard listen, or the published port reaches nothing.
        assert listen_host == "0.0.0.0", proxy
        assert int(listen_port) in published(toxiproxy).values(), proxy
        upstream_host, upstream_port = proxy["upstream"].rsplit(":", 1)
        assert upstream_host in services, proxy
        assert int(upstream_port) in ports[upstream_host], proxy


def test_runner_soaks_against_the_compose_services(
    services: dict[str, Any], ports: dict[str, dict[int, str]]
) -> None:
    runner = services["runner"]
    command = runner["command"]
    assert command[0] == "run"
    assert option(command, "--repeat") == "0"
    assert published(runner) == {
        int(option(command, "--metrics-port")): int(option(command, "--metrics-port"))
    }

    emulator_url = urlsplit(option(command, "--emulator"))
    assert emulator_url.hostname == "emulator"
    assert ports["emulator"][emulator_url.port] == "websocket"
    assert emulator_url.path.strip("/") == option(services["emulator"]["command"], "--stage")
    assert ports["emulator"][int(option(command, "--emulator-rest-port") or 3000)] == "rest"
    # The runner scales each scenario's timings itself: the emulator must run at time scale 1.
    assert option(services["emulator"]["command"], "--time-scale") in (None, "1")
    # Toxiproxy dials the emulator by its service name from inside the network.
    assert option(command, "--upstream-host") == "emulator"

    toxiproxy_url = urlsplit(runner["environment"]["TOXIPROXY_URL"])
    assert toxiproxy_url.hostname == "toxiproxy"
    assert ports["toxiproxy"][toxiproxy_url.port] == "api"
    assert set(runner["depends_on"]) == {"emulator", "toxiproxy"}


def test_runner_command_is_valid_wschaos_run_usage(services: dict[str, Any]) -> None:
    from chaos.cli import build_parser

    args = build_parser().parse_args(services["runner"]["command"])
    assert args.command == "run"
    assert args.repeat == 0


def test_prometheus_scrapes_the_emulator_and_the_runner_where_they_serve_metrics(
    services: dict[str, Any], prometheus_config: dict[str, Any], root: Path, ports: dict
) -> None:
    prometheus = services["prometheus"]
    config_path = option(prometheus["command"], "--config.file")
    assert mounts(prometheus, root)[config_path] == (root / "deploy" / "prometheus.yml").resolve()

    scraped: dict[str, str] = {}
    jobs = [job["job_name"] for job in prometheus_config["scrape_configs"]]
    assert len(jobs) == len(set(jobs))
    for job in prometheus_config["scrape_configs"]:
        assert job.get("metrics_path", "/metrics") == "/metrics"
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                assert host in services, f"{job['job_name']}: {target} is not a compose service"
                assert int(port) in ports[host], (
                    f"{job['job_name']}: {host} does not listen on {port}"
                )
                scraped[host] = ports[host][int(port)]
    assert scraped == {"emulator": "websocket", "runner": "metrics"}


def test_grafana_is_provisioned_with_the_prometheus_service_and_the_dashboards(
    services: dict[str, Any], root: Path, dashboards: dict[str, dict[str, Any]], ports: dict
) -> None:
    grafana = services["grafana"]
    volume = mounts(grafana, root)
    provisioning = volume["/etc/grafana/provisioning"]
    assert provisioning == (root / "deploy" / "grafana" / "provisioning").resolve()

    datasources = yaml.safe_load((provisioning / "datasources" / "wschaos.yml").read_text())
    (datasource,) = datasources["datasources"]
    assert datasource["type"] == "prometheus"
    url = urlsplit(datasource["url"])
    assert url.hostname == "prometheus"
    assert ports["prometheus"][url.port] == "web"

    providers = yaml.safe_load((provisioning / "dashboards" / "wschaos.yml").read_text())
    (provider,) = providers["providers"]
    folder = volume[provider["options"]["path"]]
    assert folder == (root / "deploy" / "grafana" / "dashboards").resolve()
    assert dashboards, "no dashboard JSON to provision"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert Path(home).parent.as_posix() == provider["options"]["path"]
    assert Path(home).name in dashboards

    uids = [dashboard["uid"] for dashboard in dashboards.values()]
    assert len(uids) == len(set(uids))
    for name, dashboard in dashboards.items():
        panel_ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(panel_ids) == len(set(panel_ids)), name
        for panel in dashboard["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (name, panel["title"])
            for item in [panel, *panel["targets"]]:
                # Every query goes to the provisioned data source, by uid.
                assert item["datasource"]["uid"] == datasource["uid"], (name, panel["title"])
        for variable in dashboard["templating"]["list"]:
            assert variable["datasource"]["uid"] == datasource["uid"], (name, variable["name"])
