// Thin wrappers over the HTTP API. Every failure becomes an ApiError carrying the server's {detail, code};
// every call carries the tab's bearer token when there is one, and a 401 is reported to the page.
import { authHeaders, reportUnauthorized } from './auth.js';

export class ApiError extends Error {
  constructor(detail, { status = 0, code = 'NETWORK_ERROR' } = {}) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

async function errorFrom(res) {
  try {
    const body = await res.json();
    if (body && typeof body.detail === 'string') return new ApiError(body.detail, { status: res.status, code: body.code });
  } catch {
    // Not JSON (a proxy's error page): fall through to a generic message.
  }
  return new ApiError(`The server answered ${res.status} ${res.statusText}`.trim(), { status: res.status, code: 'HTTP_ERROR' });
}

/** Reports a 401 to the page (which asks for a token again) and returns the error for the caller. */
export function unauthorizedIf(err) {
  if (err instanceof ApiError && err.status === 401) reportUnauthorized(err.message);
  return err;
}

async function call(url, init = {}, { allow = [] } = {}) {
  let res;
  try {
    res = await fetch(url, { ...init, headers: { ...authHeaders(), ...init.headers } });
  } catch {
    throw new ApiError('The server cannot be reached. Check your connection; the page keeps retrying.');
  }
  if (!res.ok && !allow.includes(res.status)) throw unauthorizedIf(await errorFrom(res));
  return res;
}

const postJson = (url, body) =>
  call(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then((res) => res.json());

const id = (threadId) => encodeURIComponent(threadId);

export const startDocument = (body) => postJson('/api/generate-petition', body);
export const pauseDocument = (threadId) => postJson(`/api/pause/${id(threadId)}`);
export const resumeDocument = (threadId) => postJson(`/api/resume/${id(threadId)}`);
export const deleteDocument = (threadId) => call(`/api/document/${id(threadId)}`, { method: 'DELETE' }).then(() => undefined);
export const pdfUrl = (threadId) => `/api/download-petition-pdf/${id(threadId)}`;
export const eventsUrl = (threadId) => `/api/document/events/${id(threadId)}`;

/** The preview; the browser revalidates with the ETag, so an unchanged document costs a 304. */
export const fetchPreview = (threadId) =>
  call(`/api/document/preview/${id(threadId)}`, { cache: 'no-cache', headers: { Accept: 'application/json' } }).then((res) =>
    res.json(),
  );

/**
 * One page of documents. `etag` is the one of the page last shown: the answer is `{ notModified: true }`
 * when the server says it has not changed (304), else `{ etag, page }`.
 */
export async function listDocuments(params, etag) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) query.set(name, value);
  const headers = { Accept: 'application/json', ...(etag ? { 'If-None-Match': etag } : {}) };
  // no-store: the page keeps the last answer itself, so a 304 reaches this code instead of the HTTP cache.
  const res = await call(`/api/documents?${query}`, { cache: 'no-store', headers }, { allow: [304] });
  if (res.status === 304) return { notModified: true };
  return { etag: res.headers.get('etag'), page: await res.json() };
}

/** A file of the API (an exhibit, the PDF) fetched with the token, as a Blob. */
export async function fetchFile(url) {
  const res = await call(url);
  return res.blob();
}

/**
 * Uploads one exhibit with XMLHttpRequest, the only browser API that reports upload progress.
 * Resolves with the API's answer; rejects with an ApiError built from the {detail, code} body.
 */
export function uploadExhibit(threadId, exhibitId, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/upload-exhibit/${id(threadId)}`);
    xhr.responseType = 'text';
    xhr.setRequestHeader('Accept', 'application/json');
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100));
    });
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(100);
        resolve(body);
      } else if (body && typeof body.detail === 'string') {
        reject(unauthorizedIf(new ApiError(body.detail, { status: xhr.status, code: body.code })));
      } else {
        reject(new ApiError(`The server answered ${xhr.status}`, { status: xhr.status, code: 'HTTP_ERROR' }));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError('The upload failed: the server cannot be reached.')));
    xhr.addEventListener('abort', () => reject(new ApiError('The upload was cancelled.', { code: 'ABORTED' })));
    const form = new FormData();
    // The id goes first so the server can check it before it reads the file.
    form.append('exhibit_id', exhibitId);
    form.append('file', file, file.name);
    xhr.send(form);
  });
}
