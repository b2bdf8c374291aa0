"""``incident-bot check``: a playbook whose follow-ups go to a tracker needs that tracker's
credentials in the environment. Missing ones are warnings, not errors: check also runs
where the bot's secrets are not (CI), and the bot itself says what to set when it exports."""

from __future__ import annotations

from bot.playbook.loader import PlaybookSet
from bot.settings import Settings


def tracker_warnings(playbooks: PlaybookSet, settings: Settings) -> list[str]:
    warnings = []
    for path, playbook in zip(playbooks.files, playbooks.playbooks, strict=True):
        tracker = playbook.followups.tracker
        missing: list[str] = []
        if tracker == "github" and settings.github_token is None:
            missing = ["GITHUB_TOKEN"]
        elif tracker == "jira":
            missing = [name for name, value in (("JIRA_URL", settings.jira_url), ("JIRA_USER", settings.jira_user),
                                                 ("JIRA_API_TOKEN", settings.jira_api_token)) if not value]
        if missing:
            warnings.append(f"{path}: followups.tracker: warning: tracker {tracker} needs {', '.join(missing)} "
                            f"in the environment; until it is set, follow-ups are not exported")
    return warnings
