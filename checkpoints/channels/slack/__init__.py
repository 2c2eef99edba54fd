"""The Slack channel: Block Kit messages, the Bolt app, the outbox."""
