"""The core's pydantic fence (``agentrun_creds_plugin._compat``) still matches pydantic."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr

from agentrun_creds_plugin import _compat, codec


class Sample(BaseModel):
    name: str
    key: SecretStr
    note: str | None = None


def test_pydantic_keeps_instance_state_in_the_fenced_attributes() -> None:
    validated = Sample(name="a", key=SecretStr("s"))
    for attr in _compat.PYDANTIC_STATE:
        assert attr in dir(validated) or hasattr(validated, attr), attr


def test_construct_validated_is_indistinguishable_from_validation() -> None:
    validated = Sample.model_validate({"name": "a", "key": "s"})
    built = _compat.construct_validated(
        Sample, dict(validated.__dict__), frozenset(validated.model_fields_set)
    )
    assert built == validated
    assert built.model_dump() == validated.model_dump()
    assert built.model_fields_set == validated.model_fields_set
    assert built.model_copy(update={"note": "n"}).note == "n"
    assert repr(built) == repr(validated) and "s'" not in repr(built)
    assert built.model_dump_json() == validated.model_dump_json()


def test_codec_uses_the_fence() -> None:
    assert vars(codec)["construct_validated"] is _compat.construct_validated
