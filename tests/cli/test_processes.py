"""`rpa processes`, `rpa run PROCESS` and the second process's decisions from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from checkpoints.models import Proposal
from checkpoints.store.repository import CheckpointStore
from flows.resident_parking.case import PermitCase
from tests.cli.test_commands import rpa, rpa_env

CASE = "PRK-2026-000003"


def parking_case(**changes: str) -> PermitCase:
    base = {
        "case_id": CASE,
        "status": "open",
        "received_at": "2026-11-19T08:00:00+01:00",
        "applicant_cpr": "0303752345",
        "applicant_name": "Carl Nielsen",
        "plate": "EF 34 567",
        "zone": "A",
        "start_date": "2026-12-01",
        "remarks": "",
    }
    return PermitCase.model_validate(base | changes)


def test_rpa_processes_lists_both_processes_with_rules_and_decisions(tmp_path: Path) -> None:
    env = rpa_env(tmp_path / "home")
    listed = rpa("processes", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "change-of-address: Change of address" in listed.stdout
    assert "resident-parking: Resident parking" in listed.stdout
    assert "remarks.present (mandatory)" in listed.stdout
    described = {p["name"]: p for p in json.loads(rpa("processes", "--json", env=env).stdout)}
    parking = described["resident-parking"]
    assert parking["decisions"] == ["approve", "edit", "reject", "manual"]
    assert parking["form"] == ["plate", "zone", "start_date"]
    assert {r["id"] for r in parking["rules"]} >= {
        "remarks.present",
        "vehicle.too_heavy",
        "address.outside_zone",
        "permit.already_active",
    }
    assert described["change-of-address"]["decisions"] == [
        "approve",
        "edit",
        "manual",
        "contact_citizen",
    ]


def test_rpa_run_refuses_an_unknown_process_in_one_line(tmp_path: Path) -> None:
    result = rpa("run", "dog-licences", env=rpa_env(tmp_path / "home"))
    assert result.returncode != 0
    assert "no process 'dog-licences'" in result.stderr
    assert "resident-parking" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_parking_case_is_shown_and_rejected_with_its_reason_from_the_command_line(
    database: str, tmp_path: Path
) -> None:
    env = rpa_env(tmp_path / "home", RPA_DATABASE_URL=database)
    assert rpa("db", "upgrade", env=env).returncode == 0
    store = CheckpointStore.connect(database)
    checkpoint = store.open_checkpoint(
        case=parking_case(),
        reasons=[],
        proposal=Proposal(action="act", summary="Udsted tilladelse."),
        screenshot=None,
        process="resident-parking",
        deadline_hours=24,
    )
    cid = checkpoint.checkpoint_id
    shown = rpa("checkpoints", "show", cid, env=env)
    assert shown.returncode == 0, shown.stderr
    assert f"case {CASE} (resident-parking)" in shown.stdout
    assert "Number plate: EF 34 567" in shown.stdout
    assert "Applicant: Carl Nielsen (030375-XXXX)" in shown.stdout
    assert "0303752345" not in shown.stdout
    assert "Decisions this case takes: approve, edit, reject, manual" in shown.stdout

    refused = [
        (["--contact-citizen"], "takes these decisions: approve, edit, reject, manual"),
        (["--reject", " "], "needs its reason"),
        (["--edit", "movers.0.name=X"], "unknown field 'movers.0.name'"),
        (["--edit", "zone=AB"], "zone"),
    ]
    for args, message in refused:
        result = rpa("checkpoints", "decide", cid, "--by", "Mette", *args, env=env)
        assert result.returncode != 0, args
        assert message in result.stderr, (args, result.stderr)
    assert store.decision_for(cid) is None

    done = rpa("checkpoints", "decide", cid, "--by", "Mette", "--reject", "For tung.", env=env)
    assert done.returncode == 0, done.stderr
    decision = store.decision_for(cid)
    assert decision is not None
    assert (decision.kind, decision.comment) == ("reject", "For tung.")
    story = rpa("journal", CASE, "--locale", "en", env=env)
    assert story.returncode == 0, story.stderr
    assert "Mette rejected the case (via cli)" in story.stdout
    assert "For tung." in story.stdout
    store.close()


def test_a_checkpoint_of_a_process_not_loaded_is_listed_and_left_alone(
    database: str, tmp_path: Path
) -> None:
    env = rpa_env(tmp_path / "home", RPA_DATABASE_URL=database)
    assert rpa("db", "upgrade", env=env).returncode == 0
    store = CheckpointStore.connect(database)
    checkpoint = store.open_checkpoint(
        case=parking_case(),
        reasons=[],
        proposal=Proposal(action="act", summary="Udsted tilladelse."),
        screenshot=None,
        process="resident-parking",
        deadline_hours=24,
    )
    store.close()
    only_moves = rpa_env(
        tmp_path / "home",
        RPA_DATABASE_URL=database,
        RPA_PROCESSES='["flows.change_of_address.process"]',
    )
    listed = rpa("checkpoints", "list", env=only_moves)
    assert listed.returncode == 0, listed.stderr
    assert "resident-parking (NOT LOADED: waits)" in listed.stdout
    decided = rpa(
        "checkpoints", "decide", checkpoint.checkpoint_id, "--by", "Jens", "--approve",
        env=only_moves,
    )  # fmt: skip
    assert decided.returncode != 0
    assert "process 'resident-parking' is not loaded here" in decided.stderr


def test_a_mandatory_rule_switched_off_refuses_the_process_at_load(tmp_path: Path) -> None:
    rules = tmp_path / "parking.yaml"
    rules.write_text("remarks.present:\n  enabled: false\n")
    env = rpa_env(
        tmp_path / "home",
        RPA_PROCESS_SETTINGS=json.dumps({"resident-parking": {"rules_file": str(rules)}}),
    )
    for command in (["processes"], ["up"], ["run", "resident-parking"]):
        refused = rpa(*command, env=env)
        assert refused.returncode == 1, command
        assert refused.stderr.strip() == (
            "error: process 'resident-parking': rule 'remarks.present' is mandatory and cannot "
            "be switched off"
        ), (command, refused.stderr)
    rules.write_text("vehicle.too_heavy:\n  max_weight_kg: heavy\n")
    refused = rpa("processes", env=env)
    assert "rule 'vehicle.too_heavy': max_weight_kg" in refused.stderr
    rules.write_text("vehicle.too_heavy:\n  max_weight_kg: 4000\n")
    assert rpa("processes", env=env).returncode == 0
