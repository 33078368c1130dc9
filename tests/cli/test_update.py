"""``update NAME`` takes the named options of ``add KIND``; secrets never from an argument."""

from __future__ import annotations

import json

import agentrun_creds_plugin as acp

from .helpers import add_llm, run

KEY = "sk-test-0000000000000001"


def _resolve(url: str, name: str) -> acp.CredentialBase:
    with acp.CredentialStore.open(url) as s:
        return s.resolve(name)


def test_named_fields_change_and_the_others_stay(store_url: str, canary: str) -> None:
    add_llm(store_url, KEY)
    code, out = run(
        store_url,
        "update",
        "llm",
        "--base-url",
        "https://llm.example.com/v1",
        "--keep-secrets",
        "--description",
        "moved",
        "--json",
    )
    assert code == 0, out
    info = json.loads(out)
    assert info["version"] == 2 and info["description"] == "moved"
    cred = _resolve(store_url, "llm")
    assert isinstance(cred, acp.ModelServiceCredential)
    assert cred.base_url == "https://llm.example.com/v1" and cred.provider == "openai"
    assert cred.api_key.get_secret_value() == KEY
    # a new key by stdin, the base URL kept
    code, out = run(store_url, "update", "llm", "--stdin", input=canary + "\n")
    assert code == 0 and canary not in out
    cred = _resolve(store_url, "llm")
    assert isinstance(cred, acp.ModelServiceCredential)
    assert cred.api_key.get_secret_value() == canary
    assert cred.base_url == "https://llm.example.com/v1"


def test_secret_from_env_and_from_a_hidden_prompt(store_url: str, canary: str) -> None:
    add_llm(store_url, KEY)
    code, out = run(store_url, "update", "llm", "--from-env", "NEW_KEY", env={"NEW_KEY": canary})
    assert code == 0 and canary not in out
    cred = _resolve(store_url, "llm")
    assert cred.api_key.get_secret_value() == canary  # type: ignore[attr-defined]
    code, out = run(store_url, "update", "llm", input=canary + "2\n")
    assert code == 0 and "api_key" in out and canary not in out
    assert _resolve(store_url, "llm").api_key.get_secret_value() == canary + "2"  # type: ignore[attr-defined]


def test_cloud_keys_change_region_keep_secret(store_url: str, canary: str) -> None:
    code, out = run(
        store_url,
        "add",
        "cloud_ak_sk",
        "aws",
        "--provider",
        "aws",
        "--access-key-id",
        "AKIAEXAMPLE0000",
        "--region",
        "us-east-1",
        "--stdin",
        input=canary + "\n\n",
    )
    assert code == 0, out
    code, out = run(store_url, "update", "aws", "--region", "eu-west-1", "--keep-secrets")
    assert code == 0, out
    cred = _resolve(store_url, "aws")
    assert isinstance(cred, acp.CloudAccessKeyCredential)
    assert cred.region == "eu-west-1" and cred.access_key_secret.get_secret_value() == canary


def test_custom_headers_new_names_are_prompted_for(store_url: str, canary: str) -> None:
    code, out = run(
        store_url, "add", "custom_headers", "h", "--headers-name", "X-One", "--stdin",
        input=canary + "\n",
    )  # fmt: skip
    assert code == 0, out
    code, out = run(
        store_url, "update", "h", "--headers-name", "X-One", "--headers-name", "X-Two", "--stdin",
        input=f"{canary}a\n{canary}b\n",
    )  # fmt: skip
    assert code == 0, out
    cred = _resolve(store_url, "h")
    assert isinstance(cred, acp.CustomHeadersCredential)
    assert {k: v.get_secret_value() for k, v in cred.headers.items()} == {
        "X-One": canary + "a",
        "X-Two": canary + "b",
    }


def test_mistakes_are_caught_before_the_prompt(store_url: str) -> None:
    add_llm(store_url, KEY)
    # no input: a prompt would abort with another message
    code, out = run(store_url, "update", "llm", "--jwks-url", "https://x.example/jwks")
    assert code == 2 and "not a field of llm (model_service)" in out and "--base-url" in out
    code, out = run(store_url, "update", "llm", "--base-url", "not a url")
    assert code == 1 and "base_url" in out and "api_key" not in out.split("Error")[-1][:10]
    code, out = run(store_url, "update", "nope", "--keep-secrets")
    assert code == 1 and "nope" in out and "agentrun-creds list" in out
    code, out = run(store_url, "update", "llm", "--set", "api_key=sk-x")
    assert code == 2 and "is secret" in out
    code, out = run(store_url, "update", "llm", "--api-key", "sk-x")
    assert code == 2 and "no such option" in out.lower()
    assert _resolve(store_url, "llm").api_key.get_secret_value() == KEY  # type: ignore[attr-defined]
