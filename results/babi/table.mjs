// Markdown tables from the JSON lines in this directory: node results/babi/table.mjs
// tta.jsonl (time-to-accuracy rows), the 20-task table (TABLE=file, default tasks20-s11.jsonl: session 11,
// build a4d04e5, for DMN+; DMN_TABLE=file, default tasks20-s9e.jsonl: session 9, build 50ded77, for the
// lecture DMN, whose training has not changed since; tasks20-s9e.jsonl also holds session 9's DMN+ rows,
// tasks20-s9.jsonl build 5386c85, tasks20-s7.jsonl session 7, all 5-minute limits; tasks20.jsonl holds
// session 6's 3-minute rows), the same beside strong supervision (STRONG=file, default
// supervised-s8.jsonl) and beside renaming (RENAMED=file, default tasks20-s11-rename.jsonl: session 11's
// --rename-answers/--rename-names rows; session 10's are tasks20-s10-rename.jsonl), ab.jsonl (questions/s A/B).
import fs from 'node:fs';
const dir = new URL('.', import.meta.url).pathname;
const read = (f) => (fs.existsSync(dir + f) ? fs.readFileSync(dir + f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
const pct = (x) => `${(100 * x).toFixed(1)}%`;
const at = (h, s) => { const p = h.filter((x) => x.seconds <= s).pop(); return p ? pct(p.accuracy) : '-'; };

console.log('| task | seed | reached | at (CPU s, training only) | steps | questions/s | accuracy at 1 / 2 / 5 min | commit |\n|---|---|---|---|---|---|---|---|');
for (const r of read('tta.jsonl')) {
  console.log(`| qa${r.task} | ${r.seed} | ${pct(r.bestAccuracy)} | ${r.secondsToTarget !== null ? r.secondsToTarget.toFixed(1) : `not reached in ${r.seconds.toFixed(0)}`} | ${r.steps} | ${Math.round(r.questionsPerSecond)} | ${[60, 120, 300].map((s) => (r.seconds >= s ? at(r.history, s) : "-")).join(" / ")} | ${r.commit} |`);
}
console.log('');
const rows = [
  ...read(process.env.TABLE ?? 'tasks20-s11.jsonl').filter((r) => r.variant === 'dmn+'),
  ...read(process.env.DMN_TABLE ?? 'tasks20-s9e.jsonl').filter((r) => r.variant === 'dmn'),
];
// One row per task and variant: the latest run.
const byVariant = (v) => [...new Map(rows.filter((r) => r.variant === v).map((r) => [r.task, r])).values()].sort((a, b) => a.task - b.task);
const dmn = new Map(byVariant('dmn').map((r) => [r.task, r]));
console.log('| task | file | DMN+ validation acc. (best) | stopped at (CPU s) | questions/s | DMN (lecture) acc. | commit |\n|---|---|---|---|---|---|---|');
const plus = byVariant('dmn+');
for (const r of plus) {
  const d = dmn.get(r.task);
  console.log(`| qa${r.task} | ${r.source.split('/').slice(-2).join('/')} | ${pct(r.bestAccuracy)} | ${r.seconds.toFixed(0)}${r.secondsToTarget !== null ? ' (target)' : ''} | ${Math.round(r.questionsPerSecond)} | ${d ? pct(d.bestAccuracy) : '-'} | ${r.commit} |`);
}
for (const [t, d] of dmn) if (!plus.some((r) => r.task === t)) console.log(`| qa${t} | ${d.source.split('/').slice(-2).join('/')} | - | - | - | ${pct(d.bestAccuracy)} | ${d.commit} |`);
if (plus.length) {
  const err = plus.map((r) => 1 - r.bestAccuracy);
  console.log(`\nDMN+ over ${plus.length} task(s): mean error ${pct(err.reduce((a, b) => a + b, 0) / err.length)}, failed (error > 5%): ${plus.filter((r) => r.bestAccuracy < 0.95).map((r) => 'qa' + r.task).join(', ') || 'none'}`);
}

// Weak (the DMN+ recipe: the answer only) beside strong supervision (--supervise 1: the gates are
// also trained on the supporting facts, the original DMN's), for both variants, one row per task.
const strongRows = read(process.env.STRONG ?? 'supervised-s8.jsonl');
if (strongRows.length) {
  const latest = (rs, v) => new Map(rs.filter((r) => r.variant === v).map((r) => [r.task, r]));
  // Weak with renaming: the renamed run where there is one, else the plain weak run.
  const renamed = latest(read(process.env.RENAMED ?? 'tasks20-s11-rename.jsonl'), 'dmn+');
  const weakPlus = latest(rows, 'dmn+');
  const withRenaming = new Map([...weakPlus].map(([t, r]) => [t, renamed.get(t) ?? r]));
  const cols = [weakPlus, withRenaming, latest(strongRows, 'dmn+'), latest(rows, 'dmn'), latest(strongRows, 'dmn')];
  const renaming = (r) => [r.training?.renameAnswers ? 'answers' : '', r.training?.renameWords?.length ? 'names' : ''].filter(Boolean).join(' + ');
  const cell = (r) => (r ? `${pct(r.bestAccuracy)} (${r.seconds.toFixed(0)} s${r.secondsToTarget !== null ? ', target' : ''}, ${Math.round(r.questionsPerSecond)} q/s${renaming(r) ? `, renamed: ${renaming(r)}` : ''})` : '-');
  const tasks = [...new Set(cols.flatMap((c) => [...c.keys()]))].sort((a, b) => a - b);
  console.log('\n| task | DMN+ weak | DMN+ weak, renaming where valid | DMN+ strong (--supervise 1) | DMN weak | DMN strong (--supervise 1) |\n|---|---|---|---|---|---|');
  for (const t of tasks) console.log(`| qa${t} | ${cols.map((c) => cell(c.get(t))).join(' | ')} |`);
  const names = ['DMN+ weak', 'DMN+ weak, renaming', 'DMN+ strong', 'DMN weak', 'DMN strong'];
  cols.forEach((c, i) => {
    const rs = [...c.values()];
    if (!rs.length) return;
    const err = rs.map((r) => 1 - r.bestAccuracy);
    console.log(`${names[i]} over ${rs.length} task(s): mean error ${pct(err.reduce((a, b) => a + b, 0) / err.length)}, failed (error > 5%): ${rs.filter((r) => r.bestAccuracy < 0.95).map((r) => 'qa' + r.task).join(', ') || 'none'}`);
  });
}
console.log('\n| file | A q/s | B q/s | B/A (median of paired steps) |\n|---|---|---|---|');
for (const r of read('ab.jsonl')) console.log(`| ${r.file} | ${r.qpsA} (${r.A}) | ${r.qpsB} (${r.B}) | ${r.speedupBoverA} |`);
