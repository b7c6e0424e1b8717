"""Column names as literature tables and VizieR spell them: the e_ prefix, brackets, units in names, which columns a
run reads. Files are made here, one or two stars each."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from gyroage import io
from gyroage.cli import app
from gyroage.columns import duplicate_notes
from gyroage.errors import UserError
from tests.conftest import ROOT, needs_dask, needs_matplotlib, one_line_error, run_cli

AGES = ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr", "age_map_myr", "p_outlier",
        "age_flags", "status"]

# How the reading line names the colour-dependent E(BP-RP)/A_0 of A_V and E(B-V) (gyroage.core.colours.K_NOTE)
K_NOTE = ("(k = E(BP-RP)/A_0 of the Gaia EDR3 extinction law at the star's (BP-RP)0 and A_0: 0.424 at the Sun's "
          "colour, 0.391 for M dwarfs, at A_0 -> 0)")


def run(*args: str, stdin: str | None = None, quiet: bool = True):
    return CliRunner().invoke(app, [*args, *(["-q"] if quiet else [])], input=stdin)


def table(res) -> list[dict[str, str]]:
    assert res.exit_code == 0, (res.exit_code, res.output)
    lines = res.stdout.splitlines()
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","))) for line in lines[1:]]


def ages(text: str) -> list[list[str]]:
    return [[row[a] for a in AGES] for row in table(run("estimate", "-", stdin=text))]


REPRO = "cluster,Prot,BP-RP,e_BP-RP,E(B-V)\nX,7.0,1.10,0.005,0.16\n"


def test_e_prefixed_observed_colour_is_its_error_not_the_reddening():
    """e_BP-RP was read as E(BP-RP) (names compared without '_', '-' and case): the star was de-reddened by its colour
    error, 0.005 mag, and the table's E(B-V) ignored."""
    row = table(run("estimate", "-", stdin=REPRO))[0]
    assert row["colour_source"] == "bp_rp-ebv"
    assert float(row["ebprp_used"]) == pytest.approx(0.16 * 1.3051, abs=1e-3)
    assert io.match_columns(["Prot", "BP-RP", "e_BP-RP", "E(B-V)"]) == {
        "prot": "Prot", "bp_rp": "BP-RP", "bp_rp_err": "e_BP-RP", "ebv": "E(B-V)"}
    # 0.005 mag is the colour's error (clipped to the trained range), not the default
    default = table(run("estimate", "-", stdin=REPRO.replace(",e_BP-RP", "").replace("1.10,0.005", "1.10")))[0]
    assert float(row["bp_rp0_err_used"]) < float(default["bp_rp0_err_used"])


def test_an_e_prefixed_colour_without_a_reddening_is_refused_and_options_apply():
    no_red = "Prot,BP-RP,e_BP-RP\n7.0,1.10,0.005\n"
    one_line_error(run("estimate", "-", stdin=no_red), "found BP-RP but no reddening", "'e_BP-RP' is the error")
    row = table(run("estimate", "-", "--ebv", "0.16", stdin=no_red))[0]
    assert row["colour_source"] == "bp_rp-ebv" and row["ebprp_used"] == table(run("estimate", "-", stdin=REPRO))[0][
        "ebprp_used"]


@pytest.mark.parametrize("header", ["prot,bp_rp0,e_bp_rp,e_bp_rp_err", "prot,bp_rp0,e_BPRP,ebprp_err",
                                    "prot,bp_rp0,E(BP-RP),e_bp_rp_err"])
def test_a_de_reddened_colour_whose_reddening_error_was_read_under_the_old_e_rule_is_refused(header):
    """bp_rp0 with E(BP-RP) and its error adds the error to the colour's; e_bp_rp and e_bp_rp_err were that pair
    before e_ meant 'the error of'. Dropping the error quietly would change the ages: refused, saying why."""
    one_line_error(run("estimate", "-", stdin=header + "\n7.0,1.1,0.1,0.05\n"), "E(BP-RP)", "e_", "rename")
    assert ages("prot,bp_rp0,E(BP-RP),e_E(BP-RP)\n7.0,1.1,0.1,0.05\n") == \
        ages("prot,bp_rp0,ebprp,ebprp_err\n7.0,1.1,0.1,0.05\n")  # the VizieR spelling of the same pair


@pytest.mark.parametrize("name, canon", [
    ("e_BP-RP", "bp_rp_err"), ("e_(BP-RP)0", "bp_rp0_err"), ("e_E(B-V)", "ebv_err"), ("e_Prot", "prot_err"),
    ("e_b_v0", "b_v0_err"), ("e_bp_rp", "bp_rp_err"), ("e_E(BP-RP)", "ebprp_err"), ("e_ebprp", "ebprp_err"),
    ("e_Plx", "parallax_err"), ("e_Teff", "teff_err"), ("E(BP-RP)", "ebprp"), ("E_BP-RP", "ebprp"),
    ("EBV", "ebv"), ("E(B-V)", "ebv"), ("ebprp", "ebprp"), ("e_b_v", None), ("e_g0", None), ("e_e_Prot", None)])
def test_the_e_prefix_means_the_error_of_the_named_column(name, canon):
    assert io.match_columns([name]) == ({canon: name} if canon else {})


@pytest.mark.parametrize("columns, found", [
    (["BP-RP", "e_BP-RP", "E_BP-RP"], {"bp_rp": "BP-RP", "bp_rp_err": "e_BP-RP", "bp_rp_err_upper": "E_BP-RP"}),
    (["BP-RP", "E_BP-RP", "e_BP-RP"], {"bp_rp": "BP-RP", "bp_rp_err": "e_BP-RP", "bp_rp_err_upper": "E_BP-RP"}),
    (["BPRP_0", "E_BPRP_0", "e_BPRP_0"], {"bp_rp0": "BPRP_0", "bp_rp0_err": "e_BPRP_0",
                                          "bp_rp0_err_upper": "E_BPRP_0"}),
    (["Teff", "e_Teff", "E_Teff"], {"teff": "Teff", "teff_err": "e_Teff", "teff_err_upper": "E_Teff"}),
    (["BP-RP", "E_BP-RP"], {"bp_rp": "BP-RP", "ebprp": "E_BP-RP"}),  # alone: the reddening (README)
    # the period's too (VizieR's e_Prot/E_Prot); E_Prot alone stays the period's error, as before
    (["Prot", "E_Prot", "e_Prot"], {"prot": "Prot", "prot_err": "e_Prot", "prot_err_upper": "E_Prot"}),
    (["Per [h]", "e_Per [h]", "E_Per [h]"], {"prot": "Per [h]", "prot_err": "e_Per [h]", "prot_err_upper": "E_Per [h]"}),
    (["Prot", "E_Prot"], {"prot": "Prot", "prot_err": "E_Prot"}),
    # an E_X is averaged only with its own e_X, read first: else the first error column is read (the period's rule)
    (["BP-RP", "sigma_bp_rp", "e_BP-RP", "E_BP-RP"], {"bp_rp": "BP-RP", "bp_rp_err": "sigma_bp_rp"}),
    (["Teff", "teff_err", "E_Teff", "e_Teff"], {"teff": "Teff", "teff_err": "teff_err"}),
    (["bp_rp0", "bp_rp0_err", "e_(BP-RP)0", "E_(BP-RP)0"], {"bp_rp0": "bp_rp0", "bp_rp0_err": "bp_rp0_err"}),
])
def test_vizier_upper_error_beside_its_lower_error_is_the_upper_error(columns, found):
    """VizieR's E_X beside e_X is X's upper error (e_X the lower): for a colour, never a reddening."""
    assert io.match_columns(columns) == found


def test_every_e_prefixed_alias_is_the_error_of_its_value():
    """The alias lists' e_ spellings (read as the rest's error) name the list they are in."""
    wrong = {a: io.match_columns([a]) for canon, names in io.ALIASES.items() for a in names
             if a.startswith("e_") and io.match_columns([a]) != {canon: a}}
    assert not wrong, wrong


PLAIN = "prot,bp_rp0\n7.0,1.10\n25.4,0.82\n"


@pytest.mark.parametrize("header", ["Prot [d],bp_rp0", "prot,(BP-RP)0 [mag]", "P_rot [d],bp_rp0", "Prot[d],bp_rp0",
                                    "Prot [ d ],(BP-RP)0[mag]"])
def test_square_brackets_are_ignored_like_round_ones(header):
    assert ages(header + "\n" + PLAIN.split("\n", 1)[1]) == ages(PLAIN)


def test_a_teff_in_square_brackets_is_read():
    assert ages("prot,Teff [K]\n7.0,5000\n") == ages("prot,teff\n7.0,5000\n")


@pytest.mark.parametrize("header, scale", [
    ("Per (d)", 1), ("Period (d)", 1), ("Prot (day)", 1), ("Period_d", 1), ("Period_days", 1), ("rotation_period [days]", 1),
    ("Prot [h]", 24), ("Per (hr)", 24), ("Period_h", 24), ("Prot (hours)", 24)])
def test_a_unit_in_the_name_works_on_every_period_alias(header, scale):
    """Prot (d) was an alias of its own; Per (d), Period (d), Prot (day) and Period_d were refused as missing."""
    text = f"{header},bp_rp0,e_{header}\n" + "".join(
        f"{p * scale:g},{c},{0.5 * scale:g}\n" for p, c in ((7.0, 1.10), (25.4, 0.82)))
    assert ages(text) == ages("prot,bp_rp0,prot_err\n7.0,1.10,0.5\n25.4,0.82,0.5\n")
    assert set(io.match_columns(text.splitlines()[0].split(","))) == {"prot", "bp_rp0", "prot_err"}


def test_a_unit_in_the_name_converts_colours_and_parallaxes():
    assert ages("prot,(BP-RP)0 [mmag],e_(BP-RP)0 [mmag]\n7.0,1100,20\n") == \
        ages("prot,bp_rp0,bp_rp0_err\n7.0,1.1,0.02\n")
    assert io.column_role("plx [arcsec]").scale == 1e3 and io.column_role("Teff (K)").name == "teff"


@pytest.mark.parametrize("header, words", [("Prot [mag],bp_rp0", ["'Prot [mag]'", "'mag'", "days"]),
                                           ("prot,(BP-RP)0 [d]", ["'(BP-RP)0 [d]'", "mag"]),
                                           ("prot,Teff (mag)", ["'Teff (mag)'", "K"])])
def test_a_unit_of_another_quantity_in_the_name_is_refused(header, words):
    one_line_error(run("estimate", "-", stdin=header + "\n7.0,1.1\n"), *words)


@pytest.mark.parametrize("name", ["P (d)", "P", "Prot_min", "Prot (lit)", "Prot_ref"])
def test_ambiguous_names_are_not_read_as_the_period(name):
    assert "prot" not in io.match_columns([name])


def test_an_astropy_unit_and_the_name_agree_or_are_refused(tmp_path):
    from astropy.table import Table

    t = Table({"Prot [h]": [168.0], "bp_rp0": [1.1]})
    t["Prot [h]"].unit = "h"
    t.write(tmp_path / "h.ecsv")
    assert [[r[a] for a in AGES] for r in table(run("estimate", str(tmp_path / "h.ecsv")))] == ages(
        "prot,bp_rp0\n7.0,1.1\n")  # converted once, not twice
    t["Prot [h]"].unit = "d"
    t.write(tmp_path / "d.ecsv")
    one_line_error(run("estimate", str(tmp_path / "d.ecsv")), "'Prot [h]'", "'d'", "'h'")


def notices(res) -> list[str]:
    assert res.exit_code == 0, (res.exit_code, res.output)
    return [line for line in res.stderr.splitlines() if " | " not in line]  # not the progress lines


def test_several_columns_of_one_quantity_are_named_on_stderr():
    """The first is used, as before; Period was used over Prot without a word."""
    text = "Cluster,Period,Prot,(BP-RP)0\nX,3.5,7.0,1.10\n"
    got = notices(run("estimate", "-", stdin=text, quiet=False))
    assert "estimate: several columns are prot: using 'Period', ignoring 'Prot'" in got
    assert table(run("estimate", "-", stdin=text))[0]["age_p50_myr"] == \
        table(run("estimate", "-", stdin="prot,bp_rp0\n3.5,1.10\n"))[0]["age_p50_myr"]
    group = notices(run("group-age", "-", "--by", "Cluster", stdin=text, quiet=False))
    assert "group-age: several columns are prot: using 'Period', ignoring 'Prot'" in group
    assert run("group-age", "-", "--by", "Cluster", stdin=text).stderr == ""  # -q: nothing


def test_which_columns_are_read_is_said_once():
    text = "cluster,Per,BP-RP,e_BP-RP,E(B-V)\nX,7.0,1.10,0.02,0.16\nX,8.0,1.2,0.02,0.16\n"
    line = ("reading prot from 'Per' (d), colour from 'BP-RP' (error 'e_BP-RP') - 3.16k x 'E(B-V)' " + K_NOTE)
    assert notices(run("estimate", "-", "--chunksize", "1", stdin=text, quiet=False)) == [f"estimate: {line}"]
    assert notices(run("group-age", "-", "--by", "cluster", stdin=text, quiet=False))[0] == f"group-age: {line}"
    got = notices(run("estimate", "-", stdin="Prot [h],(BP-RP)0,BP-RP,A_V,Teff\n168,,1.2,0.1,\n", quiet=False))
    assert got == ["estimate: reading prot from 'Prot [h]' (h, converted to days), colour from '(BP-RP)0', "
                   f"else 'BP-RP' - k x 'A_V' {K_NOTE}, else 'Teff' where 'BP-RP' is blank"]
    got = notices(run("estimate", "-", "--ebprp", "0.1", stdin="Prot,BP-RP\n7,1.2\n", quiet=False))
    assert got == ["estimate: reading prot from 'Prot' (d), colour from 'BP-RP' - --ebprp 0.1"]


def test_the_reading_line_says_an_unlabelled_period_error_is_in_days_beside_a_converted_period():
    """Review V70, 6: 'Prot [h]' beside 'e_Prot' read 288 h +- 1.8 d (the error's name gives no unit: days) while the
    line said only "(h, converted to days; error 'e_Prot')"; since the grid reads the error, that moves the age."""
    def line(header: str, row: str) -> str:
        return notices(run("estimate", "-", stdin=f"{header},bp_rp0\n{row},1.2\n", quiet=False))[0]

    assert line("Prot [h],e_Prot", "288,1.8").startswith(
        "estimate: reading prot from 'Prot [h]' (h, converted to days; error 'e_Prot' (days)),")
    assert line("Prot [h],e_Prot [h]", "288,43.2").startswith(
        "estimate: reading prot from 'Prot [h]' (h, converted to days; error 'e_Prot [h]' (h, converted to days)),")
    assert line("Prot [h],e_Prot,E_Prot", "288,1.8,1.8").startswith(
        "estimate: reading prot from 'Prot [h]' (h, converted to days; error mean of 'e_Prot' (days) and 'E_Prot' (days)),")
    assert line("Prot,e_Prot", "12,1.8").startswith("estimate: reading prot from 'Prot' (d; error 'e_Prot'),")
    assert "colour from 'BP-RP0 [mmag]' (mmag, converted to mag; error 'e_BP-RP0' (mag))" in notices(
        run("estimate", "-", stdin="Prot,BP-RP0 [mmag],e_BP-RP0\n12,1200,0.05\n", quiet=False))[0]
    # what the line says is what is read: 1.8 d and 43.2 h are one error
    assert ages("Prot [h],e_Prot,bp_rp0\n288,1.8,1.2\n") == ages("Prot [h],e_Prot [h],bp_rp0\n288,43.2,1.2\n")


def test_the_reading_line_names_the_reddening_error_beside_a_de_reddened_colour():
    """The error is added to the colour's (README): the line said only 'colour from '(BP-RP)0''."""
    got = notices(run("estimate", "-", stdin="Per,(BP-RP)0,e_(BP-RP)0,A_V,e_AV\n7.0,1.1,0.02,0.3,0.7\n", quiet=False))
    assert got == ["estimate: reading prot from 'Per' (d), colour from '(BP-RP)0' (error 'e_(BP-RP)0'; "
                   f"reddening error k x 'e_AV'; {K_NOTE[1:]}"]
    got = notices(run("estimate", "-", stdin="Per,(BP-RP)0,ebprp_err,E(B-V)_err\n7.0,1.1,0.03,0.1\n", quiet=False))
    assert got == ["estimate: reading prot from 'Per' (d), colour from '(BP-RP)0' (reddening error 'ebprp_err' "
                   f"else 3.16k x 'E(B-V)_err'; {K_NOTE[1:]}"]
    got = notices(run("estimate", "-", stdin="Per,(BP-RP)0,E(BP-RP)\n7.0,1.1,0.1\n", quiet=False))
    assert got == ["estimate: reading prot from 'Per' (d), colour from '(BP-RP)0'"]  # a value alone: no error


def test_group_age_does_not_name_a_period_error_it_never_reads():
    """group-age said "reading prot from 'Prot' (d; error 'e_Prot')", but a joint age never reads a period error;
    estimate, whose sampler and statuses read it, still names it."""
    text = "cluster,Prot,e_Prot,BPRP_0,e_BPRP_0\nX,7.0,0.3,1.10,0.02\nX,8.0,0.4,1.2,0.02\n"
    group = [ln for ln in notices(run("group-age", "-", "--by", "cluster", stdin=text, quiet=False)) if "reading" in ln]
    assert group == ["group-age: reading prot from 'Prot' (d), colour from 'BPRP_0' (error 'e_BPRP_0')"]
    assert notices(run("estimate", "-", stdin=text, quiet=False)) == [
        "estimate: reading prot from 'Prot' (d; error 'e_Prot'), colour from 'BPRP_0' (error 'e_BPRP_0')"]


MAGS = "cluster,Per,(BP-RP)0,G0,plx,e_plx\nX,7.0,1.60,12.0,10.0,0.1\nX,8.0,1.70,12.5,10.0,0.1\n"
READ = "reading prot from 'Per' (d), colour from '(BP-RP)0'"


@needs_matplotlib
def test_the_reading_line_names_the_magnitudes_the_main_sequence_term_reads(tmp_path, termless_model):
    """The line never named abs_g0, or g0 and parallax: stderr did not tell whether the height term was used. It
    names them exactly when the run uses the term: estimate and plot posterior unless --no-main-sequence (and only
    with a card that holds it), group-age only with --main-sequence, plot sequence never."""
    term = f"{READ}, magnitudes from 'G0' and 'plx' (error 'e_plx'; main-sequence term)"
    assert notices(run("estimate", "-", stdin=MAGS, quiet=False)) == [f"estimate: {term}"]
    assert notices(run("estimate", "-", "--main-sequence", stdin=MAGS, quiet=False)) == [f"estimate: {term}"]
    both = "Per,(BP-RP)0,M_G0,G0,plx\n7.0,1.6,7.0,12.0,10.0\n"  # abs_g0 is taken over g0 with parallax
    assert notices(run("estimate", "-", stdin=both, quiet=False)) == [
        f"estimate: {READ}, magnitudes from 'M_G0' (main-sequence term)",
        "gyroage: 'G0', 'plx' not read: 'M_G0' gives the absolute G (a row with a blank 'M_G0' is dated from rotation "
        "alone; leave that column out to read these)"]
    assert notices(run("estimate", "-", "--no-main-sequence", stdin=MAGS, quiet=False)) == [f"estimate: {READ}"]
    # a model without the term cannot read them: said, as the unread columns are (V40, 14)
    assert notices(run("estimate", "-", "--model", str(termless_model), stdin=MAGS, quiet=False)) == [
        f"estimate: {READ}", f"gyroage: 'G0', 'plx' not read: model {termless_model} has no main-sequence term, so "
        "ages rest on rotation alone (a star above the main sequence is not flagged; README, Retraining)"]
    only_g = "Per,(BP-RP)0,G0\n7.0,1.6,12.0\n"  # g0 without a parallax: no magnitude, rotation alone
    assert notices(run("estimate", "-", stdin=only_g, quiet=False)) == [f"estimate: {READ}"]
    group = [ln for ln in notices(run("group-age", "-", "--by", "cluster", stdin=MAGS, quiet=False))
             if "reading" in ln]
    assert group == [f"group-age: {READ}"]
    group = [ln for ln in notices(run("group-age", "-", "--by", "cluster", "--main-sequence", stdin=MAGS,
                                      quiet=False)) if "reading" in ln]
    assert group == [f"group-age: {term}"]
    stars = tmp_path / "mags.csv"
    stars.write_text(MAGS)
    res = run("plot", "posterior", str(stars), "-o", str(tmp_path / "p.png"), quiet=False)
    assert res.exit_code == 0, res.output
    assert [ln for ln in res.stderr.splitlines() if ln.startswith("plot: reading")] == [f"plot: {term}"]
    res = run("plot", "sequence", "--data", str(stars), "-o", str(tmp_path / "s.png"), "--age", "600", quiet=False)
    assert res.exit_code == 0, res.output
    assert [ln for ln in res.stderr.splitlines() if ln.startswith("plot: reading")] == [f"plot: {READ}"]


def test_a_missing_column_error_lists_what_the_file_has():
    msg = one_line_error(run("estimate", "-", stdin="Cluster,P,(BP-RP)0\nX,7,1.1\n"), "missing required column 'prot'")
    assert msg.endswith("; the file has: Cluster, P, (BP-RP)0")
    msg = one_line_error(run("estimate", "-", stdin="Cluster,Prot,Color\nX,7,1.1\n"), "missing colour")
    assert msg.endswith("; the file has: Cluster, Prot, Color")
    many = [f"c{i}" for i in range(30)]
    with pytest.raises(UserError, match=r"the file has: prot, c0, c1, .*c10, \.\.\. \(19 more\)$"):
        io.require_columns(["prot", *many])


@pytest.mark.parametrize("name, canon", [
    ("err_BPRP0", "bp_rp0_err"), ("err_Prot", "prot_err"), ("(BP\u2212RP)0", "bp_rp0"), ("e_(BP\u2212RP)0", "bp_rp0_err"),
    ("E(BP\u2212RP)", "ebprp"), ("(GBP-GRP)0", "bp_rp0"), ("BP0-RP0", "bp_rp0"), ("bp_rp_dered", "bp_rp0"),
    ("(BP-RP)o", "bp_rp0"), ("(B-V)o", "b_v0"), ("GBP-GRP", "bp_rp"), ("e_GBP-GRP", "bp_rp_err"),
    ("E(GBP-GRP)", "ebprp")])
def test_more_literature_spellings(name, canon):
    assert io.match_columns([name]) == {canon: name}


def test_a_unicode_minus_reads_as_the_ascii_one():
    assert ages("Prot,(BP\u2212RP)0,e_(BP\u2212RP)0\n7.0,1.10,0.05\n") == ages("prot,bp_rp0,bp_rp0_err\n7.0,1.10,0.05\n")


@pytest.mark.parametrize("other", ["Teff", "(B-V)0", "(V-Ks)0"])
def test_an_observed_colour_without_reddening_beside_a_dwarf_colour_says_which_would_be_used(other):
    """Still refused (the user chooses: a quiet fallback would change the colour source), but the message says how."""
    res = run("estimate", "-", stdin=f"Prot,BP-RP,{other}\n7.0,1.10,1.0\n")
    one_line_error(res, "found BP-RP but no reddening", f"leave out 'BP-RP' to take the colour from '{other}'")


def test_name_key_keeps_error_of_names_apart_from_values():
    """A lower-case e_ (any-case err_) name is the error of what the rest names: its key never equals a value's."""
    from gyroage.columns import name_key

    assert name_key("e_BP-RP") != name_key("E(BP-RP)") and name_key("e_BP-RP") != name_key("ebprp")
    assert name_key("E(BP-RP)") == name_key("E_BP_RP") == name_key("ebprp") == name_key("E(BP−RP)")  # reddenings
    assert name_key("err_Prot") == name_key("ERR_prot") == name_key("e_Prot") == name_key("e_prot")
    assert name_key("E_Prot") != name_key("e_Prot")  # an upper-case E_ is no error prefix
    assert name_key("Prot [d]") == name_key("prot(d)")  # otherwise as column_key: case, brackets, '_', '-', spaces


@pytest.mark.parametrize("columns, names, found", [
    (["e_BP-RP", "E(BP-RP)"], ("E(BP-RP)",), "E(BP-RP)"),  # crossmatch --extinction column:E(BP-RP)
    (["e_BP-RP"], ("E(BP-RP)",), None),
    (["e_BP-RP"], ("ebprp",), None),
    (["E_BP_RP"], ("E(BP-RP)",), "E_BP_RP"),
    (["e_BP-RP", "E(BP-RP)"], ("e_bp_rp",), "e_BP-RP"),  # an error column is found where one is sought
    (["e_Mem", "Mem"], ("EMem",), None),  # group-age --membership EMem
    (["TIC", "Prot", "err_Prot"], ("e_Prot", "E_Prot", "s_Prot"), "err_Prot"),  # a VizieR period table's error
    (["Cluster", "e_Cluster"], ("cluster",), "Cluster"),
    (["Cluster", "cluster"], ("cluster",), "cluster"),  # an exact name wins over a case-insensitive one
    (["PMemb", "pmemb"], ("pmemb",), "pmemb"),
    (["PMemb", "pmemb"], ("PMEMB",), "PMemb"),  # else the first case-insensitive match
])
def test_find_column_matches_error_columns_only_where_an_error_is_sought(columns, names, found):
    assert io.find_column(columns, *names) == found


def test_user_named_columns_never_pick_an_error_column():
    """--by, --membership, --id and prior columns all look up by name_key."""
    with pytest.raises(UserError, match="missing column 'EMem'"):
        io.require_column(["e_Mem", "Mem"], "EMem")
    with pytest.raises(UserError, match="'Eid'"):
        io.id_columns(["e_id", "id"], ["Eid"])
    assert io.id_columns(["e_id", "e_name", "name"]) == ["name"]


def test_option_notes_live_beside_duplicate_notes_in_the_same_words():
    """io.option_notes wrote duplicate_notes' sentence again in another module: both are in gyroage.columns now,
    built by one sentence (gyroage.io still re-exports option_notes)."""
    from gyroage import io
    from gyroage.columns import duplicate_notes, option_notes

    assert option_notes(["Cluster", "cluster", "prot"], [("--by", "cluster"), ("--id", None)]) == [
        "several columns are --by cluster: using 'cluster', ignoring 'Cluster'"]
    assert duplicate_notes(["prot", "Prot"]) == ["several columns are prot: using 'prot', ignoring 'Prot'"]
    assert io.option_notes is option_notes


def readme_aliases() -> list[tuple[str, str]]:
    """(alias, canonical name) for every alias in README's input-column table; a row naming two columns
    (`v_ks0`, `b_v0`) gives each its own ';'-separated aliases."""
    text = (ROOT / "README.md").read_text()
    head = "| column | meaning | aliases (examples) | if absent |"
    rows = text[text.index(head):].split("\n\n")[0].splitlines()[2:]
    pairs = []
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        canons = re.findall(r"`([^`]+)`", cells[0])
        # "(without an `e_BP-RP`)" qualifies the alias before it: not an alias itself
        groups = re.sub(r"\(without [^)]*\)", "", cells[2]).split(";")
        assert len(groups) in (1, len(canons)), row
        for canon, group in zip(canons, groups if len(groups) == len(canons) else groups * len(canons)):
            pairs += [(alias, canon) for alias in re.findall(r"`([^`]+)`", group)]
    return pairs


README_ALIASES = readme_aliases()


def test_the_readme_alias_table_is_parsed():
    assert len(README_ALIASES) > 50 and ("p_rot", "prot") in README_ALIASES and ("e_abs_g0", "abs_g0_err") in README_ALIASES


@pytest.mark.parametrize("alias, canon", README_ALIASES)
def test_every_alias_in_the_readme_table_reads_as_its_column(alias, canon):
    """Twelve of the README's aliases (p_rot, sigma_bp_rp, ebmv, t_eff, plx_err, ...) were in no test: dropping one
    from gyroage/columns.py would have left every test passing."""
    assert io.match_columns([alias]).get(canon) == alias, io.match_columns([alias])


OBSERVED_ERR = "KIC,Prot,bp_rp0,{}\n1,10,1.0,0.2\n2,3,2.2,0.3\n"


@pytest.mark.parametrize("name", ["bp_rp_error", "e_bp_rp", "e_BP-RP"])
def test_an_observed_colours_error_beside_bp_rp0_is_said_not_read(name):
    """The error of an observed BP-RP beside a de-reddened bp_rp0 (with no error of its own) was dropped without a
    word, the ages resting on the default colour error: said once, also with -q; the ages stay as they were."""
    line = (f"gyroage: '{name}' not read: it is the error of an observed BP-RP, and the colour comes from 'bp_rp0' "
            f"(with the model's default colour error): name it e_bp_rp0 if it is the error of 'bp_rp0'")
    for quiet in (True, False):
        res = run("estimate", "-", stdin=OBSERVED_ERR.format(name), quiet=quiet)
        assert [ln for ln in notices(res) if "not read" in ln] == [line], res.stderr
    assert ages(OBSERVED_ERR.format(name)) == ages(OBSERVED_ERR.format("note"))
    # its own error column: no note (the observed colour's error is rightly unread)
    own = "KIC,Prot,bp_rp0,e_bp_rp0,e_bp_rp\n1,10,1.0,0.1,0.2\n"
    assert "not read" not in run("estimate", "-", stdin=own, quiet=False).stderr


def test_an_observed_colours_error_read_only_where_bp_rp0_is_blank_is_said_so():
    text = "KIC,Prot,bp_rp0,bp_rp,e_bp_rp,A_V\n1,10,1.0,1.2,0.2,0.5\n2,10,,1.2,0.2,0.5\n"
    line = ("gyroage: 'e_bp_rp' not read where 'bp_rp0' has a value (those rows take the model's default colour "
            "error): it is the error of the observed 'bp_rp'; give 'bp_rp0' its own error column, e_bp_rp0")
    for quiet in (True, False):
        assert [ln for ln in notices(run("estimate", "-", stdin=text, quiet=quiet)) if "not read" in ln] == [line]


def test_the_not_read_note_names_an_upper_error_beside_the_lower_and_renaming_both_reads_them():
    """E_BP-RP beside e_BP-RP went unnamed: renaming only e_BP-RP, as advised, made E_BP-RP a reddening (the colour
    1.3 - 0.03) where an observed colour is given, or left it unread without a word where none is."""
    text = "KIC,Prot,(BP-RP)0,e_BP-RP,E_BP-RP\n1,10,1.0,0.05,0.07\n"
    line = ("gyroage: 'e_BP-RP' and 'E_BP-RP' not read: they are the errors of an observed BP-RP, and the colour comes "
            "from '(BP-RP)0' (with the model's default colour error): name them e_bp_rp0 and E_bp_rp0 if they are "
            "the errors of '(BP-RP)0'")
    assert [ln for ln in notices(run("estimate", "-", stdin=text)) if "not read" in ln] == [line]
    renamed = text.replace("e_BP-RP", "e_bp_rp0").replace("E_BP-RP", "E_bp_rp0")
    assert "error mean of 'e_bp_rp0' and 'E_bp_rp0'" in run("estimate", "-", stdin=renamed, quiet=False).stderr
    text = "KIC,Prot,BP-RP,(BP-RP)0,e_BP-RP,E_BP-RP,A_V\n1,10,1.3,1.2,0.02,0.03,0.1\n2,10,1.3,,0.02,0.03,0.1\n"
    line = ("gyroage: 'e_BP-RP' and 'E_BP-RP' not read where '(BP-RP)0' has a value (those rows take the model's "
            "default colour error): they are the errors of the observed 'BP-RP'; give '(BP-RP)0' its own error "
            "columns, e_bp_rp0 and E_bp_rp0")
    assert [ln for ln in notices(run("estimate", "-", stdin=text)) if "not read" in ln] == [line]


def test_the_api_warns_of_an_observed_colours_error_beside_bp_rp0(model):
    import warnings

    import pandas as pd

    frame = pd.DataFrame({"Prot": [10.0], "bp_rp0": [1.0], "e_BP-RP": [0.2]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.estimate(frame)
    assert any("'e_BP-RP' not read: it is the error of an observed BP-RP" in str(w.message) for w in caught)


UNREAD_SETS = [["Prot", "bp_rp0", "e_BP-RP"], ["Prot", "bp_rp0", "bp_rp", "e_bp_rp", "A_V"],
               ["Prot", "bp_rp0", "M_G"], ["Prot", "bp_rp0", "abs_g0", "g0", "parallax", "parallax_err"],
               ["Prot", "(BP-RP)0", "e_BP-RP", "E_BP-RP", "M_G", "G0", "plx"], ["Prot", "bp_rp0", "e_bp_rp0"]]


@pytest.mark.parametrize("names", UNREAD_SETS)
def test_the_cli_and_the_api_say_the_unread_column_notes_one_function_builds(names, capsys):
    """The magnitude notes and the unread colour-error note were put together twice, for stderr
    (colours.say_input_notes) and for the API's warnings (api_frames.warn_column_notes): both now say
    column_notes.unread_column_notes, in its order."""
    import warnings

    from gyroage.column_notes import unread_column_notes
    from gyroage.core.api_frames import warn_column_notes
    from gyroage.core.colours import Reddening, say_input_notes

    said = set()
    for magnitudes, given in [(False, False), (True, False), (True, True)]:
        notes = [f"gyroage: {line}" for line in unread_column_notes(names, magnitudes, given)]
        said.update(notes)
        say_input_notes(names, Reddening(av=0.1) if given else None, magnitudes, None)
        assert capsys.readouterr().err.splitlines() == notes
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warn_column_notes(names, magnitudes, given)
        assert [str(w.message) for w in caught] == notes
    assert bool(said) == (names != UNREAD_SETS[-1]), said  # e_bp_rp0: bp_rp0's own error, no note


REPEATED = [("KIC,Prot,bp_rp,A_V,A_V\n1,10,1.0,0.1,1.0\n2,8,1.2,0.2,0.9\n", "KIC,Prot,bp_rp,A_V\n1,10,1.0,0.1\n2,8,1.2,0.2\n",
             "several columns are av: using 'A_V', ignoring 'A_V.1'"),
            ("KIC,Prot,bp_rp0,Prot\n1,10,1.0,20\n2,8,1.2,3\n", "KIC,Prot,bp_rp0\n1,10,1.0\n2,8,1.2\n",
             "several columns are prot: using 'Prot', ignoring 'Prot.1'")]


@pytest.mark.parametrize("text, first, line", REPEATED)
@pytest.mark.parametrize("chunks", [(), ("--chunksize", "1")])
def test_a_repeated_header_is_named_as_several_columns(text, first, line, chunks):
    """pandas renames a repeated header A_V to A_V.1, which matched no quantity: the second A_V was ignored without the
    "several columns" line the README promises. The first is used, as before."""
    assert f"estimate: {line}" in notices(run("estimate", "-", *chunks, stdin=text, quiet=False))
    assert ages(text) == ages(first)


@needs_dask
def test_the_dask_engine_names_a_repeated_header_too(tmp_path):
    src = tmp_path / "rep.csv"
    src.write_text(REPEATED[0][0])
    res = run_cli("estimate", str(src), "--engine", "dask", "--workers", "1", "-o", str(tmp_path / "o.parquet"))
    assert res.returncode == 0, res.stderr
    assert f"estimate: {REPEATED[0][2]}" in res.stderr.splitlines()


def test_a_parquet_file_with_a_repeated_column_name_is_refused_in_one_line(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "rep.parquet"
    pq.write_table(pa.table([[10.0], [1.0], [0.1], [1.0]], names=["Prot", "bp_rp", "A_V", "A_V"]), src)
    for engine in ("local", "dask"):
        res = run_cli("estimate", str(src), "--engine", engine, "--workers", "1", "-o", str(tmp_path / "o.parquet"))
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert res.stderr.strip().splitlines()[-1] == (
            f"gyroage: error: {src} has 2 columns named 'A_V': rename all but one (the first would be read)")



def test_a_parquet_file_from_stdin_with_a_repeated_column_name_is_named_stdin(tmp_path):
    """Each caller of refuse_repeated_names turned '-' into "stdin" but the Parquet reader's: a Parquet file from
    stdin was named '-' in the refusal (review V30). The one function names it."""
    import subprocess
    import sys

    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "rep.parquet"
    pq.write_table(pa.table([[10.0], [1.0], [0.1], [1.0]], names=["Prot", "bp_rp", "A_V", "A_V"]), src)
    res = subprocess.run([sys.executable, "-m", "gyroage.cli", "estimate", "-", "-o", str(tmp_path / "o.csv")],
                         input=src.read_bytes(), capture_output=True, timeout=120)
    err = res.stderr.decode()
    assert res.returncode == 2 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == (
        "gyroage: error: stdin has 2 columns named 'A_V': rename all but one (the first would be read)"), err

GSP_MISSING = "KIC,Teff,Prot,bp_rp,ebpminrp_gspphot\n1,5000,10,1.2,0.05\n2,5000,10,1.2,\n3,5000,10,,\n4,,10,1.2,\n"


@pytest.mark.parametrize("engine", [(), ("--chunksize", "1"), ("--engine", "dask", "--workers", "1")])
def test_rows_with_bp_rp_and_no_reddening_are_not_dated_from_teff_and_the_run_says_so(engine, tmp_path):
    """A Gaia+Kepler row with bp_rp but a blank GSP-Phot E(BP-RP) is invalid_reddening even with a Teff (README): the
    reading line said "else 'Teff'", read as a per-row fallback. It says where, and the run counts such rows."""
    if "dask" in engine:
        pytest.importorskip("distributed")
    src = tmp_path / "gsp.csv"
    src.write_text(GSP_MISSING)
    res = run_cli("estimate", str(src), *engine, "-o", str(tmp_path / "o.parquet"))
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if " | " not in ln]
    assert ("estimate: reading prot from 'Prot' (d), colour from 'bp_rp' - 'ebpminrp_gspphot', else 'Teff' where "
            "'bp_rp' is blank") in lines
    assert ("estimate: 1 row with 'bp_rp' but no usable reddening is invalid_reddening although 'Teff' has a value "
            "in it: a row with 'bp_rp' is dated from it or not at all; blank its 'bp_rp' (or fill its reddening) to "
            "date it from 'Teff'") in lines, lines
    import pandas as pd

    assert pd.read_parquet(tmp_path / "o.parquet")["status"].tolist() == ["ok", "invalid_reddening", "ok",
                                                                          "invalid_reddening"]
    ok = GSP_MISSING.replace("2,5000,10,1.2,\n", "")
    src.write_text(ok)
    res = run_cli("estimate", str(src), *engine, "-o", str(tmp_path / "o2.parquet"))
    assert "no usable reddening" not in res.stderr


@pytest.mark.parametrize("text, n, names", [
    # rows without a usable period are invalid_period, not invalid_reddening: blanking bp_rp would not date them
    ("KIC,Teff,Prot,bp_rp,ebpminrp_gspphot\n1,5000,,1.2,\n2,5000,-3,1.2,\n3,5000,500,1.2,\n", 1, ["Teff"]),
    # the note names the column that holds the value a row would be dated from, not the first one present
    ("KIC,Teff,V-Ks0,Prot,bp_rp,ebpminrp_gspphot\n1,5000,,10,1.2,\n2,,2.0,10,1.2,\n3,,,10,1.2,\n", 2,
     ["Teff", "V-Ks0"]),
    ("KIC,Teff,V-Ks0,Prot,bp_rp,ebpminrp_gspphot\n1,,2.0,10,1.2,\n2,,,10,1.2,\n", 1, ["V-Ks0"])])
def test_the_teff_count_counts_rows_with_a_period_and_names_the_column_with_the_value(text, n, names, tmp_path):
    src = tmp_path / "t.csv"
    src.write_text(text)
    res = run_cli("estimate", str(src), "-o", str(tmp_path / "o.csv"))
    assert res.returncode == 0, res.stderr
    alt = " or ".join(f"'{c}'" for c in names)
    one = n == 1
    assert (f"estimate: {n} row{'' if one else 's'} with 'bp_rp' but no usable reddening {'is' if one else 'are'} "
            f"invalid_reddening although {alt} has a value in {'it' if one else 'them'}: a row with 'bp_rp' is "
            f"dated from it or not at all; blank") in res.stderr, res.stderr
    assert f"to date {'it' if one else 'them'} from {alt}\n" in res.stderr, res.stderr


def test_the_teff_count_from_a_chunks_own_colours_is_the_count_worked_out_again(model):
    """estimate_chunk hands the engines the count from the colours it dated the rows with (on_unreddened); a resumed
    chunk's is worked out again from the rows (unreddened_rows without stars): both must give the same count, whatever
    the row holds (bp_rp0, text, a blank or bad period, a Teff out of range, the later sequence columns)."""
    import itertools

    import numpy as np
    import pandas as pd

    from gyroage.core.colours import Reddening
    from gyroage.core.estimate import EstimateSettings, estimate_chunk
    from gyroage.core.stars import check_stars, unreddened_rows

    cells = {"Prot": ["10", "", "-3", "x"], "bp_rp0": ["", "1.0", "y"], "bp_rp": ["1.2", "", "z"],
             "A_V": ["", "0.1", "-1", "w"], "Teff": ["", "5000", "90000", "t"], "V-Ks0": ["", "2.0"], "B-V0": ["", "0.7"]}
    frame = pd.DataFrame(list(itertools.product(*cells.values())), columns=list(cells), dtype=object)
    for columns, red in [(list(cells), None), (["Prot", "bp_rp", "A_V", "Teff", "B-V0"], None),
                         (["Prot", "bp_rp0", "bp_rp", "A_V", "V-Ks0"], None),
                         (["Prot", "bp_rp", "A_V", "Teff"], Reddening(av=0.1))]:
        part = frame[columns].drop_duplicates(ignore_index=True)
        cols = io.require_columns(columns)
        again = unreddened_rows(part, cols, red)
        assert again.sum() > 0, columns
        assert np.array_equal(unreddened_rows(part, cols, red, check_stars(part, model.card, cols, red)), again)
        handed = []
        estimate_chunk(part, model.density, EstimateSettings(reddening=red or Reddening()), cols,
                       on_unreddened=handed.append)
        assert len(handed) == 1 and np.array_equal(handed[0], again), (handed, again)


def test_the_teff_count_worked_out_again_leaves_limit_periods_out(model):
    """A resumed run counted the l_Prot '>' rows (period_limit, not invalid_reddening) in its 'no usable reddening ...
    although 'Teff' has a value' notice (review V37, 5: 13,600 against a fresh run's 10,000)."""
    import numpy as np
    import pandas as pd

    from gyroage.core.stars import check_stars, unreddened_rows

    part = pd.DataFrame({"l_Prot": [">", "", "<", " "], "Prot": ["10"] * 4, "bp_rp": ["1.2"] * 4, "A_V": [""] * 4,
                         "Teff": ["5000"] * 4}, dtype=object)
    cols = io.require_columns(list(part.columns))
    fresh = unreddened_rows(part, cols, None, check_stars(part, model.card, cols, None))
    assert fresh.sum() == 2 and np.array_equal(unreddened_rows(part, cols, None), fresh), fresh


def test_a_dotted_name_before_its_plain_one_is_no_repeat_of_it():
    """pandas names a repeated header X.1 only after X: a Prot.1 before Prot took Prot's role and, being first, was
    read (2340 Myr from 20 d instead of 733 Myr from 10 d)."""
    assert io.match_columns(["KIC", "Prot.1", "Prot", "bp_rp0"])["prot"] == "Prot"
    assert "prot" not in io.match_columns(["KIC", "Prot.1", "bp_rp0"])
    assert io.match_columns(["KIC", "Prot", "Prot.1", "bp_rp0"])["prot"] == "Prot"
    res = run("estimate", "-", stdin="KIC,Prot.1,Prot,bp_rp0\n1,20,10,1.0\n", quiet=False)
    assert "several columns" not in res.stderr and "reading prot from 'Prot'" in res.stderr, res.stderr


@pytest.mark.parametrize("header, what, used, ignored", [
    ("Prot,E_Prot,e_Prot,Per,E_Per,e_Per,bp_rp0", "the upper error of prot", "E_Prot", "E_Per"),
    ("Prot,BP-RP,e_BP-RP,E_BP-RP,bp_rp,e_bp_rp,E_bp_rp", "the upper error of bp_rp", "E_BP-RP", "E_bp_rp")])
def test_several_upper_errors_are_named_in_words_not_by_an_internal_role(header, what, used, ignored):
    """The line said 'several columns are prot_err_upper', a role name README never gives."""
    line = f"several columns are {what}: using '{used}', ignoring '{ignored}'"
    assert line in duplicate_notes(header.split(",")), duplicate_notes(header.split(","))


def test_a_parquet_files_repeated_column_that_nothing_reads_is_not_said_to_be_read(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "note.parquet"
    pq.write_table(pa.table([["a"], [10.0], [1.0], ["b"]], names=["note", "Prot", "bp_rp0", "note"]), src)
    res = run_cli("estimate", str(src), "-o", str(tmp_path / "o.csv"))
    assert res.returncode == 2 and res.stderr.strip().splitlines()[-1] == (
        f"gyroage: error: {src} has 2 columns named 'note': rename all but one (columns must have distinct names)")


def test_a_votable_with_a_repeated_field_name_is_refused_in_one_line(tmp_path):
    """astropy renames the second FIELD A_V to A_V_2, which matched no quantity: the repeat went unsaid, where a CSV's
    is named and a Parquet file's refused."""
    fields = "".join(f'<FIELD name="{n}" datatype="double"/>' for n in ("Prot", "bp_rp", "A_V", "A_V"))
    src = tmp_path / "dup.vot"
    src.write_text('<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
                   f"<RESOURCE><TABLE>{fields}<DATA><TABLEDATA><TR><TD>10</TD><TD>1.0</TD><TD>0.1</TD><TD>1.0</TD>"
                   "</TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")
    res = run_cli("estimate", str(src), "-o", str(tmp_path / "o.csv"))
    assert res.returncode == 2 and res.stderr.strip().splitlines()[-1] == (
        f"gyroage: error: {src} has 2 columns named 'A_V': rename all but one (the first would be read)"), res.stderr


def _votable(names: tuple[str, ...], rows: list[tuple]) -> str:
    """A one-TABLE VOTable of double FIELDs ``names`` (no IDs: astropy renames a repeat X to X_2)."""
    fields = "".join(f'<FIELD name="{n}" datatype="double"/>' for n in names)
    data = "".join("<TR>" + "".join(f"<TD>{v}</TD>" for v in row) + "</TR>" for row in rows)
    return ('<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>'
            f"{fields}<DATA><TABLEDATA>{data}</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")


def test_a_votable_whose_repeated_field_nothing_reads_is_dated_as_before(tmp_path):
    """A TAP join gives two source_id FIELDs: astropy reads the second as source_id_2 and the stars were dated; a
    refusal of every repeated name refused the table, though no quantity was read from the repeat."""
    rows = [(1, 10.0, 1.0, 7), (2, 8.0, 1.2, 7)]
    src = tmp_path / "join.vot"
    src.write_text(_votable(("source_id", "Prot", "bp_rp0", "source_id"), rows))
    single = tmp_path / "one.vot"
    single.write_text(_votable(("source_id", "Prot", "bp_rp0"), [r[:3] for r in rows]))
    got = run("estimate", str(src))
    assert [[r[a] for a in AGES] for r in table(got)] == [[r[a] for a in AGES] for r in table(run("estimate", str(single)))]
    assert [r["status"] for r in table(got)] == ["ok", "ok"]
    assert list(table(got)[0])[:4] == ["source_id", "Prot", "bp_rp0", "source_id_2"]
    assert [r["status"] for r in table(run("estimate", "-", "--input-format", "votable", stdin=src.read_text()))] == [
        "ok", "ok"]


@pytest.mark.parametrize("suffix", ["vot", "parquet"])
def test_a_repeated_column_an_option_names_is_refused_as_one_that_would_be_read(suffix, tmp_path):
    """group-age --by cluster on a file with two 'cluster' columns (and estimate --id on two 'source_id') was told
    "columns must have distinct names", as if nothing read it; a VOTable's was not refused at all."""
    src = tmp_path / f"rep.{suffix}"
    names, rows = ("cluster", "Prot", "bp_rp0", "cluster"), [(1, 10.0, 1.0, 2), (2, 8.0, 1.2, 2)]
    if suffix == "vot":
        src.write_text(_votable(names, rows))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table([list(c) for c in zip(*rows)], names=list(names)), src)
    line = f"gyroage: error: {src} has 2 columns named 'cluster': rename all but one (the first would be read)"
    res = run("group-age", str(src), "--by", "cluster", "-o", str(tmp_path / "g.csv"))
    assert res.exit_code == 2 and res.output.strip().splitlines()[-1] == line, res.output
    res = run("estimate", str(src), "--posteriors", str(tmp_path / "p.parquet"), "--id", "cluster", "-o",
              str(tmp_path / "e.csv"))
    assert res.exit_code == 2 and res.output.strip().splitlines()[-1] == line, res.output


def test_a_repeated_prior_column_in_a_votable_is_refused_as_one_that_would_be_read(tmp_path):
    """Review V29: a VOTable with two 'pm' columns named by --prior-mean was read from the first without a word (the
    read-columns rule passed only --id's names), while the same Parquet file was refused."""
    src = tmp_path / "rep.vot"
    names, rows = ("pm", "Prot", "bp_rp0", "pm", "ps"), [(8.5, 10.0, 1.0, 9.5, 0.2), (8.6, 8.0, 1.2, 9.4, 0.2)]
    src.write_text(_votable(names, rows))
    res = run("estimate", str(src), "--prior", "gaussian_log_age", "--prior-mean", "pm", "--prior-sigma", "ps",
              "-o", str(tmp_path / "e.csv"))
    line = f"gyroage: error: {src} has 2 columns named 'pm': rename all but one (the first would be read)"
    assert res.exit_code == 2 and res.output.strip().splitlines()[-1] == line, res.output


# A CSV header repeating a column an option names: (command and options, the name repeated, header, one row).
CSV_REPEATS = [
    (("group-age", "--by", "cluster"), "cluster", "cluster,Prot,bp_rp0,cluster", "A,10,1.0,B"),
    (("group-age", "--by", "cluster", "--membership", "PMem"), "PMem", "cluster,Prot,bp_rp0,PMem,PMem", "A,10,1.0,0.9,0.1"),
    (("estimate", "--posteriors", "POST", "--id", "KIC"), "KIC", "KIC,Prot,bp_rp0,KIC", "1,10,1.0,2"),
    (("estimate", "--prior", "gaussian_log_age", "--prior-mean", "pm", "--prior-sigma", "0.2"), "pm",
     "pm,Prot,bp_rp0,pm", "8.5,10,1.0,9.5"),
    (("estimate", "--prior", "gaussian_log_age", "--prior-mean", "8.5", "--prior-sigma", "ps"), "ps",
     "ps,Prot,bp_rp0,ps", "0.2,10,1.0,0.5")]


@pytest.mark.parametrize("args, name, header, row", CSV_REPEATS)
def test_a_csvs_repeated_column_an_option_names_is_refused_as_a_votables(args, name, header, row, tmp_path):
    """pandas reads a repeated header X as X and X.1, and the option's column was read from the first without a word,
    where the same VOTable or Parquet file is refused in one line (review V29)."""
    src = tmp_path / "rep.csv"
    src.write_text(f"{header}\n{row}\n")
    args = tuple(str(tmp_path / "p.parquet") if a == "POST" else a for a in args)
    res = run(args[0], str(src), *args[1:], "-o", str(tmp_path / "o.csv"))
    line = f"gyroage: error: {src} has 2 columns named '{name}': rename all but one (the first would be read)"
    assert res.exit_code == 2 and res.output.strip().splitlines()[-1] == line, res.output
    res = run(args[0], "-", *args[1:], stdin=f"{header}\n{row}\n")
    assert res.exit_code == 2 and res.output.strip().splitlines()[-1] == line.replace(str(src), "stdin"), res.output
    # a repeat no option reads is read as before (the options' columns named once)
    once = ",".join(dict.fromkeys(header.split(",")))
    src.write_text(f"{once},note,note\n{row.rsplit(',', 1)[0]},a,b\n")  # the repeat is the last column
    res = run(args[0], str(src), *args[1:], "-o", str(tmp_path / "o.csv"))
    assert res.exit_code == 0, res.output


@needs_matplotlib
def test_plot_posterior_refuses_a_repeated_prior_column_as_estimate_does(tmp_path):
    """plot posterior read its --prior-mean column without the options' names: a VOTable's repeat was not refused."""
    src = tmp_path / "rep.vot"
    src.write_text(_votable(("pm", "Prot", "bp_rp0", "pm"), [(8.5, 10.0, 1.0, 9.5)]))
    line = f"gyroage: error: {src} has 2 columns named 'pm': rename all but one (the first would be read)"
    for path in (src, tmp_path / "rep.csv"):
        if path.suffix == ".csv":
            path.write_text("pm,Prot,bp_rp0,pm\n8.5,10,1.0,9.5\n")
        res = run("plot", "posterior", str(path), "--prior", "gaussian_log_age", "--prior-mean", "pm", "--prior-sigma",
                  "0.2", "-o", str(tmp_path / "f.png"))
        assert res.exit_code == 2 and res.output.strip().splitlines()[-1] == line.replace(str(src), str(path))
    assert not (tmp_path / "f.png").exists()


@needs_dask
def test_the_dask_engine_refuses_a_csvs_repeated_prior_column_too(tmp_path):
    src = tmp_path / "rep.csv"
    src.write_text("pm,Prot,bp_rp0,pm\n8.5,10,1.0,9.5\n8.6,8,1.2,9.4\n")
    res = run_cli("estimate", str(src), "--engine", "dask", "--workers", "1", "--prior", "gaussian_log_age",
                  "--prior-mean", "pm", "--prior-sigma", "0.2", "-o", str(tmp_path / "o.parquet"))
    assert res.returncode == 2 and res.stderr.strip().splitlines()[-1] == (
        f"gyroage: error: {src} has 2 columns named 'pm': rename all but one (the first would be read)"), res.stderr


@pytest.mark.parametrize("suffix", ["csv", "vot"])
def test_a_repeated_id_column_posteriors_reads_is_refused_with_or_without_id(suffix, tmp_path):
    """With --posteriors and no --id the id-like columns are read (a TAP join's two source_id): the first was carried
    into the posteriors file without a word, while --id source_id was refused. Both are refused; a run that reads no
    id (no --posteriors, or --id naming another column) dates the join as before."""
    names, rows = ("name", "source_id", "Prot", "bp_rp0", "source_id"), [(1, 11, 10.0, 1.0, 7), (2, 12, 8.0, 1.2, 7)]
    src = tmp_path / f"join.{suffix}"
    if suffix == "vot":
        src.write_text(_votable(names, rows))
    else:
        src.write_text(",".join(names) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    post = str(tmp_path / "p.parquet")
    line = f"gyroage: error: {src} has 2 columns named 'source_id': rename all but one (the first would be read)"
    # without --id the line says what reads it and the way out (review V30, 5)
    why = ", which --posteriors reads as an id: give --id another column, or rename all but one (the first would be read)"
    for ids in ((), ("--id", "source_id"), ("--id", "name,source_id")):
        res = run("estimate", str(src), "--posteriors", post, *ids, "-o", str(tmp_path / "o.csv"))
        want = line if ids else line.replace(": rename all but one (the first would be read)", why)
        assert res.exit_code == 2 and res.output.strip().splitlines()[-1] == want, (ids, res.output)
    assert [r["status"] for r in table(run("estimate", str(src)))] == ["ok", "ok"]
    res = run("estimate", str(src), "--posteriors", post, "--id", "name", "-o", str(tmp_path / "o.csv"))
    assert res.exit_code == 0, res.output
    import pandas as pd

    assert list(pd.read_parquet(post).columns[:2]) == ["row", "name"]


def _ecsv(header: str, row: str) -> str:
    """An ECSV file of one row under the CSV ``header`` (astropy reads a repeated name, renaming the second X_1)."""
    def kind(cell: str) -> str:
        try:
            float(cell)
        except ValueError:
            return "string"
        return "float64"

    types = "".join(f"# - {{name: {n}, datatype: {kind(c)}}}\n" for n, c in zip(header.split(","), row.split(",")))
    return f"# %ECSV 1.0\n# ---\n# datatype:\n{types}# schema: astropy-2.0\n{header.replace(',', ' ')}\n" \
           f"{row.replace(',', ' ')}\n"


@pytest.mark.parametrize("args, name, header, row", CSV_REPEATS)
def test_a_text_or_ecsv_tables_repeated_column_an_option_names_is_refused_as_a_csvs(args, name, header, row, tmp_path):
    """astropy renames a whitespace table's or an ECSV file's repeated X to X_1, and the option read the first copy
    without a word where the same CSV is refused (review V30, 1)."""
    args = tuple(str(tmp_path / "p.parquet") if a == "POST" else a for a in args)
    text = f"{header.replace(',', ' ')}\n{row.replace(',', ' ')}\n"
    for src, content in ((tmp_path / "rep.txt", text), (tmp_path / "rep.dat", f"# a comment\n{text}"),
                         (tmp_path / "rep.ecsv", _ecsv(header, row))):
        src.write_text(content)
        res = run(args[0], str(src), *args[1:], "-o", str(tmp_path / "o.csv"))
        line = f"gyroage: error: {src} has 2 columns named '{name}': rename all but one (the first would be read)"
        assert res.exit_code == 2 and res.output.strip().splitlines()[-1] == line, (src, res.output)
        fmt = "ecsv" if src.suffix == ".ecsv" else "ascii"  # stdin's whitespace table is sniffed as CSV
        res = run(args[0], "-", *args[1:], "--input-format", fmt, "-o", str(tmp_path / "o.csv"), stdin=content)
        assert res.exit_code == 2 and res.output.strip().splitlines()[-1] == line.replace(str(src), "stdin"), res.output
    if name == "cluster":  # a quoted name with a blank (astropy reads the quotes), and an ECSV file of commas
        for src, text, by in ((tmp_path / "q.txt", '"my cluster" Prot bp_rp0 "my cluster"\nA 10 1.0 B\n', "my cluster"),
                              (tmp_path / "c.ecsv", _ecsv(header, row).replace("# ---\n", "# ---\n# delimiter: ','\n")
                               .replace(header.replace(",", " "), header).replace(row.replace(",", " "), row), name)):
            src.write_text(text)
            res = run("group-age", str(src), "--by", by, "-o", str(tmp_path / "o.csv"))
            assert res.output.strip().splitlines()[-1] == f"gyroage: error: {src} has 2 columns named '{by}': rename " \
                                                          "all but one (the first would be read)", res.output
    # a repeat no option reads is read as before; a column really named X_1 beside X is no repeat
    once = " ".join(dict.fromkeys(header.split(",")))
    cells = row.split(",")[: len(once.split())]
    for tail in ("note note", f"{name}_1 x"):
        src = tmp_path / "once.txt"
        src.write_text(f"{once} {tail}\n{' '.join(cells)} a b\n")
        res = run(args[0], str(src), *args[1:], "-o", str(tmp_path / "o.csv"))
        assert res.exit_code == 0, (tail, res.output)


def test_a_bom_is_no_part_of_a_text_or_ecsv_tables_first_column_name(tmp_path):
    """astropy kept a UTF-8 BOM in a whitespace table's first name (written out as '\\ufeffstar', read as
    '\\ufeffprot'), shifted a fixed-width header's names by it ('sta', 'pro': prot not found), refused an ECSV file
    with it, and hid a repeat of the first name from the repeated-column check, --by then grouping by the second copy
    (review V34, 5). The BOM is dropped as pandas drops a CSV's."""
    import gzip

    bom = b"\xef\xbb\xbf"
    fixed = "star prot bp_rp0\n---- ---- ------\n   A 10.0    1.0\n   B 12.0    1.1\n"
    for name, text in (("t.txt", "star prot bp_rp0\nA 10.0 1.0\nB 12.0 1.1\n"), ("f.txt", fixed),
                       ("e.ecsv", _ecsv("star,prot,bp_rp0", "A,10.0,1.0")), ("z.dat.gz", fixed)):
        src = tmp_path / name
        data = bom + text.encode()
        src.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        res = run("estimate", str(src), "-o", "-", quiet=False)
        assert res.exit_code == 0, (name, res.output)
        assert res.stdout.splitlines()[0].startswith("star,prot,bp_rp0,age_"), (name, res.stdout)
        assert "reading prot from 'prot' (d), colour from 'bp_rp0'" in res.stderr, (name, res.stderr)
        assert [r["star"] for r in table(res)] == ["A", "B"][: len(table(res))] and table(res)[0]["status"] == "ok"
    rep = bom + b"star prot bp_rp0 star\nA 10.0 1.0 x\nB 12.0 1.1 y\n"
    for src, data in ((tmp_path / "rep.txt", rep), (tmp_path / "rep.txt.gz", gzip.compress(rep))):
        src.write_bytes(data)
        line = f"gyroage: error: {src} has 2 columns named 'star': rename all but one (the first would be read)"
        assert one_line_error(run("group-age", str(src), "--by", "star", "-o", "-")) == line
    res = run("group-age", "-", "--by", "star", "--input-format", "ascii", "-o", "-", stdin=rep)
    assert one_line_error(res) == line.replace(str(src), "stdin")
