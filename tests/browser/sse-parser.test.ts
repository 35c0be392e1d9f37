import { describe, expect, it } from 'vitest';

/** The dashboard's SSE parser (public/js/sse.js), run here in Node: it uses nothing of the DOM. */
interface ParsedEvent {
  type: string;
  data: string;
  id: string;
}
interface Parser {
  push(text: string): void;
}
type ParserClass = new (options: { onEvent: (e: ParsedEvent) => void; onRetry?: (ms: number) => void }) => Parser;

const modulePath = new URL('../../public/js/sse.js', import.meta.url).href;
const { SseParser } = (await import(modulePath)) as { SseParser: ParserClass };

function parse(chunks: string[]) {
  const events: ParsedEvent[] = [];
  const retries: number[] = [];
  const parser = new SseParser({ onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms) });
  for (const chunk of chunks) parser.push(chunk);
  return { events, retries };
}

const STREAM =
  'retry: 2000\n\n' +
  ': heartbeat\n\n' +
  'id: 7\nevent: snapshot\ndata: {"status":"generating"}\n\n' +
  'id: 8-1\r\nevent: section\r\ndata: {"a":1}\r\n\r\n' +
  'event: log\rdata: first line\rdata: second line\r\r' +
  'data:no space\n\n' +
  'event: empty\n\n' +
  'id: 9-1\nevent: end\ndata: {"reason":"completed"}\n\n';

const EXPECTED: ParsedEvent[] = [
  { type: 'snapshot', data: '{"status":"generating"}', id: '7' },
  { type: 'section', data: '{"a":1}', id: '8-1' },
  { type: 'log', data: 'first line\nsecond line', id: '8-1' },
  { type: 'message', data: 'no space', id: '8-1' },
  { type: 'end', data: '{"reason":"completed"}', id: '9-1' },
];

describe('the dashboard SSE parser', () => {
  it('reads events, ids, multi-line data, comments and retry, with any line ending', () => {
    const { events, retries } = parse([STREAM]);
    expect(events).toEqual(EXPECTED);
    expect(retries).toEqual([2000]);
  });

  it('gives the same events however the stream is cut into chunks', () => {
    for (let size = 1; size <= 7; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < STREAM.length; i += size) chunks.push(STREAM.slice(i, i + size));
      expect(parse(chunks).events, `chunks of ${size}`).toEqual(EXPECTED);
    }
    // A \r\n cut between its two characters is one line end, not two.
    expect(parse(['data: x\r', '\ndata: y\r', '\n\r', '\n']).events).toEqual([{ type: 'message', data: 'x\ny', id: '' }]);
  });

  it('holds an unfinished event back until its blank line arrives', () => {
    expect(parse(['event: section\ndata: {"a":1}\n']).events).toEqual([]);
  });
});
