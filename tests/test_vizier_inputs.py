"""Literature tables as VizieR serves them (review V35): VOTable FIELD names, limit flags (``l_Prot``), membership
columns not read unless named, and the missing-column hints. Files are made here, small (made-up stars)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gyroage.cli import app
from tests.conftest import invoke_quiet, ok_output, one_line_error

ROWS = [("Cl A", 7.0, 1.30, 0.01, 0.20), ("Cl A", 9.0, 1.45, 0.01, 0.20), ("Cl B", 12.5, 1.25, 0.02, 0.05)]


def _votable(names: list[str], ids: list[str | None] | None = None, rows=ROWS) -> str:
    """A VOTable written as VizieR writes one: FIELD names such as ``E(BP-RP)``, IDs absent or other than the name."""
    ids = ids or [None] * len(names)
    types = ['datatype="char" arraysize="*"'] + ['datatype="double"'] * (len(names) - 1)
    fields = "".join(f'<FIELD name="{n}"{f" ID={chr(34)}{i}{chr(34)}" if i else ""} {t}/>\n'
                     for n, i, t in zip(names, ids, types))
    data = "".join("<TR>" + "".join(f"<TD>{v}</TD>" for v in row) + "</TR>\n" for row in rows)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<VOTABLE version="1.4" '
            'xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n<RESOURCE><TABLE>\n'
            f"{fields}<DATA><TABLEDATA>\n{data}</TABLEDATA></DATA>\n</TABLE></RESOURCE>\n</VOTABLE>\n")


def _csv(names: list[str], rows=ROWS) -> str:
    return ",".join(names) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)


NAMES = ["Cluster", "Prot", "BP-RP", "e_BP-RP", "E(BP-RP)"]


@pytest.fixture(scope="module")
def csv_groups() -> str:
    return ok_output(invoke_quiet("group-age", "-", "--by", "Cluster", stdin=_csv(NAMES)))


@pytest.mark.parametrize("ids", [None, ["c1", "c2", "c3", "c4", "c5"], ["Cluster", "Prot", "BP-RP", "e_BP-RP", None]])
def test_a_votable_is_read_by_its_field_names(tmp_path, csv_groups, ids):
    """E(BP-RP) was read as astropy's ID E_BP-RP_ (or c5), then taken for BP-RP's upper error: no reddening, refused."""
    (tmp_path / "t.vot").write_text(_votable(NAMES, ids))
    assert ok_output(invoke_quiet("group-age", str(tmp_path / "t.vot"), "--by", "Cluster")) == csv_groups


def test_a_votable_field_name_with_a_blank_is_the_option_and_output_name(tmp_path):
    names = ["Cluster name", "Prot", "BP-RP", "P(mem)", "E(BP-RP)"]
    (tmp_path / "t.vot").write_text(_votable(names))
    out = ok_output(invoke_quiet("group-age", str(tmp_path / "t.vot"), "--by", "Cluster name"))
    assert out.splitlines()[0].startswith("Cluster name,"), out
    res = CliRunner().invoke(app, ["group-age", str(tmp_path / "t.vot"), "--by", "Cluster name"])
    assert res.exit_code == 0 and "not reading 'P(mem)' as membership" in res.stderr, res.stderr


def test_a_votable_repeated_field_name_is_read_renamed_or_refused(tmp_path):
    (tmp_path / "t.vot").write_text(_votable(["Cluster", "Prot", "BP-RP0", "Note", "Note"],
                                             rows=[(r[0], r[1], r[2], 1.0, 2.0) for r in ROWS]))
    res = invoke_quiet("estimate", str(tmp_path / "t.vot"))
    header = ok_output(res).splitlines()[0]
    assert header.startswith("Cluster,Prot,BP-RP0,Note,Note_2,"), header
    (tmp_path / "p.vot").write_text(_votable(["Cluster", "Prot", "Prot", "BP-RP0"],
                                             rows=[r[:2] + r[1:3] for r in ROWS]))
    one_line_error(invoke_quiet("estimate", str(tmp_path / "p.vot")), "2 columns named 'Prot'")


LIMITS = "Cluster,l_Prot,Prot,BPRP0\nX,>,8.0,1.10\nX,,9.0,1.30\nX,<,2.0,1.00\nX,=,7.0,1.20\nX, ,12.5,1.10\n"


def _without(text: str, rows: tuple[int, ...] = ()) -> str:
    """``text`` without its l_Prot column (and without its data rows ``rows``, 1-based)."""
    lines = [line for i, line in enumerate(text.splitlines()) if i not in rows]
    return "".join(",".join(c for j, c in enumerate(line.split(",")) if j != 1) + "\n" for line in lines)


def test_a_vizier_limit_period_is_not_dated_as_a_measured_one():
    """l_Prot '>' or '<' (VizieR's limit flag) was ignored: the lower limit 8.0 d was dated as a period of 8.0 d."""
    rows = ok_output(invoke_quiet("estimate", "-", "--seed", "1", stdin=LIMITS)).splitlines()
    plain = ok_output(invoke_quiet("estimate", "-", "--seed", "1", stdin=_without(LIMITS))).splitlines()
    assert [r.rsplit(",", 1)[1] for r in rows[1:]] == ["period_limit", "ok", "period_limit", "ok", "ok"], rows
    assert rows[1].startswith("X,>,8.0,1.10,,"), rows[1]  # no age
    for i in (2, 4, 5):  # a blank or other flag: dated as before
        assert rows[i].split(",", 2)[2] == plain[i].split(",", 1)[1], (rows[i], plain[i])


def test_group_age_leaves_limit_periods_out_and_counts_them():
    res = CliRunner().invoke(app, ["group-age", "-", "--by", "Cluster"], input=LIMITS)
    assert res.exit_code == 0, res.output
    assert "2 of 5 members left out: period_limit 2" in res.stderr, res.stderr
    assert "'l_Prot' read as the limit flags of 'Prot'" in res.stderr, res.stderr
    measured = ok_output(invoke_quiet("group-age", "-", "--by", "Cluster", stdin=_without(LIMITS, (1, 3))))
    # the same age as from the measured periods alone; n_stars counts the limits (5), n_used not (3)
    assert res.stdout.splitlines()[1].split(",")[1:] == ["5", *measured.splitlines()[1].split(",")[2:]], res.stdout


def test_a_limit_flag_in_a_votable_is_read(tmp_path):
    rows = [("X", ">", 8.0, 1.10), ("X", "", 9.0, 1.30)]
    text = _votable(["Cluster", "l_Prot", "Prot", "BPRP0"], rows=rows).replace(
        '<FIELD name="l_Prot" datatype="double"/>', '<FIELD name="l_Prot" datatype="char" arraysize="1"/>')
    (tmp_path / "t.vot").write_text(text)
    out = ok_output(invoke_quiet("estimate", str(tmp_path / "t.vot"))).splitlines()
    assert [r.rsplit(",", 1)[1] for r in out[1:]] == ["period_limit", "ok"], out


@pytest.mark.parametrize("column", ["Prob", "Memb", "Member", "memb_prob", "membership_probability", "Mem3D", "Mem%",
                                    "MembProb"])
def test_group_age_names_more_membership_columns_it_does_not_read(column):
    """Hunt & Reffert's Prob and the like were passed over in silence: field stars counted as members, unsaid."""
    a, b = (90, 10) if column.endswith("%") else (0.9, 0.1)  # Mem% is in %, as its name says (review V61, 11)
    text = f"Cluster,Prot,BPRP0,{column}\nX,8.0,1.10,{a}\nX,9.0,1.30,{b}\n"
    res = CliRunner().invoke(app, ["group-age", "-", "--by", "Cluster"], input=text)
    assert res.exit_code == 0 and f"not reading '{column}' as membership probabilities" in res.stderr, res.stderr
    given = CliRunner().invoke(app, ["group-age", "-", "--by", "Cluster", "--membership", column], input=text)
    assert given.exit_code == 0 and "not reading" not in given.stderr, given.stderr


@pytest.mark.parametrize("header, hint", [
    ("Cluster,Per1,(BP-RP)0", "if 'Per1' is the rotation period in days, rename it Prot"),
    ("Cluster,Prot_ACF,Prot_LS,(BP-RP)0", "if one of 'Prot_ACF', 'Prot_LS' is the rotation period in days, rename it Prot"),
    ("Cluster,PACF,(BP-RP)0", "if 'PACF' is the rotation period in days"),
    ("Cluster,Pmain,(BP-RP)0", "if 'Pmain' is the rotation period in days"),
])
def test_a_missing_period_names_the_files_period_like_columns(header, hint):
    """VizieR's Per1 (first-listed period), Prot_ACF...: refused with no word that a rename would do (never read)."""
    msg = one_line_error(invoke_quiet("estimate", "-", stdin=f"{header}\nX{',7' * (header.count(',') - 1)},1.1\n"),
                         "missing required column 'prot'", hint)
    assert msg.endswith("; the file has: " + header.replace(",", ", ")), msg


@pytest.mark.parametrize("header", ["Cluster,logP,(BP-RP)0", "Cluster,e_Per,(BP-RP)0", "Cluster,Name,(BP-RP)0"])
def test_a_missing_period_names_no_log_period_or_error_as_one(header):
    msg = one_line_error(invoke_quiet("estimate", "-", stdin=header + "\nX,0.8,1.1\n"), "missing required column")
    assert "rename" not in msg, msg


@pytest.mark.parametrize("column", ["B-V", "V-Ks", "(B-V)", "V-K"])
def test_a_missing_colour_says_an_observed_b_v_or_v_ks_is_never_read(column):
    msg = one_line_error(invoke_quiet("estimate", "-", stdin=f"Prot,{column},E(B-V)\n7,0.6,0.1\n"), "missing colour")
    assert f"'{column}' is an observed colour, never read (only Gaia's BP-RP is de-reddened)" in msg, msg
    assert msg.endswith(f"; the file has: Prot, {column}, E(B-V)"), msg


@pytest.mark.parametrize("period, flags", [("Prot_d", "l_Prot"), ("Prot [d]", "l_Prot"), ("Prot (d)", "l_Prot"),
                                           ("Per_days", "l_Per"), ("Prot", "l_Prot [d]"), ("Prot", "l_Prot_d"),
                                           ("Prot_d", "l_Prot_d"), ("Prot (d)", "l_Prot [d]"),
                                           ("PROT", "L_PROT"), ("Prot", "L_Prot")])  # upper-cased (review V39a, 3)
def test_limit_flags_are_read_beside_a_period_whose_name_carries_its_unit(period, flags):
    """l_Prot beside Prot [d] or Prot_d (the period read as Prot in days) was not read: limits dated, silently."""
    text = LIMITS.replace("l_Prot,Prot,", f"{flags},{period},")
    res = CliRunner().invoke(app, ["estimate", "-", "--seed", "1"], input=text)
    assert res.exit_code == 0, res.output
    assert [r.rsplit(",", 1)[1] for r in res.stdout.splitlines()[1:]] == [
        "period_limit", "ok", "period_limit", "ok", "ok"], res.stdout
    assert f"'{flags}' read as the limit flags of '{period}'" in res.stderr, res.stderr


@pytest.mark.parametrize("period, flags", [("Prot", "l_Per"), ("Prot_d", "l_Per"), ("Prot", "l_e_Prot"),
                                           ("P_rot", "l_P")])
def test_limit_flags_of_another_column_are_not_read(period, flags):
    res = CliRunner().invoke(app, ["estimate", "-", "--seed", "1"], input=LIMITS.replace("l_Prot,Prot,", f"{flags},{period},"))
    assert res.exit_code == 0 and "period_limit" not in res.stdout and "limit flags" not in res.stderr, res.output


def test_the_rename_hint_names_the_periods_limit_and_error_columns():
    """'rename it Prot' left l_Prot1 and e_Prot1 behind: done as said, the limits were dated and the error unread."""
    header = "star,l_Prot1,Prot1,e_Prot1,E_Prot1,l_Per,BPRP_0"
    msg = one_line_error(invoke_quiet("estimate", "-", stdin=f"{header}\nX,>,7,0.1,0.1,,1.1\n"),
                         "if 'Prot1' is the rotation period in days, rename it Prot "
                         "(and its 'l_Prot1' l_Prot, 'e_Prot1' e_Prot, 'E_Prot1' E_Prot)")
    assert msg.endswith("; the file has: " + header.replace(",", ", ")), msg


def test_a_unicode_limit_sign_is_a_limit():
    """'≤' or '≥' in l_Prot was dated as a measured period (review V39a, 3)."""
    text = LIMITS.replace("X,>,", "X,\u2265,").replace("X,<,", "X,\u2264,")
    rows = ok_output(invoke_quiet("estimate", "-", "--seed", "1", stdin=text)).splitlines()
    assert [r.rsplit(",", 1)[1] for r in rows[1:]] == ["period_limit", "ok", "period_limit", "ok", "ok"], rows


def test_an_upper_cased_limit_column_is_named_in_the_rename_hint():
    """'rename it Prot (and its 'E_PROT1' E_Prot)' left L_PROT1 behind (review V39a, 3)."""
    one_line_error(invoke_quiet("estimate", "-", stdin="name,PROT1,L_PROT1,E_PROT1,bp_rp0\nA,7,<,0.1,1.1\n"),
                   "rename it Prot (and its 'L_PROT1' l_Prot, 'E_PROT1' E_Prot)")


@pytest.mark.parametrize("flags", [("l_Prot", "l_Prot"), ("l_Prot", "l_PROT"), ("l_Prot", "l_Prot [d]")])
def test_a_repeated_limit_column_is_refused_as_a_repeated_period_is(tmp_path, flags):
    """Two l_Prot FIELDs: the first was read unsaid (review V37, 6), where two Prot are refused in one line."""
    rows = [("X", ">", "", 8.0, 1.10), ("X", "", ">", 9.0, 1.30)]
    text = _votable(["Cluster", *flags, "Prot", "BPRP0"], rows=rows)
    for name in flags:
        text = text.replace(f'<FIELD name="{name}" datatype="double"/>',
                            f'<FIELD name="{name}" datatype="char" arraysize="*"/>')
    (tmp_path / "t.vot").write_text(text)
    one_line_error(invoke_quiet("estimate", str(tmp_path / "t.vot")), f"'{flags[0]}'", "rename all but one")
    csv = "Cluster," + ",".join(flags) + ",Prot,BPRP0\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)
    one_line_error(invoke_quiet("estimate", "-", stdin=csv), f"'{flags[0]}'", "rename all but one")


@pytest.mark.parametrize("name_id, header", [('name="" ID="Cluster"', "Cluster,"), ('name=""', "col1,")])
def test_a_votable_field_with_an_empty_name_is_read_by_its_id(tmp_path, csv_groups, name_id, header):
    """A FIELD name="" with an ID was read by its ID before FIELD names were read (review V37, 8); now refused as
    "cannot read ... as votable: ''". Without an ID it is named col1 (its place), as astropy names such a column."""
    text = _votable(NAMES).replace('name="Cluster"', name_id)
    (tmp_path / "t.vot").write_text(text)
    out = ok_output(invoke_quiet("estimate", str(tmp_path / "t.vot")))
    assert out.startswith(header), out
    if header == "Cluster,":
        assert ok_output(invoke_quiet("group-age", str(tmp_path / "t.vot"), "--by", "Cluster")) == csv_groups


@pytest.mark.parametrize("header", ["Cluster,Perr,(BP-RP)0", "Cluster,Per_flag,(BP-RP)0", "Cluster,pm,(BP-RP)0",
                                    "Cluster,Prot_err,(BP-RP)0", "Cluster,PerFlag,(BP-RP)0"])
def test_a_missing_period_names_no_period_error_flag_or_proper_motion_as_one(header):
    """The hint offered 'Perr' (a period's error), 'Per_flag' and 'pm' (a proper motion) as the period (review V37, 7)."""
    msg = one_line_error(invoke_quiet("estimate", "-", stdin=header + "\nX,0.8,1.1\n"), "missing required column")
    assert "rename" not in msg, msg
