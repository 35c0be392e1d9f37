import type { SectionWriteInput, SectionWriteResult, SectionWriter } from '../../src/workflow/section-writer.js';

/**
 * A writer whose sections finish only when the test says so: `release()` lets the oldest waiting write
 * finish. Records every call, so tests can count how often each section was written.
 */
export class GatedWriter implements SectionWriter {
  readonly calls: string[] = [];
  private waiting: Array<{ section: string; finish: () => void }> = [];
  private failures = new Map<string, string>();

  failOn(sectionId: string, message: string): void {
    this.failures.set(sectionId, message);
  }

  get pending(): string[] {
    return this.waiting.map((w) => w.section);
  }

  /** Lets the oldest waiting write complete; returns its section id. */
  release(): string | undefined {
    const next = this.waiting.shift();
    next?.finish();
    return next?.section;
  }

  write({ section, signal }: SectionWriteInput): Promise<SectionWriteResult> {
    this.calls.push(section.section_id);
    return new Promise((resolve, reject) => {
      const failure = this.failures.get(section.section_id);
      const finish = () =>
        failure
          ? reject(new Error(failure))
          : resolve({ content_html: `<h2>${section.section_name}</h2><p>Text of ${section.section_id}</p>`, tokens_used: 100 });
      const entry = { section: section.section_id, finish };
      this.waiting.push(entry);
      signal.addEventListener(
        'abort',
        () => {
          this.waiting = this.waiting.filter((w) => w !== entry);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }
}
