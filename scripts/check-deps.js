#!/usr/bin/env node
// npm run deps: dependency-cruiser's JSON on stdin (the module rules of .dependency-cruiser.cjs),
// plus what it cannot say: no folder of src/ imports one that imports it back, through any path
// (folders are the architecture's layers; a circle between two means neither is below the other).
'use strict';
const fs = require('fs');

const result = JSON.parse(fs.readFileSync(0, 'utf8'));
let failed = 0;
for (const v of result.summary.violations) {
  failed++;
  const via = v.cycle ? ` (${v.cycle.map((c) => c.name ?? c).join(' -> ')})` : '';
  console.error(`${v.rule.severity}: ${v.rule.name}: ${v.from} -> ${v.to}${via}`);
}

const folderOf = (p) => /^src\/([^/]+)\//.exec(p)?.[1] ?? '(top)';
/** folder -> folder -> one import that makes the edge */
const edges = new Map();
for (const m of result.modules) {
  if (!m.source.startsWith('src/')) continue;
  for (const d of m.dependencies) {
    if (!d.resolved.startsWith('src/')) continue;
    const a = folderOf(m.source);
    const b = folderOf(d.resolved);
    if (a === b) continue;
    if (!edges.has(a)) edges.set(a, new Map());
    if (!edges.get(a).has(b)) edges.get(a).set(b, `${m.source} -> ${d.resolved}`);
  }
}
// A path back from b to a, if any (breadth-first, so the shortest).
function pathBack(from, to) {
  const prev = new Map([[from, null]]);
  const queue = [from];
  while (queue.length) {
    const f = queue.shift();
    if (f === to) {
      const path = [];
      for (let x = to; x !== null; x = prev.get(x)) path.unshift(x);
      return path;
    }
    for (const next of edges.get(f)?.keys() ?? []) {
      if (!prev.has(next)) {
        prev.set(next, f);
        queue.push(next);
      }
    }
  }
  return undefined;
}
const seen = new Set();
for (const [a, outs] of edges) {
  for (const [b, example] of outs) {
    const back = pathBack(b, a);
    if (!back) continue;
    const key = [...new Set(back)].sort().join(','); // one report per set of folders in a circle
    if (seen.has(key)) continue;
    seen.add(key);
    failed++;
    const steps = back.slice(1).map((f, i) => edges.get(back[i]).get(f));
    console.error(`error: folder-cycle: ${a} -> ${back.join(' -> ')}\n  ${[example, ...steps].join('\n  ')}`);
  }
}
if (failed) {
  console.error(`\n${failed} dependency violation(s)`);
  process.exit(1);
}
console.log(`no dependency violations (${result.summary.totalCruised} modules, no folder cycle)`);
