"""Signing in to the console with a key pair, and what the browser keeps of it."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from conftest import SECRET_ID, SECRET_KEY
from console.helpers import fill_sign_in, sign_in


def signing_key(secret_key: str, date: str) -> str:
    key = hmac.new(("TC3" + secret_key).encode(), date.encode(), hashlib.sha256).digest()
    for part in ("batch", "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key.hex()


def stored(page: Page) -> str:
    """Everything the page's origin holds in web storage, as one text."""
    return str(page.evaluate("JSON.stringify([{...sessionStorage}, {...localStorage}])"))


def test_a_wrong_secret_key_shows_the_api_error_and_keeps_nothing(page: Page) -> None:
    page.goto("/console/")
    fill_sign_in(page, SECRET_ID, "not-the-secret-key")
    expect(page.locator(".form-error")).to_contain_text("AuthFailure.SignatureFailure")
    assert "not-the-secret-key" not in stored(page)
    assert stored(page) == "[{},{}]"
    expect(page.locator("header.top")).to_be_hidden()


def test_an_unknown_secret_id_shows_the_api_error(page: Page) -> None:
    page.goto("/console/")
    fill_sign_in(page, "AKIDnosuchkey", SECRET_KEY)
    expect(page.locator(".form-error")).to_contain_text("AuthFailure.SecretIdNotFound")


def test_signing_in_keeps_only_todays_derived_key_and_signing_out_clears_it(page: Page) -> None:
    sign_in(page)
    expect(page.locator("header.top .who")).to_have_text(f"{SECRET_ID} · ap-guangzhou")
    session = json.loads(page.evaluate("sessionStorage.getItem('batchyard.session')"))
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert session == {
        "secretId": SECRET_ID,
        "region": "ap-guangzhou",
        "date": today,
        "signingKey": signing_key(SECRET_KEY, today),
    }
    assert SECRET_KEY not in stored(page)
    page.click("header.top .sign-out")
    expect(page.locator("form.sign-in .notice")).to_have_text("You signed out.")
    assert stored(page) == "[{},{}]"


def test_a_key_of_an_earlier_day_sends_the_user_back_to_sign_in(page: Page) -> None:
    """The server refuses a key scoped to another UTC day, so the console asks for the key pair again."""
    sign_in(page)
    page.evaluate(
        "s => sessionStorage.setItem('batchyard.session', s)",
        json.dumps(
            {"secretId": SECRET_ID, "region": "ap-guangzhou", "date": "2001-02-03", "signingKey": "00"}
        ),
    )
    page.reload()
    expect(page.locator("form.sign-in .notice")).to_contain_text("The signing key was for 2001-02-03")
    assert stored(page) == "[{},{}]"
