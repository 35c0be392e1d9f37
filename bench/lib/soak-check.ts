import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { SoakClient } from './soak-client.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/i;

export interface Preview {
  status: string;
  sections: Array<{ section_name: string; status: string }>;
  exhibits: Array<{ file_path: string }>;
  logs: Array<{ message: string }>;
}

/** The state of every workflow the soak knows of, or finds files of, after the load. */
export async function readLive(client: SoakClient, ids: Iterable<string>): Promise<Map<string, Preview>> {
  const live = new Map<string, Preview>();
  for (const id of ids) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const res = await client.request('check', 'GET', `/api/document/preview/${id}`);
      if (res?.status === 200) live.set(id, res.body as Preview);
      if (res?.status === 200 || res?.status === 404) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return live;
}

/** Thread ids named by the entries of both folders. */
export function idsOnDisk(uploadDir: string, pdfDir: string): Set<string> {
  const ids = new Set<string>();
  for (const dir of [uploadDir, pdfDir]) {
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      const id = UUID.exec(name)?.[0];
      if (id) ids.add(id);
    }
  }
  return ids;
}

/**
 * Files that do not belong: anything under UPLOAD_DIR other than the recorded exhibit files of live
 * workflows (folders of gone workflows, temporary files, folders cut short while being removed), and PDFs
 * of workflows that are gone.
 */
export function orphans(uploadDir: string, pdfDir: string, live: Map<string, Preview>): string[] {
  const found: string[] = [];
  for (const name of existsSync(uploadDir) ? readdirSync(uploadDir) : []) {
    const full = path.join(uploadDir, name);
    const workflow = UUID.test(name) && name.length === 36 ? live.get(name) : undefined;
    if (!workflow || !statSync(full).isDirectory()) {
      found.push(name);
      continue;
    }
    const recorded = new Set(workflow.exhibits.map((e) => decodeURIComponent(e.file_path.split('/').pop() ?? '')));
    for (const file of readdirSync(full)) if (!recorded.has(file)) found.push(path.join(name, file));
  }
  for (const name of existsSync(pdfDir) ? readdirSync(pdfDir) : []) {
    const id = UUID.exec(name)?.[0];
    if (!id || !live.has(id)) found.push(path.join('pdfs', name));
  }
  return found;
}

/** Recorded exhibits whose file is missing. */
export function missingFiles(uploadDir: string, live: Map<string, Preview>): string[] {
  const missing: string[] = [];
  for (const [id, p] of live) {
    for (const e of p.exhibits) {
      const name = decodeURIComponent(e.file_path.split('/').pop() ?? '');
      if (!existsSync(path.join(uploadDir, id, name))) missing.push(path.join(id, name));
    }
  }
  return missing;
}

/**
 * Sections not written exactly once, by the workflow's own log ("Completed section: <name> (…)"). Only
 * workflows whose whole log is in the preview (it shows the newest 50 lines; the first line is "Starting …")
 * can be judged; the others are counted apart.
 */
export function sectionsNotOnce(live: Map<string, Preview>): { bad: string[]; judged: number; truncated: number } {
  const bad: string[] = [];
  let judged = 0;
  let truncated = 0;
  for (const [id, p] of live) {
    if (!p.logs.some((l) => l.message.startsWith('Starting '))) {
      truncated += 1;
      continue;
    }
    judged += 1;
    for (const s of p.sections) {
      const n = p.logs.filter((l) => l.message.startsWith(`Completed section: ${s.section_name} (`)).length;
      if (n !== 1 || s.status !== 'completed') bad.push(`${id} ${s.section_name}: ${n} completions, ${s.status}`);
    }
  }
  return { bad, judged, truncated };
}
