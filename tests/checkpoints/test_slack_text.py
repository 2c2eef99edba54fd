"""Citizen text in Slack: posted through the fake Web API, inert, visible and CPR-masked."""

from __future__ import annotations

import json
from typing import Any

from checkpoints.channels.slack.blocks import ACTION_APPROVE, checkpoint_message
from checkpoints.channels.slack.delivery import SlackDelivery, make_client
from checkpoints.store.repository import CheckpointStore
from config.rules import ChangeOfAddressRules
from config.settings import SlackSettings
from tests.checkpoints.conftest import ANNA, CaseFactory
from tests.checkpoints.test_slack import flagged, serving
from tests.seeds import NEW
from tests.slack_fake import SlackFake, click, signed_post

# Every kind of trouble a remark can hold, one per line.
REMARKS = "\n".join(
    [
        "*fed* _kursiv_ ~streg~ `kode` ```blok```",
        "> citat",
        "  >> indrykket citat",
        "bidi \u202aLRE \u202bRLE \u202cPDF \u202dLRO \u202eRLO",
        "isolates \u2066LRI \u2067RLI \u2068FSI \u2069PDI \u200eLRM \u200fRLM",
        "usynlig a\u200bb c\ufeffd e\u2060f tag\U000e0041\U000e007f",
        "kontrol nul\x00 bel\x07 esc\x1b[2J",
        "CPR 0101901234 og 020285-1235, ikke 12345678901",
        "<!channel> & <@U0BOSS>",
    ]
)
SHOWN = "\n".join(
    [
        "*Borgerens bemærkning:*",
        "> ＊fed＊ ＿kursiv＿ ～streg～ ｀kode｀ ｀｀｀blok｀｀｀",
        "> ＞ citat",
        ">   ＞&gt; indrykket citat",
        "> bidi [U+202A]LRE [U+202B]RLE [U+202C]PDF [U+202D]LRO [U+202E]RLO",
        "> isolates [U+2066]LRI [U+2067]RLI [U+2068]FSI [U+2069]PDI [U+200E]LRM [U+200F]RLM",
        "> usynlig a[U+200B]b c[U+FEFF]d e[U+2060]f tag[U+E0041][U+E007F]",
        "> kontrol nul[U+0000] bel[U+0007] esc[U+001B][2J",
        "> CPR 010190-XXXX og 020285-XXXX, ikke 12345678901",
        "> &lt;!channel&gt; &amp; &lt;@U0BOSS&gt;",
    ]
)


def sections(args: dict[str, Any]) -> list[str]:
    """The mrkdwn texts of the section blocks Slack received."""
    blocks = args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_remarks_names_and_addresses_reach_slack_inert_visible_and_masked(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack_settings: SlackSettings,
) -> None:
    flagged(
        store,
        make_case,
        rules,
        remarks=REMARKS,
        movers=[{"cpr": ANNA, "name": "*Anna* _J_ \u202eensen"}],
        new_address=NEW | {"street": "~Sct.~ `Mathias` Gade\u200b"},
    )
    delivery = SlackDelivery(store, make_client(slack_settings), slack_settings)
    assert delivery.deliver_due() == 1
    (post,) = fake.ok_calls("chat.postMessage")
    shown = sections(post.args)
    assert SHOWN in shown
    facts = shown[0].splitlines()
    assert facts[0] == "*Flytter:* ＊Anna＊ ＿J＿ [U+202E]ensen (010190-XXXX)"
    assert facts[2] == "*Til:* ～Sct.～ ｀Mathias｀ Gade[U+200B] 5, 8800 Viborg"
    everything = json.dumps(post.args, ensure_ascii=False)
    assert "0101901234" not in everything
    assert "1235" not in everything
    for hidden in ("\u202e", "\u200b", "\ufeff", "\U000e0041", "\\u0000", "\\u001b"):
        assert hidden not in everything


def test_the_full_cpr_setting_shows_a_remark_s_cpr_in_full(
    store: CheckpointStore, make_case: CaseFactory, rules: ChangeOfAddressRules
) -> None:
    checkpoint = flagged(store, make_case, rules, remarks="CPR 0202851235")
    masked = "\n".join(sections(checkpoint_message(checkpoint)))
    full = "\n".join(sections(checkpoint_message(checkpoint, full_cpr=True)))
    assert "> CPR 020285-XXXX" in masked
    assert "0202851235" not in masked
    assert "> CPR 0202851235" in full


def test_a_decider_s_display_name_is_inert_in_the_updated_message(
    store: CheckpointStore,
    make_case: CaseFactory,
    rules: ChangeOfAddressRules,
    fake: SlackFake,
    slack_settings: SlackSettings,
) -> None:
    fake.names["UJENS"] = "*Jens* ~H~ \u202e<!here>"
    with serving(store, slack_settings, four_eyes=False) as slack:
        checkpoint = flagged(store, make_case, rules)
        slack.delivery.deliver_due()
        response = signed_post(slack.url, click("UJENS", ACTION_APPROVE, checkpoint.checkpoint_id))
        assert response.status_code == 200
    (update,) = fake.ok_calls("chat.update")
    decided = [s for s in sections(update.args) if "Godkendt af" in s]
    assert decided[0].startswith("*Godkendt af ＊Jens＊ ～H～ [U+202E]&lt;!here&gt; (UJENS), ")


def test_a_cut_never_splits_an_escape_or_a_named_character() -> None:
    from checkpoints.channels.slack.blocks import _cut

    assert _cut("ab &lt; cd", 5) == "ab "
    assert _cut("ab [U+202E] cd", 6) == "ab "
    assert _cut("ab &lt; cd", 7) == "ab &lt;"
    assert _cut("short", 100) == "short"


def test_a_cut_never_leaves_a_rule_id_s_code_span_open() -> None:
    from checkpoints.channels.slack.blocks import _cut

    text = "• The new address is unknown (`address.unknown`)"
    assert _cut(text, len(text) - 4) == "• The new address is unknown"
    assert _cut(text + "\n• More", len(text) + 3) == text + "\n• "  # closed spans stay
