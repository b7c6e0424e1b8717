// Ages from gyroage's posterior graph with onnxruntime-node alone (no Python).
//
//   cd examples/node && npm install --ignore-scripts   # the CPU binaries ship in the npm package
//   node posterior.js ../../models/gyroage-posterior.onnx < stars.csv > ages.csv
//
// stars.csv: comma-separated with a header (double-quoted cells may hold commas). Columns are found by name as
// gyroage estimate finds them (case-insensitive, ignoring spaces, '_', '-' and brackets; a lower-case e_ prefix
// names an error: Prot, period, prot_days, BPRP_0, e_BPRP_0, ...; see ALIASES): a rotation period in days and a
// de-reddened (BP-RP)0 are required, its error optional; with ../../models/gyroage-posterior-mag.onnx also a
// de-reddened absolute G (abs_g0, M_G0) and optionally its error (the graph with the main-sequence term: then
// ms_height_mag is written too). A unit in the name is read as estimate reads it (Period [d], Prot_h, Per (hr),
// BPRP_0 [mmag]: see UNITS; converted to days or mag); a period in another unit it names (Prot [s]) or a unit of
// another quantity (Prot [mag]) is an error, and a column with any other word in brackets (Prot (TESS)) is not read,
// as estimate does not read it. No other colour is read (bp_rp with a reddening, teff): gyroage
// estimate does that. A missing required column is an error (exit 2); stderr says which column each input
// was read from. An empty cell, nan, NA, null, none or -- is missing; other text that is not a decimal number is too
// (0x10 or 1_0 are no periods to estimate either).
// Output: every input column as it came in, then ok, status (ok, extrapolated, or empty where the star gets no
// age: gyroage estimate gives the reason), the five age percentiles and the MAP age (Myr), p_outlier and age_flags
// (';'-separated names, as gyroage estimate's age_flags column); cells are empty where estimate's are. An input
// column named like one of those (status) comes out as input_status, as estimate renames it.
"use strict";
const fs = require("fs");
const ort = require("onnxruntime-node");

const QUANTILE_COLUMNS = ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr"];
// The graph's int64 "age_flags" output is a bit mask: bit i set for FLAG_BITS[i] (gyroage.statuses.FLAG_ORDER; the
// graph's gyroage_graph metadata lists them as flag_bits, where the shipped graphs, built before grid_posterior was
// added, list the first eight: a rebuild, which takes FLAG_ORDER, lists all ten). The shipped graphs never set the last four: they use the
// default prior, clip a colour error beyond the trained range without a flag (gyroage estimate flags it), sample
// nothing (grid_posterior marks an estimate --method mcmc star that took the grid's posterior), and have no period
// error input (period_err_uninformative: gyroage estimate's prot_err >= Prot).
const FLAG_BITS = ["colour_blue_of_kraft_break", "period_outside_training", "age_outside_training", "likely_outlier",
                   "pre_main_sequence_age", "above_main_sequence", "age_beyond_prior_bound", "colour_err_beyond_training",
                   "grid_posterior", "period_err_uninformative"];
// Graph input -> accepted column names. A short copy of gyroage/columns.py's ALIASES for these inputs (a test checks
// every name here is there, for the same quantity); compared after columnKey, as columns.py's column_key.
const ALIASES = {
  "prot_days": ["prot", "prot_days", "period", "period_days", "p_rot", "rotation_period", "per", "prot_d"],
  "bp_rp0": ["bp_rp0", "bprp_0", "bprp0", "(bp-rp)0", "color0", "colour0", "(gbp-grp)0", "bp_rp_dered", "(bp-rp)o"],
  "bp_rp0_err": ["bp_rp0_err", "e_bprp_0", "e_bp_rp0", "bprp_0_err", "bp_rp0_error", "sigma_bp_rp0"],
  "abs_g0": ["abs_g0", "m_g0", "mg0", "absmag_g0", "abs_g", "m_g"],
  "abs_g0_err": ["abs_g0_err", "e_abs_g0", "abs_g0_error", "m_g0_err", "e_m_g0"]
};
const REQUIRED = ["prot_days", "bp_rp0", "abs_g0"]; // abs_g0: only for the graph that takes it
// columns.py's UNITS for the quantities read here: a unit a name may carry (lower-case) -> [kind, factor to days or
// mag] (a test checks it against columns.py); a suffix (Prot_h) only from SUFFIX_UNITS, as columns.py's.
const UNITS = {"d": ["period", 1.0], "day": ["period", 1.0], "days": ["period", 1.0],
  "h": ["period", 0.041666666666666664], "hr": ["period", 0.041666666666666664],
  "hrs": ["period", 0.041666666666666664], "hour": ["period", 0.041666666666666664],
  "hours": ["period", 0.041666666666666664], "minute": ["period", 0.0006944444444444445],
  "minutes": ["period", 0.0006944444444444445], "mag": ["magnitude", 1.0], "mags": ["magnitude", 1.0],
  "mmag": ["magnitude", 0.001], "mas": ["angle", 1.0], "k": ["temperature", 1.0]};
const SUFFIX_UNITS = new Set(["d", "day", "days", "h", "hr", "hrs", "hour", "hours", "mag", "mmag", "mas", "k"]);
const KIND = {prot_days: "period", bp_rp0: "magnitude", bp_rp0_err: "magnitude", abs_g0: "magnitude",
  abs_g0_err: "magnitude"};
// A time unit gyroage estimate converts (columns.py _days: astropy's names, prefixed as astropy prefixes them; CDS's
// sec; a plural s dropped; not phot, candela, hectare or pascal) and posterior.js does not: a period named in one
// (Prot [s], Prot [Myr]) is refused, where any other bracketed word (Prot (TESS)) is passed over as estimate passes
// it over (a test checks it against columns.py).
const TIME_UNIT_PARTS = ["^(?!(?:ph|cd|ha|Pa)$)(?:",
  "(?:q|r|y|z|a|f|p|n|u|\u00b5|\u03bc|m|c|d|da|h|k|M|G|T|P|E|Z|Y|R|Q)?(?:s|min|h|d|a|yr)|hr|",
  "(?:quecto|ronto|yocto|zepto|atto|femto|pico|nano|micro|milli|centi|deci|deca|deka|hecto|kilo|mega|giga|tera|",
  "peta|exa|zetta|yotta|ronna|quetta)?(?:second|minute|hour|hr|day|year|annum)|sec|wk|week|fortnight|sday)$"];
const TIME_UNIT = new RegExp(TIME_UNIT_PARTS.join(""));
const isBareTime = (unit) => TIME_UNIT.test(unit) || (unit.length > 2 && unit.endsWith("s") && TIME_UNIT.test(unit.slice(0, -1)))
  || /^(?:[kmun\u00b5\u03bc]?sec|m?jd)$/i.test(unit);
// a scaled or powered time unit ("2d", "0.5 d", "10s", "h^1") is one too; a label with a digit ("K2") is not
const isTime = (unit) => {
  const core = unit.replace(/^[0-9.]+(?:[eE][-+]?[0-9]+)?\s*/, "").replace(/\^\s*[-+]?[0-9.]+$/, "");
  return isBareTime(core);
};
const BRACKETED = /^(.*\S)\s*[[(]\s*([^[\]()]+?)\s*[\])]$/; // "Prot [d]", "Per (h)", "(BP-RP)0 [mag]"
const SUFFIXED = /^(.+)_([A-Za-z]+)$/; // "Period_d", "Prot_h"
const MISSING = new Set(["", "nan", "na", "n/a", "null", "none", "--"]); // gyroage/csv_layout.py NA_TOKENS

class UserError extends Error {}

// columns.py column_key: case-insensitive, ignoring a BOM, spaces, '-' (and Unicode minus), '_' and brackets.
const clean = (name) => name.replace(/^\ufeff/, "").trim().replace(/[\u2212\u2013]/g, "-");
const columnKey = (name) => clean(name).toLowerCase().replace(/[ \-_()[\]]/g, "");
const KEYS = new Map();
for (const [input, names] of Object.entries(ALIASES)) for (const a of names) KEYS.set(columnKey(a), input);

// The graph input a column holds and the factor to its unit ([input, factor, unit]), or undefined. As columns.py: a
// lower-case e_ (or err_) prefix names the error of the quantity the rest names (e_BPRP_0 is bp_rp0_err), never a
// value; the error is in the unit the rest names (e_Prot [h]).
function inputOf(name) {
  const c = clean(name);
  const rest = c.startsWith("e_") ? c.slice(2) : /^err_/i.test(c) ? c.slice(4) : null;
  if (rest === null) return valueRole(c, name);
  const value = valueRole(rest, name);
  return value !== undefined && ALIASES[`${value[0]}_err`] ? [`${value[0]}_err`, value[1], value[2]] : undefined;
}

// columns.py _value_role: an alias (which may spell a unit: prot_d), else a name and a trailing unit.
function valueRole(name, raw) {
  const whole = KEYS.get(columnKey(name));
  const named = unitRole(name, raw);
  if (whole === undefined) return named;
  return named !== undefined && named[0] === whole ? named : [whole, 1.0, null];
}

// columns.py _unit_role: an alias with a bracketed unit or a unit suffix; a UserError for a bracketed unit the input
// cannot be in here (another quantity's, which estimate refuses too; or a time unit only estimate converts); any
// other bracketed word (Prot (TESS)) names no unit: the column is not read, as estimate does not read it.
function unitRole(name, raw) {
  for (const [pattern, bracketed] of [[BRACKETED, true], [SUFFIXED, false]]) {
    const m = pattern.exec(name);
    const input = m ? KEYS.get(columnKey(m[1])) : undefined;
    if (input === undefined) continue;
    const unit = m[2].toLowerCase();
    if (!bracketed && !SUFFIX_UNITS.has(unit)) continue;
    const [kind, factor] = UNITS[unit] || [undefined, 1.0];
    if (kind === KIND[input]) return [input, factor, m[2]];
    if (bracketed && (kind !== undefined || (KIND[input] === "period" && isTime(m[2])))) {
      throw new UserError(`column '${raw}' names the unit '${m[2]}': posterior.js reads ${input} in ` +
        (KIND[input] === "period" ? "d, h or minutes (gyroage estimate converts other time units)" : "mag or mmag"));
    }
  }
  return undefined;
}

// gyroage/io.py prefix_clashes: each input column named as an output column is renamed input_<name> (an input
// column already called input_<name> moving on to input_input_<name>), so no name comes out twice.
function prefixClashes(header, reserved) {
  const moved = header.filter((c) => reserved.includes(c));
  for (let k = 0; k < moved.length; k++) { // grows while it runs, as io.py's
    for (const o of header) if (o === `input_${moved[k]}` && !moved.includes(o)) moved.push(o);
  }
  const taken = new Set([...reserved, ...header.filter((c) => !moved.includes(c))]);
  const renamed = new Map();
  for (const c of moved) {
    let name = `input_${c}`;
    while (taken.has(name)) name = `input_${name}`;
    renamed.set(c, name);
    taken.add(name);
  }
  return header.map((c) => renamed.get(c) ?? c);
}

// One CSV record per line (RFC 4180 quotes; no line breaks inside a cell).
function splitCsv(line) {
  const cells = [];
  let cell = "", quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") { cells.push(cell); cell = ""; }
    else cell += ch;
  }
  cells.push(cell);
  return cells;
}

const quote = (cell) => (/[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);

// A decimal number only: Number() also reads hex, binary and octal (0x10 as 16), which estimate calls invalid.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/;

function number(text) {
  const t = (text || "").trim().toLowerCase();
  if (MISSING.has(t)) return NaN;
  if (/^[+]?inf(inity)?$/.test(t)) return Infinity;
  if (/^-inf(inity)?$/.test(t)) return -Infinity;
  return DECIMAL.test(t) ? Number(t) : NaN; // text that is no number: NaN, missing (gyroage estimate calls it invalid)
}

async function main() {
  const model = process.argv[2] || "../../models/gyroage-posterior.onnx";
  // a spreadsheet's BOM is no part of the first column's name
  const lines = fs.readFileSync(0, "utf8").replace(/^\ufeff/, "").split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new UserError("no header line on stdin (a CSV of stars)");
  const header = splitCsv(lines[0]);
  const rows = lines.slice(1).map(splitCsv);
  const session = await ort.InferenceSession.create(model);
  const source = {}; // graph input -> column index
  const scale = {}; // graph input -> factor to days or mag, and the unit its name gives
  for (const [i, name] of header.entries()) {
    const role = inputOf(name);
    if (role === undefined || !session.inputNames.includes(role[0])) continue;
    const input = role[0];
    if (input in source) console.error(`posterior.js: several columns of ${input}: '${header[source[input]]}' read, '${name}' not`);
    else [source[input], scale[input]] = [i, role.slice(1)];
  }
  for (const input of REQUIRED) {
    if (session.inputNames.includes(input) && !(input in source)) {
      throw new UserError(`missing column ${input} (as ${ALIASES[input].slice(0, 4).join(", ")}, ...)` +
        (input === "abs_g0" ? ": without magnitudes use gyroage-posterior.onnx" : ""));
    }
  }
  const n = rows.length;
  const converted = (k) => (scale[k][0] !== 1 ? ` (${scale[k][1]}, converted to ${KIND[k] === "period" ? "d" : "mag"})` : "");
  const read = session.inputNames.map((k) => (k in source ? `${k} from '${header[source[k]]}'${converted(k)}` : `${k} not given`));
  console.error(`posterior.js: ${n} stars; read ${read.join(", ")}`);
  const feeds = {};
  for (const name of session.inputNames) {
    const i = source[name];
    const f = i === undefined ? 1.0 : scale[name][0];
    feeds[name] = new ort.Tensor("float64", Float64Array.from(rows, (r) => (i === undefined ? NaN : number(r[i]) * f)), [n]);
  }
  const height = session.outputNames.includes("ms_height_mag");
  const out = await session.run(feeds);
  const q = out.age_quantiles_myr.data; // row-major [n, 5]
  const fmt = (x) => (Number.isFinite(x) ? x.toPrecision(7) : "");
  const flags = (bits) => FLAG_BITS.filter((_, b) => (bits >> BigInt(b)) & 1n).join(";"); // int64: BigInt
  const ours = ["ok", "status", ...QUANTILE_COLUMNS, "age_map_myr", "p_outlier", "age_flags",
    ...(height ? ["ms_height_mag"] : [])];
  const headerOut = [...prefixClashes(header, ours), ...ours]; // as estimate: an input 'status' is input_status
  const linesOut = [headerOut.map(quote).join(",")];
  for (let i = 0; i < n; i++) {
    const status = out.ok.data[i] ? "ok" : out.extrapolated.data[i] ? "extrapolated" : "";
    // as estimate: no age, p_outlier or flags for a row without an age
    const dated = (x) => (status ? fmt(x) : "");
    const qs = Array.from(q.slice(5 * i, 5 * i + 5), dated);
    const cells = header.map((_, j) => rows[i][j] ?? "");
    linesOut.push([...cells.map(quote), out.ok.data[i] ? "True" : "False", status, ...qs,
      dated(out.age_map_myr.data[i]), dated(out.p_outlier.data[i]), status ? flags(out.age_flags.data[i]) : "",
      ...(height ? [dated(out.ms_height_mag.data[i])] : [])].join(","));
  }
  process.stdout.write(linesOut.join("\n") + "\n");
}

main().catch((err) => {
  console.error(`posterior.js: error: ${err.message}`);
  process.exit(2);
});
