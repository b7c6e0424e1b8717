// Ages from gyroage's posterior graph with onnxruntime-node alone (no Python).
//
//   cd examples/node && npm install --ignore-scripts   # the CPU binaries ship in the npm package
//   node posterior.js ../../models/gyroage-posterior.onnx < stars.csv > ages.csv
//
// stars.csv: a header with prot_days,bp_rp0[,bp_rp0_err] (plain comma-separated numbers; an empty
// cell or "nan" means missing); with ../../models/gyroage-posterior-mag.onnx also abs_g0[,abs_g0_err] (the
// graph with the main-sequence term: then ms_height_mag is written too). Every input the graph declares is
// read from the column of that name. Output: the input columns, ok, status (ok, extrapolated, or empty where
// the star gets no age: gyroage estimate gives the reason), the five age percentiles and the MAP age (Myr),
// p_outlier and age_flags (';'-separated names, as gyroage estimate's age_flags column).
"use strict";
const fs = require("fs");
const ort = require("onnxruntime-node");

const QUANTILE_COLUMNS = ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr"];
// The graph's int64 "age_flags" output is a bit mask: bit i set for FLAG_BITS[i] (the graph's gyroage_graph metadata
// lists them as flag_bits).
const FLAG_BITS = ["colour_blue_of_kraft_break", "period_outside_training", "age_outside_training", "likely_outlier",
                   "pre_main_sequence_age", "above_main_sequence"];

function number(text) {
  const t = (text || "").trim().toLowerCase();
  if (/^[+]?inf(inity)?$/.test(t)) return Infinity;
  if (/^-inf(inity)?$/.test(t)) return -Infinity;
  return t === "" ? NaN : Number(t);
}

async function main() {
  const model = process.argv[2] || "../../models/gyroage-posterior.onnx";
  const lines = fs.readFileSync(0, "utf8").split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = lines[0].split(",").map((h) => h.trim().toLowerCase());
  const rows = lines.slice(1).map((l) => l.split(","));
  const column = (name) => {
    const i = header.indexOf(name);
    return Float64Array.from(rows, (r) => (i < 0 ? NaN : number(r[i])));
  };
  const n = rows.length;
  const session = await ort.InferenceSession.create(model);
  // The model card travels inside the graph (metadata key gyroage_model_card); onnxruntime-node
  // does not expose custom metadata yet, so read it with any protobuf/ONNX reader if needed.
  const feeds = {};
  for (const name of session.inputNames) {
    feeds[name] = new ort.Tensor("float64", column(name), [n]);
  }
  const height = session.outputNames.includes("ms_height_mag");
  const out = await session.run(feeds);
  const q = out.age_quantiles_myr.data; // row-major [n, 5]
  const fmt = (x) => (Number.isNaN(x) ? "" : x.toPrecision(7));
  const flags = (bits) => FLAG_BITS.filter((_, b) => (bits >> BigInt(b)) & 1n).join(";"); // int64: BigInt
  const header_out = [...session.inputNames, "ok", "status", ...QUANTILE_COLUMNS, "age_map_myr",
    "p_outlier", "age_flags", ...(height ? ["ms_height_mag"] : [])];
  const lines_out = [header_out.join(",")];
  for (let i = 0; i < n; i++) {
    const qs = Array.from(q.slice(5 * i, 5 * i + 5), fmt);
    const status = out.ok.data[i] ? "ok" : out.extrapolated.data[i] ? "extrapolated" : "";
    lines_out.push([...session.inputNames.map((name) => feeds[name].data[i]),
      out.ok.data[i] ? "True" : "False", status, ...qs, fmt(out.age_map_myr.data[i]),
      fmt(out.p_outlier.data[i]), flags(out.age_flags.data[i]),
      ...(height ? [fmt(status ? out.ms_height_mag.data[i] : NaN)] : [])].join(",")); // as estimate: dated rows
  }
  process.stdout.write(lines_out.join("\n") + "\n");
}

main().catch((err) => {
  console.error(`posterior.js: error: ${err.message}`);
  process.exit(2);
});
