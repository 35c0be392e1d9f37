import { randomBytes } from 'node:crypto';

export type Part =
  | { name: string; value: string }
  | { name: string; filename: string; content: Buffer; type?: string; /** raw bytes of the whole filename parameter, e.g. `filename*=utf-8''a%00b` */ rawFilename?: Buffer };

/**
 * Builds a multipart/form-data body byte by byte, so tests can send what no well-behaved client would:
 * raw UTF-8 or NUL bytes in a file name, duplicate fields, several files.
 */
export function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----dmtest${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n`));
    if ('content' in part) {
      chunks.push(Buffer.from(`Content-Disposition: form-data; name="${part.name}"; `));
      chunks.push(part.rawFilename ?? Buffer.from(`filename="${part.filename}"`, 'utf8'));
      chunks.push(Buffer.from(`\r\nContent-Type: ${part.type ?? 'application/octet-stream'}\r\n\r\n`));
      chunks.push(part.content, Buffer.from('\r\n'));
    } else {
      chunks.push(Buffer.from(`Content-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`));
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
