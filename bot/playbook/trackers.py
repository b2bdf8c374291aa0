"""The playbook's ``followups:`` key: which issue tracker mirrors the follow-ups (GitHub
Issues, Jira Cloud, or none) and where in it."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bot.playbook.fieldtypes import quote

__all__ = ["FollowUpTracker", "Tracker"]

Tracker = Literal["github", "jira", "none"]

# GitHub: owner (letters, digits, "-") / repository (letters, digits, ".", "-", "_").
_GITHUB_REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
# Jira project keys: an uppercase letter, then uppercase letters, digits or "_".
_JIRA_KEY = re.compile(r"[A-Z][A-Z0-9_]{1,9}")


def _check_repo(value: str) -> str:
    if not _GITHUB_REPO.fullmatch(value) or value.endswith((".", "/..")):
        raise ValueError(f"expected a GitHub repository as owner/name, like acme/ops; got {quote(value)}")
    return value


def _check_project(value: str) -> str:
    if not _JIRA_KEY.fullmatch(value):
        raise ValueError(f"expected a Jira project key (2-10 uppercase letters, digits or _, a letter first), "
                         f"like OPS; got {quote(value)}")
    return value


def _check_label(value: str) -> str:
    if not value.strip() or len(value) > 50:
        raise ValueError(f"expected a label of 1-50 characters; got {quote(value)}")
    return value


class FollowUpTracker(BaseModel):
    """Where every follow-up becomes an issue; ``none`` keeps them in incident-bot only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tracker: Tracker = "none"
    github_repo: Annotated[str, AfterValidator(_check_repo)] | None = None
    jira_project: Annotated[str, AfterValidator(_check_project)] | None = None
    labels: tuple[Annotated[str, AfterValidator(_check_label)], ...] = Field(default=(), max_length=20)

    @model_validator(mode="after")
    def _where(self) -> Self:
        if self.tracker == "github" and self.github_repo is None:
            raise ValueError("tracker github needs github_repo: owner/name (the repository the issues go to)")
        if self.tracker == "jira" and self.jira_project is None:
            raise ValueError("tracker jira needs jira_project: KEY (the project the issues go to)")
        if self.tracker == "jira":
            spaced = [label for label in self.labels if any(c.isspace() for c in label)]
            if spaced:
                raise ValueError(f"Jira labels cannot contain spaces: {', '.join(quote(s) for s in spaced)}")
        return self

    @property
    def enabled(self) -> bool:
        return self.tracker != "none"
