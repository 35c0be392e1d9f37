import type { LogLevel } from '../../src/domain/types.js';
import type { SectionWriteInput, SectionWriteResult, SectionWriter } from '../../src/workflow/section-writer.js';

interface Waiting {
  section: string;
  finish: () => void;
}

/**
 * A writer whose sections finish only when the test says so (`release()` finishes the oldest waiting one).
 * Scriptable per section: a failure (cleared again with `succeedOn`), the text, and log lines the writer
 * reports while it works. Records every call and every abort.
 */
export class ScriptedWriter implements SectionWriter {
  readonly calls: string[] = [];
  readonly aborted: string[] = [];
  private waiting: Waiting[] = [];
  private readonly failures = new Map<string, string>();
  /** The section's text; cites nothing unless a test says so. */
  text: (sectionId: string) => string = (id) => `<p>Text of ${id}</p>`;
  /** Lines reported through `log` just before the section finishes. */
  logLines: { level: LogLevel; message: string }[] = [];

  failOn(sectionId: string, message: string): void {
    this.failures.set(sectionId, message);
  }

  succeedOn(sectionId: string): void {
    this.failures.delete(sectionId);
  }

  get pending(): string[] {
    return this.waiting.map((w) => w.section);
  }

  release(): string | undefined {
    const next = this.waiting.shift();
    next?.finish();
    return next?.section;
  }

  write({ section, signal, log }: SectionWriteInput): Promise<SectionWriteResult> {
    const id = section.section_id;
    this.calls.push(id);
    return new Promise((resolve, reject) => {
      const entry: Waiting = {
        section: id,
        finish: () => {
          for (const line of this.logLines) log(line.level, line.message);
          const failure = this.failures.get(id);
          if (failure) reject(new Error(failure));
          else resolve({ content_html: `<h2>${section.section_name}</h2>${this.text(id)}`, tokens_used: 120, prompt_tokens: 80, completion_tokens: 40 });
        },
      };
      this.waiting.push(entry);
      signal.addEventListener(
        'abort',
        () => {
          this.waiting = this.waiting.filter((w) => w !== entry);
          this.aborted.push(id);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }
}

/**
 * A writer that streams: every `everyMs` it reports the section so far (one more paragraph) through
 * `onProgress`, `chunks` times, then returns the whole (`chunks: Infinity` streams until aborted). Records
 * what it offered, per section, when it started and ended, and how often a partial's HTML was read.
 */
export class StreamingWriter implements SectionWriter {
  readonly offered = new Map<string, string[]>();
  readonly spans = new Map<string, { start: number; end: number }>();
  readonly aborted: string[] = [];
  /** How often anyone read a reported partial's `content_html` (a model writer renders it on reading). */
  reads = 0;

  constructor(private readonly options: { chunks: number; everyMs: number }) {}

  write({ section, signal, onProgress }: SectionWriteInput): Promise<SectionWriteResult> {
    const id = section.section_id;
    const offered: string[] = [];
    this.offered.set(id, offered);
    const span = { start: Date.now(), end: Number.NaN };
    this.spans.set(id, span);
    return new Promise((resolve, reject) => {
      let html = `<h2>${section.section_name}</h2>`;
      let n = 0;
      const timer = setInterval(() => {
        n++;
        html += `<p>chunk ${n}</p>`;
        offered.push(html);
        const text = html;
        const counter = this;
        onProgress?.({
          get content_html() {
            counter.reads++;
            return text;
          },
        });
        if (n >= this.options.chunks) {
          clearInterval(timer);
          span.end = Date.now();
          resolve({ content_html: html, tokens_used: n });
        }
      }, this.options.everyMs);
      signal.addEventListener(
        'abort',
        () => {
          clearInterval(timer);
          span.end = Date.now();
          this.aborted.push(id);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }
}
