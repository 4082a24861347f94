"""`modelhub users`, `orgs` and `tokens`: accounts made from the command line."""

from __future__ import annotations

import click

from .common import registry


@click.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.argument("name")
@click.option("--password", required=True)
@click.option("--email", default=None)
@click.option("--admin", is_flag=True, help="Site administrator.")
@click.option("--fullname", default="", help="Display name (default: NAME).")
@click.pass_context
def users_create(ctx: click.Context, name: str, password: str, email: str | None, admin: bool, fullname: str) -> None:
    """Create a user."""
    registry(ctx).accounts.create_user(name, password, email=email, is_admin=admin, fullname=fullname)
    click.echo(f"created user {name}", err=True)


@click.group()
def orgs() -> None:
    """Organizations."""


@orgs.command("create")
@click.argument("name")
@click.option("--owner", required=True, help="User who becomes the organization's first admin.")
@click.option("--fullname", default="", help="Display name (default: NAME).")
@click.pass_context
def orgs_create(ctx: click.Context, name: str, owner: str, fullname: str) -> None:
    """Create an organization."""
    registry(ctx).accounts.create_org(name, owner, fullname=fullname)
    click.echo(f"created organization {name} (admin: {owner})", err=True)


@orgs.command("add-member")
@click.argument("org")
@click.argument("user")
@click.option("--role", type=click.Choice(["read", "write", "admin"]), default="write", show_default=True)
@click.pass_context
def orgs_add_member(ctx: click.Context, org: str, user: str, role: str) -> None:
    """Add a user to an organization (or change their role)."""
    registry(ctx).accounts.set_member(org, user, role)
    click.echo(f"{user} is now {role} in {org}", err=True)


@click.group()
def tokens() -> None:
    """Access tokens."""


@tokens.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["read", "write"]), default="write", show_default=True)
@click.option("--name", "label", default="", help="A label to recognize the token by.")
@click.pass_context
def tokens_create(ctx: click.Context, name: str, role: str, label: str) -> None:
    """Create a token for user NAME; prints the token alone on stdout."""
    click.echo(registry(ctx).accounts.create_token(name, role=role, label=label))
