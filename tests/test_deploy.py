"""The deployment files stay consistent with the app: config, Dockerfile, load-balancer example."""

from __future__ import annotations

import tomllib

from tests.conftest import PROJECT_ROOT

RUNTIME_PATHS = ("app.py", ".streamlit", "model", "store", "ui", "app_pages", "assets")


def test_public_deployment_settings() -> None:
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] <= 5
    assert config["server"]["enableXsrfProtection"] is True
    assert config["client"]["showErrorDetails"] == "none"
    # A full collection after every rerun would cost a class of thirty most of a core.
    assert config["runner"]["postScriptGC"] is False


def test_dockerfile_ships_every_runtime_folder_and_runs_unprivileged() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    copied = {
        line.split()[-2] for line in dockerfile.splitlines() if line.startswith("COPY --chown")
    }
    assert copied == set(RUNTIME_PATHS)
    assert "USER lab" in dockerfile and "EXPOSE 8501" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/_stcore/health" in dockerfile
    assert "ARG BASE_IMAGE=python:3.11-slim" in dockerfile and "FROM ${BASE_IMAGE}" in dockerfile


def test_the_image_honours_one_port_setting_and_keeps_its_data_in_a_volume() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    command = next(line for line in dockerfile.splitlines() if line.startswith("CMD"))
    health = dockerfile[dockerfile.index("HEALTHCHECK") : dockerfile.index("CMD [")]
    assert "${PORT:-8501}" in command and "exec streamlit run app.py" in command
    assert 'environ.get(\\"PORT\\"' in health
    assert "8501" not in command.replace("${PORT:-8501}", "")
    assert "ZOL_DATA_DIR=/data" in dockerfile and "VOLUME /data" in dockerfile
    # Headless Streamlit would look up the machine's external address at every start.
    assert "STREAMLIT_LOGGER_HIDE_WELCOME_MESSAGE=true" in dockerfile


def test_every_top_level_python_package_is_shipped() -> None:
    packages = {
        path.parent.name
        for path in PROJECT_ROOT.glob("*/*.py")
        if path.parent.name not in {"tests", "bench", "scripts"}
    }
    assert packages <= set(RUNTIME_PATHS)


def test_load_balancer_example_is_sticky_and_forwards_websockets() -> None:
    nginx = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text()
    assert "ip_hash;" in nginx
    assert "proxy_set_header Upgrade $http_upgrade;" in nginx
