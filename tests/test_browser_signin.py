"""Browser tier: real sign-in through a local OpenID Connect provider (oidc-provider-mock on loopback).

A marketing editor proposes a quality-lead definition, a sales editor approves it, a viewer reads it and
cannot change it (a forged write is refused and logged); sign-out works; an identity token that has
expired signs the person out. Roles come from the access map in the database (core.access)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime

import pytest

from browser_support import Server, expect, expect_text, free_port, new_context, reruns, wait_idle
from core import access, edits
from core.models import AccessMap, Actor
from core.store import open_store

PEOPLE = {
    "mia": {"sub": "mia", "email": "mia@acme.test", "name": "Mia Kent"},
    "sal": {"sub": "sal", "email": "sal@acme.test", "name": "Sal Ortiz"},
    "vic": {"sub": "vic", "email": "vic@acme.test", "name": "Vic Board"},
}
ADMIN = Actor.signed_in("Ada Min", "ada@acme.test", "admin")


class Provider:
    """oidc-provider-mock on a free loopback port, with the three people's claims; ready once it serves its
    discovery document."""

    def __init__(self, log_path, token_max_age: int | None = None):
        self.port = free_port()
        args = [sys.executable, "-m", "oidc_provider_mock", "-p", str(self.port), "-H", "127.0.0.1"]
        for claims in PEOPLE.values():
            args += ["--user-claims", json.dumps(claims)]
        if token_max_age is not None:
            args += ["--token-max-age", str(token_max_age)]
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.discovery, timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"oidc-provider-mock did not start; see {log_path}")
            try:  # wait on the process between polls: a crash ends the wait at once
                self.proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"oidc-provider-mock exited; see {log_path}")

    @property
    def discovery(self) -> str:
        return f"http://127.0.0.1:{self.port}/.well-known/openid-configuration"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
        self.log.close()


def signed_in_server(tmp_path, db_path, provider: Provider) -> Server:
    port = free_port()
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f"""[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "a-test-secret-that-is-long-enough-0123456789"
client_id = "accord"
client_secret = "accord-secret"
server_metadata_url = "{provider.discovery}"
""")
    return Server(db_path, {"ACCORD_ADMINS": ADMIN.email}, port=port, args=("--secrets.files", str(secrets)))


@pytest.fixture
def roles_db(tiny_db_copy):
    con = open_store(tiny_db_copy)
    edits.save(con, "access", access.SUBJECT, AccessMap(rules=[
        {"match": "@acme.test", "role": "viewer"},
        {"match": "mia@acme.test", "role": "marketing_editor"},
        {"match": "sal@acme.test", "role": "sales_editor"},
    ]), actor=ADMIN, reason="the pilot team", expected_version=0)
    con.close()
    return tiny_db_copy


def sign_in(chromium, server: Server, who: str):
    """A new browser profile (its own cookies) signed in as `who` through the provider's form; returns the
    Overview page."""
    context = new_context(chromium)
    page = context.new_page()
    page.goto(server.url)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name='sub']").fill(PEOPLE[who]["sub"])
    page.get_by_role("button", name="Authorize").click()
    expect(page.locator("h1").filter(has_text="Overview").first).to_be_visible()
    wait_idle(page)
    return page


def expect_signed_out(page) -> None:
    """Signing out ends the provider's session too (OpenID RP-initiated logout): the mock asks to confirm,
    then sends the browser back to Accord's sign-in page."""
    sign_in_button = page.get_by_role("button", name="Sign in")
    end_session = page.get_by_role("button", name="End session")
    expect(sign_in_button.or_(end_session)).to_be_visible()
    if end_session.is_visible():
        end_session.click()
    expect(sign_in_button).to_be_visible()


def goto(page, server: Server, slug: str, title: str) -> None:
    page.goto(f"{server.url}/{slug}")
    expect(page.locator("h1").filter(has_text=title).first).to_be_visible()
    wait_idle(page)


def test_marketing_proposes_sales_approves_a_viewer_only_reads(chromium, tmp_path, roles_db):
    provider = Provider(tmp_path / "oidc.log")
    server = signed_in_server(tmp_path, roles_db, provider)
    try:
        mia = sign_in(chromium, server, "mia")
        sidebar = mia.locator("[data-testid='stSidebar']")
        # the e-mail is shown as plain text: a word joiner after "@" keeps Markdown from making it a link
        expect(sidebar).to_contain_text(re.compile("Signed in as Mia Kent \\(mia@\u2060?acme\\.test\\)"))
        expect(sidebar).to_contain_text("Marketing editor: you can read every figure")
        expect(sidebar).not_to_contain_text("Admin: who may do what")  # not in her menu
        goto(mia, server, "quality", "Quality-lead definition")
        score = mia.get_by_label(re.compile(r"^Minimum score"))
        score.fill("85")
        with reruns(mia):
            score.press("Enter")
        mia.get_by_label(re.compile(r"^Why")).fill("Only strong leads")
        with reruns(mia):
            mia.keyboard.press("Tab")
        mia.get_by_role("button", name="Propose for sign-off").click()
        expect_text(mia, "Proposed: waiting for")
        expect_text(mia, "Mia Kent <mia@acme.test> (marketing) proposes")

        sal = sign_in(chromium, server, "sal")
        goto(sal, server, "quality", "Quality-lead definition")
        expect_text(sal, "Mia Kent <mia@acme.test> (marketing) proposes")
        sal.get_by_role("button", name="Approve").click()
        expect_text(sal, "Approved: version 2 is saved")

        vic = sign_in(chromium, server, "vic")
        goto(vic, server, "quality", "Quality-lead definition")
        expect_text(vic, "version 2", "can read and back-test the definition")
        expect(vic.get_by_role("button", name="Approve")).to_have_count(0)
        expect(vic.get_by_role("button", name="Propose for sign-off")).to_have_count(0)

        vic.get_by_role("button", name="Sign out").click()
        expect_signed_out(vic)
        server.stop()  # the app holds the database file while it serves (see issue 16); read it after

        con = open_store(roles_db)
        try:
            latest = edits.latest(con, "quality_definition", "default")
            assert (latest.version, latest.saved_by, latest.body.min_score) == (2, "Mia Kent <mia@acme.test>", 85)
            assert "approved by Sal Ortiz" in latest.reason
            viewer = access.resolve(access.access_map(con), "vic@acme.test", "Vic Board")
            with pytest.raises(edits.EditRefused):  # a write forged past the page is refused by the write path
                edits.save(con, "quality_definition", "default", latest.body.model_copy(update={"min_score": 1}),
                           actor=viewer, reason="forged", expected_version=2, effective_from=datetime(2026, 8, 15))
            assert con.execute("SELECT actor, action FROM refused_writes").fetchall() == [
                ("Vic Board <vic@acme.test>", "quality_definition")]
            assert edits.latest(con, "quality_definition", "default").version == 2
        finally:
            con.close()

    finally:
        for context in chromium.contexts[1:]:  # the three people's profiles (the first is the shared one)
            context.close()
        server.stop()
        provider.stop()


def test_an_expired_identity_token_signs_the_person_out(chromium, tmp_path, roles_db):
    # long enough for the first run after sign-in to draw the Overview on a loaded machine (with 2 s, a slow
    # first run met an expired token and signed out before anything was drawn), short enough to wait for
    provider = Provider(tmp_path / "oidc.log", token_max_age=15)
    server = signed_in_server(tmp_path, roles_db, provider)
    try:
        context = new_context(chromium)
        page = context.new_page()
        page.goto(server.url)
        page.get_by_role("button", name="Sign in").click()
        page.locator("input[name='sub']").fill("sal")
        page.get_by_role("button", name="Authorize").click()
        expect(page.locator("h1").filter(has_text="Overview").first).to_be_visible()
        # Streamlit's cookie would last 30 days; Accord checks the token's own expiry on every run. Each
        # reload is a new run: reload until the token's 15 seconds have passed and the person is signed out.
        # After a reload, a run either draws the Overview (still valid) or signs out before drawing anything.
        overview = page.locator("h1").filter(has_text="Overview")
        signed_out = page.get_by_role("button", name="Sign in").or_(page.get_by_role("button", name="End session"))
        deadline = time.monotonic() + 60
        while True:
            page.reload()
            expect(overview.or_(signed_out).first).to_be_visible()
            if signed_out.first.is_visible():
                break
            assert time.monotonic() < deadline, "still signed in 60 s after the identity token expired"
        expect_signed_out(page)
        expect(page.locator("h1").filter(has_text="Overview")).to_have_count(0)
        context.close()
    finally:
        server.stop()
        provider.stop()
