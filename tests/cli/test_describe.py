"""`rpa checkpoints show` names every hidden character of a remark, one remark line per line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from checkpoints.models import Checkpoint, Proposal
from cli.checkpoints import describe
from flows.change_of_address.case import CaseFile, Reason

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def checkpoint_with_remarks(remarks: str) -> Checkpoint:
    """An open checkpoint whose case holds only these remarks."""
    return Checkpoint(
        checkpoint_id="cp-describe",
        case_id="FLY-2026-000001",
        process="change-of-address",
        case=CaseFile(case_id="FLY-2026-000001", raw={"remarks": remarks}),
        reasons=[Reason(rule_id="remarks.present", message="remark")],
        proposal=Proposal(action="none", summary="none"),
        status="open",
        created_at=NOW,
        deadline_at=NOW + timedelta(hours=48),
    )


def test_hidden_characters_in_a_remark_are_named_and_none_is_lost() -> None:
    lines = describe(
        checkpoint_with_remarks("\x1c\u2028før\x1b[2J\r\nefter \u202eslut"),
        show_cpr=False,
        ui_url=None,
    )
    start = lines.index("  Remarks from the citizen:")
    assert lines[start + 1 : start + 3] == [
        "    | [U+001C][U+2028]før[U+001B][2J[U+000D]",
        "    | efter [U+202E]slut",
    ]


def test_a_remark_of_a_control_character_alone_is_shown() -> None:
    lines = describe(checkpoint_with_remarks("\x1f"), show_cpr=False, ui_url=None)
    assert "    | [U+001F]" in lines
