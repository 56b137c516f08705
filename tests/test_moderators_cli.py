"""Making moderators: `znachki users grant-moderator EMAIL` (and revoke), and the
demo moderator `make run` seeds."""

from __future__ import annotations

from flask import Flask

from marketplace.cli.demo import DEMO_MODERATOR, DEMO_PASSWORD, seed_demo_collectors
from marketplace.core.extensions import db
from tests.support.factories import make_user
from tests.support.web import login


def test_grant_moderator_lets_a_member_review_submissions(app_ctx: Flask) -> None:
    member = make_user("ivan@example.org")
    client = app_ctx.test_client()
    login(client)
    assert client.get("/moderation").status_code == 403

    result = app_ctx.test_cli_runner().invoke(args=["users", "grant-moderator", "IVAN@example.org"])
    assert result.exit_code == 0, result.output
    assert "ivan@example.org can now moderate the catalogue" in result.output
    assert member.is_moderator
    assert client.get("/moderation").status_code == 200

    result = app_ctx.test_cli_runner().invoke(args=["users", "revoke-moderator", member.email])
    assert result.exit_code == 0 and not member.is_moderator


def test_grant_moderator_names_an_unknown_email(app_ctx: Flask) -> None:
    result = app_ctx.test_cli_runner().invoke(args=["users", "grant-moderator", "nobody@x.org"])
    assert result.exit_code != 0
    assert "no member with the email nobody@x.org" in result.output


def test_the_demo_seed_has_a_moderator_who_can_log_in(app_ctx: Flask) -> None:
    created = dict(seed_demo_collectors(db.session(), app_ctx.config["PASSWORD_HASHER"]))
    assert created[DEMO_MODERATOR[0]] == DEMO_PASSWORD
    client = app_ctx.test_client()
    login(client, DEMO_MODERATOR[0], DEMO_PASSWORD)
    assert client.get("/moderation").status_code == 200
    assert seed_demo_collectors(db.session(), app_ctx.config["PASSWORD_HASHER"]) == []
