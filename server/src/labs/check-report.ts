// Validation report for labs:check and its tests.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { MdxCompiler } from './bundle.ts';
import { COMPETENCIES, COMPETENCY_CODES, DOMAINS } from './format.ts';
import { loadCatalog, loadLab, mistakeScripts, type BrokenLab, type Catalog, type Lab } from './loader.ts';
import { formatProblem, type Problem } from './problems.ts';
import { drawCount, paramSpaceSize } from './params.ts';

/** Validates the labs at target; returns the report lines and whether any error was found. */
export async function checkLabs(target: string, cwd: string): Promise<{ lines: string[]; errors: number; warnings: number; catalog: Catalog }> {
  const abs = path.resolve(cwd, target);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) {
    return {
      lines: [`${target}: not a folder (give the labs folder, a track folder or a lab folder)`],
      errors: 1,
      warnings: 0,
      catalog: { tracks: [], labs: [], broken: [], problems: [] },
    };
  }
  const compiler = new MdxCompiler();
  let catalog: Catalog;
  if (existsSync(path.join(abs, 'lab.mdx'))) {
    // one lab: labs/<track>/<lab>
    const trackDir = path.dirname(abs);
    const root = path.dirname(path.dirname(trackDir));
    const r: Lab | BrokenLab = await loadLab(abs, path.basename(trackDir), compiler, root);
    catalog = { tracks: [], labs: 'problems' in r ? [] : [r], broken: 'problems' in r ? [r] : [], problems: [] };
  } else if (existsSync(path.join(abs, 'track.yaml')) || isTrackDir(abs)) {
    const all = await loadCatalog(path.dirname(abs), compiler);
    const track = path.basename(abs);
    catalog = {
      tracks: all.tracks.filter((t) => t.id === track),
      labs: all.labs.filter((l) => l.track === track),
      broken: all.broken.filter((b) => b.track === track),
      problems: all.problems.filter((p) => p.file.includes(`/${track}/`)),
    };
  } else {
    catalog = await loadCatalog(abs, compiler);
  }

  const problems: Problem[] = [...catalog.problems, ...catalog.broken.flatMap((b) => b.problems), ...catalog.labs.flatMap((l) => l.warnings)];
  problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
  const lines = problems.map(formatProblem);
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors;
  const total = catalog.labs.length + catalog.broken.length;
  if (catalog.labs.length > 0) {
    lines.push('', 'Honesty gates (0 after setup, 100% after the reference solution) run:');
    for (const lab of catalog.labs) {
      lines.push(
        `  ${lab.id.padEnd(34)} ${lab.gate === 'model' ? 'in CI on the model cluster and on real clusters (labs:verify)' : `on real clusters only (labs:verify): ${lab.gateReason}`}`,
      );
    }
    const parametrised = catalog.labs.filter((l) => l.params);
    if (parametrised.length) {
      lines.push('', 'Parametrised labs (each attempt draws values; the model gates grade 3 distinct draws, labs:verify one random draw):');
      for (const lab of parametrised) {
        const params = Object.entries(lab.params!).map(([n, d]) => `${n} (${paramSpaceSize(d)})`);
        lines.push(`  ${lab.id.padEnd(34)} ${params.join(', ')}: ${drawCount(lab.params!)} draws`);
      }
    }
    lines.push('', 'Mistake gates (each common wrong answer scores at most its maxPercent):');
    for (const lab of catalog.labs) {
      if (lab.mistakes.length === 0) lines.push(`  ${lab.id.padEnd(34)} no mistakes yet: add mistakes/<name>/ with the common wrong answers`);
      for (const [i, m] of lab.mistakes.entries()) {
        const where = lab.gate === 'real' || mistakeScripts(m).length ? ' (real clusters only)' : '';
        lines.push(`  ${(i === 0 ? lab.id : '').padEnd(34)} ≤${String(m.maxPercent).padStart(3)}%  ${m.name}: ${m.title}${where}`);
      }
    }
  }
  if (catalog.labs.length > 0) lines.push('', ...coverageTable(catalog.labs));
  let errorCount = errors;
  if (total === 0) {
    // An empty result is never a silent success: a wrong folder or an unfollowed link looks like this.
    lines.push(`${target}: no labs found (expected <track>/<lab>/lab.mdx below it)`);
    errorCount++;
  }
  lines.push('', `${total} lab(s) checked: ${catalog.labs.length} ok, ${catalog.broken.length} broken; ${errorCount} error(s), ${warnings} warning(s)`);
  return { lines, errors: errorCount, warnings, catalog };
}

/** Competency → labs, by domain, with the competencies no lab trains yet. */
export function coverageTable(labs: readonly Lab[]): string[] {
  const lines = ['Coverage of the CKA competencies (labs per competency):'];
  for (const [domain, name] of Object.entries(DOMAINS)) {
    lines.push(`  ${name}`);
    for (const code of COMPETENCY_CODES.filter((c) => COMPETENCIES[c].domain === domain)) {
      const ids = labs.filter((l) => l.meta.competencies.includes(code)).map((l) => l.id);
      lines.push(`    ${code} ${String(ids.length).padStart(2)}  ${COMPETENCIES[code].title.slice(0, 60).padEnd(60)}  ${ids.join(', ') || '—'}`);
    }
  }
  const covered = COMPETENCY_CODES.filter((c) => labs.some((l) => l.meta.competencies.includes(c))).length;
  const untagged = labs.filter((l) => l.meta.competencies.length === 0).map((l) => l.id);
  lines.push(`  ${covered}/${COMPETENCY_CODES.length} competencies have a lab${untagged.length ? `; labs naming no competency: ${untagged.join(', ')}` : ''}`);
  return lines;
}

function isTrackDir(dir: string): boolean {
  // A track holds lab folders (each with lab.mdx); the labs folder holds tracks.
  if (existsSync(path.join(dir, 'lab.mdx'))) return false;
  try {
    return readdirSync(dir, { withFileTypes: true }).some((d) => existsSync(path.join(dir, d.name, 'lab.mdx')));
  } catch {
    return false;
  }
}
