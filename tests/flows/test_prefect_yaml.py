"""prefect.yaml points at the real flows under the deployment names the code uses."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from checkpoints import processes
from flows.batch import BATCH_FLOW, batch_deployment
from flows.change_of_address import DEPLOYMENT_NAME
from flows.checkpoint import CHECKPOINT_DEPLOYMENT, CHECKPOINT_FLOW


def test_prefect_yaml_deploys_the_batch_and_the_checkpoint_flow() -> None:
    config = yaml.safe_load((Path(__file__).parents[2] / "prefect.yaml").read_text())
    flows = {}
    for deployment in config["deployments"]:
        module, name = deployment["entrypoint"].removesuffix(".py").split(".py:")
        flow = getattr(importlib.import_module(module.replace("/", ".")), name)
        flows[deployment["name"]] = flow.name
    assert flows == {
        DEPLOYMENT_NAME: "process-inbox",
        "resident-parking": BATCH_FLOW,
        CHECKPOINT_DEPLOYMENT: CHECKPOINT_FLOW,
    }


def test_prefect_yaml_deploys_a_batch_for_every_loaded_process() -> None:
    config = yaml.safe_load((Path(__file__).parents[2] / "prefect.yaml").read_text())
    names = {d["name"] for d in config["deployments"]}
    for process in processes.load().values():
        assert batch_deployment(process).rsplit("/", 1)[-1] in names
