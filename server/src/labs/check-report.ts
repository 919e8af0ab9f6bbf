// Validation report for labs:check and its tests.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { MdxCompiler } from './bundle.ts';
import { loadCatalog, loadLab, type BrokenLab, type Catalog, type Lab } from './loader.ts';
import { formatProblem, type Problem } from './problems.ts';

/** Validates the labs at target; returns the report lines and whether any error was found. */
export async function checkLabs(target: string, cwd: string): Promise<{ lines: string[]; errors: number; warnings: number; catalog: Catalog }> {
  const abs = path.resolve(cwd, target);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) {
    return { lines: [`${target}: not a folder (give the labs folder, a track folder or a lab folder)`], errors: 1, warnings: 0, catalog: { tracks: [], labs: [], broken: [], problems: [] } };
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
    catalog = { tracks: all.tracks.filter((t) => t.id === track), labs: all.labs.filter((l) => l.track === track), broken: all.broken.filter((b) => b.track === track), problems: all.problems.filter((p) => p.file.includes(`/${track}/`)) };
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
      lines.push(`  ${lab.id.padEnd(34)} ${lab.gate === 'model' ? 'in CI on the model cluster and on real clusters (labs:verify)' : `on real clusters only (labs:verify): ${lab.gateReason}`}`);
    }
    lines.push('', 'Mistake gates (each common wrong answer scores at most its maxPercent):');
    for (const lab of catalog.labs) {
      if (lab.mistakes.length === 0) lines.push(`  ${lab.id.padEnd(34)} no mistakes yet: add mistakes/<name>/ with the common wrong answers`);
      for (const [i, m] of lab.mistakes.entries()) {
        const where = lab.gate === 'real' || m.script ? ' (real clusters only)' : '';
        lines.push(`  ${(i === 0 ? lab.id : '').padEnd(34)} ≤${String(m.maxPercent).padStart(3)}%  ${m.name}: ${m.title}${where}`);
      }
    }
  }
  lines.push('', `${total} lab(s) checked: ${catalog.labs.length} ok, ${catalog.broken.length} broken; ${errors} error(s), ${warnings} warning(s)`);
  return { lines, errors, warnings, catalog };
}

function isTrackDir(dir: string): boolean {
  return path.basename(path.dirname(dir)) === 'labs' && !existsSync(path.join(dir, 'lab.mdx'));
}

