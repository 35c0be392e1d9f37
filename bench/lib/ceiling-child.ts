// The baselines, in their own process like the service: a bare Express app with default settings
// (the ceiling for any Express service on this machine), a raw stream-to-disk upload handler, a
// `res.sendFile` of a PDF, and pdfkit writing the same text without any HTML handling.
import { createWriteStream, readFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import express from 'express';
import PDFDocument from 'pdfkit';
import { Probe } from './probe.js';
import { serveRpc } from './rpc.js';

const probe = new Probe();
const tmp = process.env.BENCH_TMP ?? '/tmp';
let payload: unknown = JSON.parse(readFileSync(process.env.BENCH_PAYLOAD_FILE ?? '', 'utf8'));
let pdfFile = '';

const app = express();
app.get('/api/document/preview/:thread_id', (_req, res) => {
  res.json(payload);
});
let uploads = 0;
app.post('/upload', async (req, res) => {
  const file = path.join(tmp, `ceiling-upload-${process.pid}-${uploads++}`);
  await pipeline(req, createWriteStream(file));
  await unlink(file);
  res.json({ success: true });
});
app.get('/pdf', (_req, res) => {
  res.sendFile(pdfFile);
});

const server = app.listen(0, '127.0.0.1');
await new Promise<void>((resolve, reject) => {
  server.once('listening', resolve);
  server.once('error', reject);
});

const fonts = path.dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'));

interface PlainDocument {
  title: string;
  sections: { heading: string; paragraphs: string[] }[];
  exhibits: string[];
}

/** pdfkit alone: the same text, fonts and layout basics, no HTML handling and no caching. */
async function renderPlain(doc: PlainDocument): Promise<{ ms: number; bytes: number }> {
  const began = performance.now();
  const file = path.join(tmp, `ceiling-${process.pid}.pdf`);
  const pdf = new PDFDocument({ size: 'LETTER', margin: 72, bufferPages: true });
  pdf.registerFont('body', path.join(fonts, 'DejaVuSans.ttf'));
  pdf.registerFont('bold', path.join(fonts, 'DejaVuSans-Bold.ttf'));
  const out = pipeline(pdf, createWriteStream(file));
  pdf.font('bold').fontSize(18).text(doc.title).moveDown();
  for (const s of doc.sections) {
    pdf.font('bold').fontSize(14).text(s.heading).moveDown(0.5);
    for (const p of s.paragraphs) pdf.font('body').fontSize(11).text(p).moveDown(0.5);
  }
  if (doc.exhibits.length) {
    pdf.font('bold').fontSize(14).text('Exhibits').moveDown(0.5);
    for (const e of doc.exhibits) pdf.font('body').fontSize(11).text(e);
  }
  const range = pdf.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    pdf.switchToPage(i);
    pdf.font('body').fontSize(9).text(`Page ${i + 1} of ${range.count}`, 72, pdf.page.height - 50, { lineBreak: false });
  }
  pdf.end();
  await out;
  const ms = performance.now() - began;
  const bytes = readFileSync(file).length;
  pdfFile = file;
  return { ms, bytes };
}

serveRpc(
  {
    stats: () => probe.stats(),
    resetEld: () => probe.resetEld(),
    startPeak: () => probe.startPeak(),
    stopPeak: () => probe.stopPeak(),
    setPayload: (file: string) => {
      payload = JSON.parse(readFileSync(file, 'utf8'));
    },
    setPdf: (file: string) => {
      pdfFile = file;
    },
    renderPlain,
  },
  { port: (server.address() as AddressInfo).port, pid: process.pid },
);
