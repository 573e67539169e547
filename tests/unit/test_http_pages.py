"""decode_record_page: a list endpoint's records kept as the JSON text received."""

from __future__ import annotations

import orjson
import pytest

from core.http.pages import NotJson, decode_record_page


def test_records_are_the_bytes_received_and_other_fields_are_decoded() -> None:
    body = b'{"incidents": [ {"id": "A", "title": "caf\\u00e9 \xe2\x98\x95"} ,{"id":"B","n":[1, 2]}],"total":2,"more":false}'
    page = decode_record_page(body, "incidents")
    assert page.records == [b'{"id": "A", "title": "caf\\u00e9 \xe2\x98\x95"}', b'{"id":"B","n":[1, 2]}']
    assert [orjson.loads(r)["id"] for r in page.records] == ["A", "B"]
    assert page.fields == {"total": 2, "more": False} and page.total == 2


@pytest.mark.parametrize("total", [None, "12", True, 1.5])
def test_a_total_that_is_no_integer_is_none(total: object) -> None:
    assert decode_record_page(orjson.dumps({"incidents": [], "total": total}), "incidents").total is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"services": []}', "no 'incidents' list"),
        (b'{"incidents": {"id": 1}}', "no 'incidents' list"),
        (b'{"incidents": [{"id": 1}, 2]}', "other than objects"),
        (b'{"incidents": [[]]}', "other than objects"),
        (b"[1, 2]", "not a JSON object"),
    ],
)
def test_json_of_another_shape_names_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        decode_record_page(body, "incidents")
    assert not isinstance(info.value, NotJson)


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>busy</html>", b'{"incidents": [{"id": 1}', b'{"incidents": [tru]}', b'{"incidents": [{"a": "\xff\xfe"}]}'],
)
def test_a_body_that_is_not_json_is_not_json(body: bytes) -> None:
    with pytest.raises(NotJson):
        decode_record_page(body, "incidents")
