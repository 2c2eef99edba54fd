"""prefect.yaml points at the real flow under the deployment name the CLI uses."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from flows.change_of_address import DEPLOYMENT_NAME


def test_prefect_yaml_deploys_process_inbox() -> None:
    config = yaml.safe_load((Path(__file__).parents[2] / "prefect.yaml").read_text())
    (deployment,) = config["deployments"]
    assert deployment["name"] == DEPLOYMENT_NAME
    module, name = deployment["entrypoint"].removesuffix(".py").split(".py:")
    flow = getattr(importlib.import_module(module.replace("/", ".")), name)
    assert flow.name == "process-inbox"
