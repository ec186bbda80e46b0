"""The exact splitter behind deeply nested files: the same records as json, any chunking."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from katarestore_tui.backup.nesting import MAX_DEPTH, ArraySplitter, DepthWatch, too_deep

tricky_text = st.text(alphabet='ab"\\[]{},: \n\u00e9', max_size=8)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=12,
)


def split(text: bytes, step: int) -> list:
    stream = io.BytesIO(text)
    splitter = ArraySplitter(lambda: stream.read(step), 0)
    spans = list(splitter)
    assert splitter.ended
    return [json.loads(s.text) for s in spans if s.text.strip()]


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(values, max_size=6), step=st.integers(1, 40), indent=st.sampled_from([None, 2]))
def test_the_splitter_finds_exactly_the_records(rows, step, indent):
    text = json.dumps(rows, indent=indent, ensure_ascii=step % 2 == 0).encode()
    assert split(text, step) == rows


def test_depth_is_measured_outside_strings():
    inside = "[" * 600
    assert not too_deep(json.dumps({"s": inside, "t": "]" * 600}).encode())
    assert too_deep(("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).encode())
    assert not too_deep(("[" * MAX_DEPTH + "]" * MAX_DEPTH).encode())


def test_the_watch_passes_ordinary_data_and_flags_deep_data():
    watch = DepthWatch()
    rows = json.dumps([{"id": i, "a": [1, {"b": [2]}]} for i in range(50_000)]).encode()
    assert not any(watch.maybe_too_deep(rows[k:k + 65536]) for k in range(0, len(rows), 65536))
    deep = ("[" * 400).encode()
    watch = DepthWatch()
    assert not watch.maybe_too_deep(deep)
    assert watch.maybe_too_deep(deep), "depth carries over from one chunk to the next"
