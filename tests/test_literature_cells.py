"""Literature tables as group-age meets them (review V61): numbers with Unicode blanks around them, membership
columns whose header carries its unit or whose cells are true/false, upper-cased tables, cluster columns under
VizieR's names. Files are made here, small."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from gyroage import io as gio
from tests.conftest import invoke_quiet, ok_output, one_line_error

PLAIN = "Cluster,Prot,(BP-RP)0\nX,7.0,1.10\nX,9.0,1.30\nY,12.5,1.10\n"
AGES = ["age_p16_myr", "age_p50_myr", "age_p84_myr"]


def _table(res) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(ok_output(res)), dtype=str, keep_default_na=False)


@pytest.mark.parametrize("blank", ["\u00a0", "\u2009", "\u202f", "\u2007", "\u3000"])
def test_a_number_with_a_unicode_blank_around_it_is_read_as_the_number(blank):
    """'7.0\\u00a0' (a cell copied from a PDF or HTML table) was invalid_period: pandas strips ASCII blanks only."""
    text = PLAIN.replace("7.0", "7.0" + blank).replace("1.30", blank + "1.30").replace("12.5", blank + "12.5" + blank)
    plain = _table(invoke_quiet("estimate", "-", "--seed", "1", stdin=PLAIN))
    got = _table(invoke_quiet("estimate", "-", "--seed", "1", stdin=text))
    assert (got["status"] == "ok").all(), got["status"].tolist()
    pd.testing.assert_frame_equal(got[AGES], plain[AGES])
    want = ok_output(invoke_quiet("group-age", "-", "--by", "Cluster", stdin=PLAIN))
    assert ok_output(invoke_quiet("group-age", "-", "--by", "Cluster", stdin=text)) == want


@pytest.mark.parametrize("before_3_1", [False, True])
def test_unicode_blanks_are_stripped_where_cells_become_numbers(monkeypatch, before_3_1):
    """The one parser of text cells (io.numeric -> pandas_compat.to_floats), under either pandas path."""
    from gyroage import pandas_compat

    monkeypatch.setattr(pandas_compat, "PANDAS_BEFORE_3_1", before_3_1)
    cells = ["5.2\u00a0", "\u20095.2", " 7.5 ", "\u202f1e3\u00a0", "x\u00a0", "", None, "\u00a0", "5.2\u200b"]
    frame = pd.DataFrame({"prot": pd.Series(cells, dtype=object)})
    np.testing.assert_array_equal(gio.numeric(frame, "prot"), [5.2, 5.2, 7.5, 1e3] + [np.nan] * 5)
    assert gio.unparsed(frame, "prot").tolist() == [False] * 4 + [True, False, False, False, True]


MEMBERS = "Cluster,Prot,(BP-RP)0,{name}\n{units}X,7.0,1.10,{a}\nX,9.0,1.30,{b}\nX,12.5,1.10,{c}\nY,12.5,1.10,{c}\n"


def _group_age(text: str, *args: str, quiet: bool = True):
    from typer.testing import CliRunner

    from gyroage.cli import app

    return CliRunner().invoke(app, ["group-age", "-", "--by", "Cluster", *args, *(["-q"] if quiet else [])],
                              input=text)


@pytest.fixture(scope="module")
def fraction_ages() -> str:
    """The ages with the memberships as fractions (0.9, 0.4, 1): what a % column must give."""
    text = MEMBERS.format(name="PMem", units="", a=0.9, b=0.4, c=1)
    return ok_output(_group_age(text, "--membership", "PMem"))


@pytest.mark.parametrize("name, plain", [("PMem (%)", "PMem"), ("PMem [%]", "PMem"), ("PMem%", "PMem"),
                                         ("Mem%", "Mem"), ("Mem_%", "Mem"), ("PMem(%)", "PMem")])
@pytest.mark.parametrize("units", ["", ",,,%\n"])
def test_a_membership_whose_name_carries_percent_is_read_as_a_percentage(fraction_ages, name, plain, units):
    """'PMem (%)' was refused ("values up to 100 (above 1)") and '--membership PMem' did not find it (review V61, 11):
    the name's % is its unit, as a units row's % is (read once, with the units row's % too), said even with -q."""
    text = MEMBERS.format(name=name, units=units, a=90, b=40, c=100)
    for given in (name, plain):
        res = _group_age(text, "--membership", given)
        assert ok_output(res) == fraction_ages, res.stderr
        assert f"gyroage: converted column '{name}' from % to fraction" in res.stderr.splitlines(), res.stderr


@pytest.mark.parametrize("name, option", [("PMem (%)", "PMem"), ("Mem%", "Mem"), ("PMem [%]", "PMem")])
def test_the_unread_membership_note_names_a_percent_column_and_an_option_that_reads_it(fraction_ages, name, option):
    """'PMem (%)' was not noticed at all; of 'Mem%' the note advised '--membership Mem%', which was then refused."""
    text = MEMBERS.format(name=name, units="", a=90, b=40, c=100)
    res = _group_age(text, quiet=False)
    note = [line for line in res.stderr.splitlines() if "as membership probabilities" in line]
    assert note == [f"group-age: not reading '{name}' as membership probabilities (every member counts once): "
                    f"give --membership {option} (read in %, as its name says)"], res.stderr
    assert ok_output(_group_age(text, "--membership", option)) == fraction_ages


def test_a_percent_name_over_fractions_is_refused():
    """'PMem (%)' holding 0-1 is a probability mislabelled or a percentage below 1% for every star: neither read."""
    text = MEMBERS.format(name="PMem (%)", units="", a=0.9, b=0.4, c=1)
    one_line_error(_group_age(text, "--membership", "PMem"),
                   "column 'PMem (%)' names the unit %, but no value is above 1")


@pytest.mark.parametrize("given", ["PMem", "PMem (%)"])
def test_a_percent_column_above_100_is_refused_in_its_own_percent(given):
    """'PMem (%)' with one value of 100.4 was refused as "values up to 1.004 (above 1): ... (a percentage: divide by
    100)" (review V65, 12): the file holds 100.4, already read in %, and a second division would make it 0.01."""
    text = MEMBERS.format(name="PMem (%)", units="", a=100.4, b=40, c=100)
    line = one_line_error(_group_age(text, "--membership", given))
    assert line == (f"gyroage: error: --membership {given}: column 'PMem (%)', read in % as its name says, has values "
                    "up to 100.4% (above 100%): give percentages 0-100"), line


@pytest.mark.parametrize("yes, no", [("True", "False"), ("true", "false"), ("TRUE", " FALSE ")])
def test_a_true_false_membership_is_read_as_one_and_zero(tmp_path, yes, no):
    """A boolean member flag was read from a FITS logical column but refused from the same table as CSV ("holds no
    numbers (e.g. 'False')", review V61, 12): True/False, as pandas and astropy write one, is 1/0 (as the
    catalogue's quality flags are read); Y/N stays refused."""
    from astropy.table import Table

    ones = MEMBERS.format(name="Mem", units="", a=1, b=0, c=1)
    want = ok_output(_group_age(ones, "--membership", "Mem"))
    text = MEMBERS.format(name="Mem", units="", a=yes, b=no, c=yes)
    assert ok_output(_group_age(text, "--membership", "Mem")) == want
    note = [line for line in _group_age(text, quiet=False).stderr.splitlines() if "membership probabilities" in line]
    assert note and note[0].endswith("give --membership Mem"), note
    table = Table.read(ones, format="ascii.csv")
    table["Mem"] = table["Mem"].astype(bool)
    table.write(tmp_path / "m.fits")
    res = invoke_quiet("group-age", str(tmp_path / "m.fits"), "--by", "Cluster", "--membership", "Mem")
    assert ok_output(res) == want
    one_line_error(_group_age(MEMBERS.format(name="Mem", units="", a="Y", b="N", c="Y"), "--membership", "Mem"),
                   "holds no numbers (e.g. 'Y')")


UPPER = "CLUSTER,PROT,BP_RP,E_BP_RP,{red}\nX,7.0,1.20,0.008,{v}\nX,9.0,1.40,0.008,{v}\nY,12.5,1.20,0.008,{v}\n"


@pytest.mark.parametrize("red, v", [("EBV", 0.05), ("AV", 0.15), ("A0", 0.15)])
@pytest.mark.parametrize("command", ["estimate", "group-age"])
def test_an_upper_cased_colour_error_beside_a_reddening_is_refused(command, red, v):
    """'E_BP_RP' in a table of upper-case names was read as the reddening E(BP-RP), 'EBV' left unread, though there it
    is most likely the upper-cased e_BP_RP, the colour's error (review V61, 3): the colour error became the whole
    de-reddening. Both readings are said, and how to rename."""
    by = ["--by", "CLUSTER"] if command == "group-age" else []
    line = one_line_error(invoke_quiet(command, "-", *by, stdin=UPPER.format(red=red, v=v)))
    assert line == (f"gyroage: error: 'E_BP_RP' may be the error of BP_RP (an upper-cased e_BP_RP) or the reddening "
                    f"E(BP-RP), and '{red}' is a reddening too: rename it e_BP_RP (an error) or EBPRP (the reddening)")
    for rename in ("e_BP_RP", "EBPRP"):  # either renaming is read
        ok_output(invoke_quiet(command, "-", *by, stdin=UPPER.format(red=red, v=v).replace("E_BP_RP", rename)))


def test_an_upper_cased_e_alone_is_still_the_reddening():
    ok_output(invoke_quiet("group-age", "-", "--by", "CLUSTER", stdin=UPPER.replace(",{red}", "").replace(",{v}", "")))


REFUSED = "'E_BP_RP' may be the error of BP_RP"


@pytest.mark.parametrize("extra", ["source_id", "Cluster_name", "parallax"])
def test_a_lower_case_column_elsewhere_does_not_lift_the_upper_case_refusal(extra):
    """One lower-case column anywhere (Gaia's source_id from a cross-match) turned the refusal off, and the upper-cased
    e_BP_RP (the colour's error, 0.008) was again the whole de-reddening, EBV unread (review V65, 6): the case is
    judged from the colour and its E_ column, BP_RP beside E_BP_RP."""
    rows = UPPER.format(red="EBV", v=0.05).splitlines()
    text = "".join(f"{row},{extra if i == 0 else i}\n" for i, row in enumerate(rows))
    for command, by in (("estimate", []), ("group-age", ["--by", "CLUSTER"])):
        one_line_error(invoke_quiet(command, "-", *by, stdin=text), "'E_BP_RP' may be the error of BP_RP")


@pytest.mark.parametrize("old, new", [
    ("BP_RP,", "bp_rp,"), ("BP_RP,E_BP_RP", "Bp_Rp,E_Bp_Rp"),  # mixed case: as ambiguous (review V67; the case
    # of the names was the rule before, and these were dated with the colour's error as the reddening)
    ("PROT,BP_RP,E_BP_RP,EBV", "PROT,BP_RP [mag],E_BP_RP [mag],EBV [mag]"),  # a unit's 'mag' lifted it (V67, 1)
    ("PROT,BP_RP,E_BP_RP,EBV", "PROT,BP_RP_mag,E_BP_RP_mag,EBV"),
    ("PROT,BP_RP,E_BP_RP,EBV", "PROT,BP-RP,E_BP_RP (mag),EBV"),
])
def test_an_e_colour_beside_its_colour_and_a_reddening_is_refused_whatever_the_case_or_unit(old, new):
    text = UPPER.format(red="EBV", v=0.05).replace(old, new, 1)
    for command, by in (("estimate", []), ("group-age", ["--by", "CLUSTER"])):
        line = one_line_error(invoke_quiet(command, "-", *by, stdin=text), "may be the error of", "rename it e_")
        assert "'EBV" in line and "E(BP-RP)" in line.upper(), line


def test_a_unit_stays_in_the_renames():
    text = UPPER.format(red="EBV [mag]", v=0.05).replace("BP_RP,E_BP_RP", "BP_RP [mag],E_BP_RP [mag]")
    line = one_line_error(invoke_quiet("estimate", "-", stdin=text))
    assert line.endswith("rename it e_BP_RP [mag] (an error) or EBPRP [mag] (the reddening)"), line


@pytest.mark.parametrize("unit", ["", " [mag]"])
def test_a_colour_named_in_parentheses_is_not_doubled_in_the_reddening_it_may_be(unit):
    """Review leftover (FW9a, 6): a colour named '(BP-RP)' beside 'E_(BP-RP)' and a reddening was refused naming "the
    reddening E((BP-RP))"; the colour's own parentheses are the reddening's."""
    text = UPPER.format(red="EBV", v=0.05).replace("BP_RP,E_BP_RP", f"(BP-RP){unit},E_(BP-RP){unit}")
    for command, by in (("estimate", []), ("group-age", ["--by", "CLUSTER"])):
        line = one_line_error(invoke_quiet(command, "-", *by, stdin=text))
        assert line == (f"gyroage: error: 'E_(BP-RP){unit}' may be the error of (BP-RP){unit} (an upper-cased "
                        f"e_(BP-RP)) or the reddening E(BP-RP), and 'EBV' is a reddening too: rename it "
                        f"e_(BP-RP){unit} (an error) or E(BPRP){unit} (the reddening)"), line
        for rename in ("e_(BP-RP)", "E(BPRP)"):  # either renaming is read
            ok_output(invoke_quiet(command, "-", *by, stdin=text.replace("E_(BP-RP)", rename)))


@pytest.mark.parametrize("option", ["--ebv", "--av", "--ebprp"])
def test_an_e_colour_beside_a_reddening_option_is_refused(option):
    """With --ebv 0.05 the option was passed over on every row and E_BP_RP (0.008, most likely the colour's error)
    was the whole de-reddening: cl300 234 Myr for 294 (review V67, 3)."""
    text = UPPER.replace(",{red}", "").replace(",{v}", "")
    for command, by in (("estimate", []), ("group-age", ["--by", "CLUSTER"])):
        line = one_line_error(invoke_quiet(command, "-", *by, option, "0.05", stdin=text), REFUSED)
        assert f"and {option} is a reddening too: rename it e_BP_RP" in line, line
    ok_output(invoke_quiet("estimate", "-", "--ebv", "0.05", stdin=text.replace("E_BP_RP", "e_BP_RP")))
    import gyroage
    from gyroage.core.colours import Reddening
    from gyroage.errors import UserError

    model = gyroage.AgeModel.load()
    with pytest.raises(UserError, match=REFUSED):  # the API's Reddening as the option
        gyroage.group_ages(pd.read_csv(io.StringIO(text)), model.density, "CLUSTER", model.default_prior,
                           reddening=Reddening(ebv=0.05))


UPPER0 = ("CLUSTER,PROT,BP_RP0,BP_RP,E_BP_RP,EBV\nX,7.0,1.15,1.20,0.008,0.05\nX,9.0,1.35,1.40,0.008,0.05\n"
          "Y,12.5,1.15,1.20,0.008,0.05\n")


def test_an_e_colour_is_refused_by_the_names_before_any_row_even_with_bp_rp0_on_every_row(tmp_path):
    """The refusal was decided per row: with --chunksize 1 a run wrote three dated stars to stdout and stopped with
    exit 2 (review V67, 9), a star with no colour at all refused a table whose BP_RP0 fills every other row (4), and
    plot sequence --data plotted rows de-reddened by the colour's error (2). Now by the names, up front, everywhere;
    a BP_RP0 on every row is refused too, one rename away. (Before: that table was dated from BP_RP0, review V65, 1.)"""
    import gyroage
    from gyroage.errors import UserError

    late = UPPER0.replace("9.0,1.35", "9.0,").replace("12.5,1.15", "12.5,")  # BP_RP0 on the first row only
    for text in (UPPER0, late):
        for command, by in (("estimate", ["--chunksize", "1"]), ("group-age", ["--by", "CLUSTER"])):
            res = invoke_quiet(command, "-", *by, stdin=text)
            # said whatever the rows hold (the late table's BP_RP0 is blank in most): the names decide, not the rows
            assert one_line_error(res, REFUSED).endswith("(refused by the names, whatever 'BP_RP0' holds: renaming "
                                                         "one column is all it takes)")
            assert res.stdout == ""
        ok_output(invoke_quiet("estimate", "-", "--chunksize", "1", stdin=text.replace("E_BP_RP", "e_BP_RP")))
    (tmp_path / "late.csv").write_text(late)
    one_line_error(invoke_quiet("plot", "sequence", "--data", str(tmp_path / "late.csv"), "-o",
                                str(tmp_path / "s.png")), REFUSED)
    assert not (tmp_path / "s.png").exists()
    model = gyroage.AgeModel.load()
    frame = pd.read_csv(io.StringIO(UPPER0))
    with pytest.raises(UserError, match=REFUSED):
        gyroage.group_ages(frame, model.density, "CLUSTER", model.default_prior)
    with pytest.raises(UserError, match=REFUSED):
        model.estimate(frame)


def test_the_api_refuses_an_upper_cased_colour_error_beside_a_reddening():
    import gyroage
    from gyroage.errors import UserError

    model = gyroage.AgeModel.load()
    frame = pd.read_csv(io.StringIO(UPPER.format(red="EBV", v=0.05)))
    with pytest.raises(UserError, match="'E_BP_RP' may be the error of BP_RP"):
        gyroage.group_ages(frame, model.density, "CLUSTER", model.default_prior)
    with pytest.raises(UserError, match="'E_BP_RP' may be the error of BP_RP"):
        model.estimate(frame)


@pytest.mark.parametrize("name", ["OCl", "ClName", "Cl_Name", "Clusters", "Cl", "Cl.", "Group_ID", "OCL"])
def test_a_cluster_column_under_a_vizier_name_is_not_pooled_without_by(name):
    """Without --by, 'OCl', 'ClName', 'Clusters' holding six clusters were pooled into one age, status ok (review
    V61, 6): refused as 'Cluster' is."""
    text = PLAIN.replace("Cluster", name)
    one_line_error(invoke_quiet("group-age", "-", stdin=text),
                   f"column '{name}' holds 2 groups ('X', 'Y'): give --by {name} to date each")
    ok_output(invoke_quiet("group-age", "-", "--by", name, stdin=text))
