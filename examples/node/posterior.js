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
// ms_height_mag is written too). No units are converted and no other colour is read (bp_rp with a reddening, teff):
// gyroage estimate does that. A missing required column is an error (exit 2); stderr says which column each input
// was read from. An empty cell, nan, NA, null, none or -- is missing; other text that is not a number is too.
// Output: every input column as it came in, then ok, status (ok, extrapolated, or empty where the star gets no
// age: gyroage estimate gives the reason), the five age percentiles and the MAP age (Myr), p_outlier and age_flags
// (';'-separated names, as gyroage estimate's age_flags column); cells are empty where estimate's are.
"use strict";
const fs = require("fs");
const ort = require("onnxruntime-node");

const QUANTILE_COLUMNS = ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr"];
// The graph's int64 "age_flags" output is a bit mask: bit i set for FLAG_BITS[i] (gyroage.statuses.FLAG_ORDER; the
// graph's gyroage_graph metadata lists them as flag_bits).
const FLAG_BITS = ["colour_blue_of_kraft_break", "period_outside_training", "age_outside_training", "likely_outlier",
                   "pre_main_sequence_age", "above_main_sequence", "age_beyond_prior_bound"];
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
const MISSING = new Set(["", "nan", "na", "n/a", "null", "none", "--"]); // gyroage/csv_layout.py NA_TOKENS

class UserError extends Error {}

// columns.py column_key: case-insensitive, ignoring a BOM, spaces, '-' (and Unicode minus), '_' and brackets.
const columnKey = (name) => name.replace(/^\ufeff/, "").trim().replace(/[\u2212\u2013]/g, "-").toLowerCase()
  .replace(/[ \-_()[\]]/g, "");
const KEYS = new Map();
for (const [input, names] of Object.entries(ALIASES)) for (const a of names) KEYS.set(columnKey(a), input);

// The graph input a column holds, or undefined. As columns.py: a lower-case e_ (or err_) prefix names the error of
// the quantity the rest names (e_BPRP_0 is bp_rp0_err), never a value.
function inputOf(name) {
  const clean = name.replace(/^\ufeff/, "").trim();
  const rest = clean.startsWith("e_") ? clean.slice(2) : /^err_/i.test(clean) ? clean.slice(4) : null;
  if (rest === null) return KEYS.get(columnKey(clean));
  const of = KEYS.get(columnKey(rest));
  return of !== undefined && ALIASES[`${of}_err`] ? `${of}_err` : undefined;
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

function number(text) {
  const t = (text || "").trim().toLowerCase();
  if (MISSING.has(t)) return NaN;
  if (/^[+]?inf(inity)?$/.test(t)) return Infinity;
  if (/^-inf(inity)?$/.test(t)) return -Infinity;
  return Number(t); // text that is no number: NaN, missing (gyroage estimate calls it invalid)
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
  for (const [i, name] of header.entries()) {
    const input = inputOf(name);
    if (input === undefined || !session.inputNames.includes(input)) continue;
    if (input in source) console.error(`posterior.js: several columns of ${input}: '${header[source[input]]}' read, '${name}' not`);
    else source[input] = i;
  }
  for (const input of REQUIRED) {
    if (session.inputNames.includes(input) && !(input in source)) {
      throw new UserError(`missing column ${input} (as ${ALIASES[input].slice(0, 4).join(", ")}, ...)` +
        (input === "abs_g0" ? ": without magnitudes use gyroage-posterior.onnx" : ""));
    }
  }
  const n = rows.length;
  const read = session.inputNames.map((k) => (k in source ? `${k} from '${header[source[k]]}'` : `${k} not given`));
  console.error(`posterior.js: ${n} stars; read ${read.join(", ")}`);
  const feeds = {};
  for (const name of session.inputNames) {
    const i = source[name];
    feeds[name] = new ort.Tensor("float64", Float64Array.from(rows, (r) => (i === undefined ? NaN : number(r[i]))), [n]);
  }
  const height = session.outputNames.includes("ms_height_mag");
  const out = await session.run(feeds);
  const q = out.age_quantiles_myr.data; // row-major [n, 5]
  const fmt = (x) => (Number.isFinite(x) ? x.toPrecision(7) : "");
  const flags = (bits) => FLAG_BITS.filter((_, b) => (bits >> BigInt(b)) & 1n).join(";"); // int64: BigInt
  const headerOut = [...header, "ok", "status", ...QUANTILE_COLUMNS, "age_map_myr", "p_outlier", "age_flags",
    ...(height ? ["ms_height_mag"] : [])];
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
