"""A canary secret of every kind never shows in any command's output (--json too) but reveal's."""

from __future__ import annotations

import json

import pytest

from agentrun_creds_plugin.cli.fields import secret_fields
from agentrun_creds_plugin.kinds import KINDS

from .helpers import add_llm, run

JWKS = json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "BBBB"}]})

#: Non-secret options for each kind; the secrets come from stdin.
ARGS: dict[str, list[str]] = {
    "api_key": ["--header-name", "X-Api-Key"],
    "jwt": ["--jwks", JWKS],
    "basic": ["--username", "svc"],
    "model_service": ["--provider", "openai"],
    "tool_api_key": ["--param", "X-Key"],
    "cloud_ak_sk": [
        "--provider",
        "aws",
        "--access-key-id",
        "AKIAEXAMPLE0000",
        "--region",
        "us-east-1",
    ],
    "custom_headers": ["--headers-name", "X-One", "--headers-name", "X-Two"],
}


def test_every_kind_is_covered() -> None:
    assert set(ARGS) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_command_prints_a_secret(store_url: str, canary: str, kind: str) -> None:
    n_secrets = max(len(secret_fields(kind)), 1) + 1
    stdin = "".join(f"{canary}{i}\n" for i in range(n_secrets))
    outputs = []
    for json_flag in ([], ["--json"]):
        name = f"c_{kind}_{len(json_flag)}"
        code, out = run(
            store_url, "add", kind, name, *ARGS[kind], "--stdin", *json_flag, input=stdin
        )
        assert code == 0, out
        outputs.append(out)
        run(store_url, "models", "add", f"m{name}", "--credential", name, "--model", "x")
        for args in (
            ["list"],
            ["show", name],
            ["attachments", name],
            ["audit"],
            ["audit", name],
            ["check", name],
            ["disable", name],
            ["enable", name],
            ["models", "list"],
            ["models", "show", f"m{name}"],
            ["update", name, "--stdin"],
            ["delete", name, "--yes"],
        ):
            code, out = run(store_url, *args, *json_flag, input=stdin)
            outputs.append(out)
            if json_flag and code == 0 and args[0] != "check":
                json.loads(out)
    for out in outputs:
        assert canary not in out
    if secret_fields(kind) and kind != "jwt":
        code, out = run(store_url, "reveal", f"c_{kind}_0", "--yes")
        assert code == 0 and canary in out


def test_reveal_needs_yes_with_json(store_url: str, canary: str) -> None:
    run(store_url, "add", "tool_api_key", "t", "--stdin", input=canary + "\n")
    code, out = run(store_url, "--json", "reveal", "t")
    assert code == 1 and canary not in out and "--yes" in out
    code, out = run(store_url, "reveal", "t", input="n\n")
    assert code == 1 and canary not in out
    code, out = run(store_url, "reveal", "t", "--json", "--yes")
    assert code == 0 and json.loads(out) == {"api_key": canary}


def test_from_env_reads_the_secret(store_url: str, canary: str) -> None:
    code, out = run(
        store_url,
        "add",
        "model_service",
        "llm",
        "--provider",
        "openai",
        "--from-env",
        "MY_KEY",
        env={"MY_KEY": canary},
    )
    assert code == 0 and canary not in out
    code, out = run(store_url, "reveal", "llm", "--yes")
    assert canary in out


def test_list_shows_the_stores_masked_preview(store_url: str) -> None:
    add_llm(store_url, "sk-test-0000000000000001")
    code, out = run(store_url, "list")
    assert code == 0 and "sk-...0001" in out and "****" not in out
    for col in ("name", "category", "kind", "enabled", "version", "attachments", "updated"):
        assert col in out
    code, out = run(store_url, "list", "--json")
    assert json.loads(out)[0]["preview"].endswith("sk-...0001")
