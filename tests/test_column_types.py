"""Column types of typed outputs: CSV text settled into numbers without losing a digit (gyroage.column_types)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from gyroage import io
from gyroage.column_types import (
    _cast,
    merge_schemas,
    number_columns,
    numbers_from_text,
    text_kinds,
    typed_chunks,
)
from gyroage.errors import UserError

GAIA = ["5290646440127895937", "5290646440127895939"]  # Gaia DR3 source_ids: distinct, ~2**62, beyond 2**53


def text_frame(*cells: str) -> pd.DataFrame:
    return pd.DataFrame({"sid": pd.Series(list(cells), dtype=object)})


def test_integers_beyond_2_53_beside_a_fraction_stay_text_whole_table():
    out = numbers_from_text(text_frame(*GAIA, "1.5", "2"), io.NA_TOKENS)
    assert out["sid"].tolist() == [*GAIA, "1.5", "2"]


@pytest.mark.parametrize("split", [1, 2, 3])
def test_integers_beyond_2_53_beside_a_fraction_stay_text_in_any_chunking(split):
    cells = [*GAIA, "1.5", "2"]
    kinds = [text_kinds(text_frame(*cells[:split]), io.NA_TOKENS), text_kinds(text_frame(*cells[split:]), io.NA_TOKENS)]
    assert "sid" not in number_columns(kinds)


def test_integers_beyond_2_53_alone_stay_exact_integers():
    out = numbers_from_text(text_frame(*GAIA, "NA"), io.NA_TOKENS)
    assert str(out["sid"].dtype) == "Int64"
    assert out["sid"].tolist()[:2] == [int(g) for g in GAIA]
    assert number_columns([text_kinds(text_frame(GAIA[0]), io.NA_TOKENS),
                           text_kinds(text_frame("2"), io.NA_TOKENS)]) == {"sid": "int"}


def test_small_integers_beside_a_fraction_are_still_floats():
    out = numbers_from_text(text_frame(str(2**53), "-9007199254740992", "1.5"), io.NA_TOKENS)
    assert out["sid"].dtype == float


def test_float64_is_never_narrowed_to_float32():
    wide = pa.chunked_array([pa.array([0.1, 1e300], pa.float64())])
    with pytest.raises(pa.ArrowInvalid):
        _cast(wide, pa.float32(), frozenset())
    narrow = pa.array([0.5], pa.float32())
    schema = merge_schemas([pa.schema([("x", pa.float32())]), pa.schema([("x", pa.float64())])],
                           lambda j: [narrow, wide.chunk(0)])
    assert schema.field("x").type == pa.float64()


def chunks_of(*tables):
    schema = merge_schemas([t.schema for t in tables], lambda j: [t.column(j) for t in tables], io.NA_TOKENS)
    return typed_chunks(schema, lambda names: (t.select(names) if names else t for t in tables), io.NA_TOKENS, True)


def test_a_float_chunk_beside_a_text_chunk_of_integers_makes_the_column_float():
    # an older run's chunk wrote the column as numbers; the new one holds CSV text
    old = pa.table({"x": pa.array([1.5, None], pa.float64())})
    new = pa.table({"x": pa.array(["2", "NA"])})
    schema, tables = chunks_of(old, new)
    assert schema.field("x").type == pa.float64()
    assert pa.concat_tables(list(tables)).column("x").to_pylist() == [1.5, None, 2.0, None]


def test_an_integer_chunk_beside_a_text_chunk_of_fractions_makes_the_column_float():
    old = pa.table({"x": pa.array([3], pa.int64())})
    new = pa.table({"x": pa.array(["2.5"])})
    schema, tables = chunks_of(old, new)
    assert schema.field("x").type == pa.float64()
    assert pa.concat_tables(list(tables)).column("x").to_pylist() == [3.0, 2.5]


def test_a_value_that_fits_no_settled_type_is_one_line():
    # whatever the merge missed: pyarrow's cast error becomes one line, not a traceback on every retry. Its hint
    # (review V7) no longer says to rerun without --resume for an older run's chunks: --resume refuses those now
    schema = pa.schema([("x", pa.int64())])
    tables = [pa.table({"x": pa.array([1.5])})]
    _, out = typed_chunks(schema, lambda names: iter(tables), io.NA_TOKENS, False)
    with pytest.raises(UserError, match=r"^column x of the output's chunks cannot be written as one type \(.*\): a "
                                        r"gyroage bug, please report it; a CSV output keeps every cell as its text$"):
        list(out)


def test_an_int64_chunk_beyond_2_53_beside_a_text_chunk_of_fractions_stays_whole():
    old = pa.table({"sid": pa.array([int(GAIA[0]), int(GAIA[1])], pa.int64())})
    new = pa.table({"sid": pa.array(["1.5", "2"])})
    schema, tables = chunks_of(old, new)
    assert schema.field("sid").type == pa.string()
    assert pa.concat_tables(list(tables)).column("sid").to_pylist() == [*GAIA, "1.5", "2"]


def test_a_text_column_is_known_without_parsing_every_cell(monkeypatch):
    # the kinds pass parsed each column whole, then the conversion parsed it again: a names column fails early now
    import gyroage.column_types as ct

    sizes = []
    real = pd.to_numeric

    def counted(values, *args, **kwargs):
        sizes.append(len(values))
        return real(values, *args, **kwargs)

    monkeypatch.setattr(ct.pd, "to_numeric", counted)
    names = text_frame(*[f"star{i}" for i in range(5000)])
    assert text_kinds(names, io.NA_TOKENS) == {"sid": "text"}
    assert max(sizes) <= 64


def test_passed_through_decimals_are_the_correctly_rounded_float_whatever_pandas_does(monkeypatch):
    """pandas < 3.1's to_numeric is not correctly rounded (0.028575905433749466 -> 0.0285759054337494): a
    passed-through column of a typed output was one float off its input text. Simulated on any pandas: one ulp off."""
    import numpy as np

    from gyroage import pandas_compat

    exact = pd.to_numeric
    monkeypatch.setattr(pd, "to_numeric", lambda arg, **kw: np.nextafter(exact(arg, **kw), np.inf))
    monkeypatch.setattr(pandas_compat, "PANDAS_BEFORE_3_1", True)
    cells = ["0.028575905433749466", "25.4", "NA", "2"]
    expect = [0.028575905433749466, 25.4, None, 2.0]
    out = numbers_from_text(text_frame(*cells), io.NA_TOKENS)["sid"]
    assert [None if np.isnan(v) else v for v in out] == expect
    _, tables = chunks_of(pa.table({"sid": pa.array(cells[:2])}), pa.table({"sid": pa.array(cells[2:])}))
    assert pa.concat_tables(list(tables)).column("sid").to_pylist() == expect
