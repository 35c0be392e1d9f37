import { ApiError, pauseDocument, resumeDocument, startDocument, uploadExhibit } from './js/api.js';
import { LiveDocument } from './js/live.js';
import { DocumentView } from './js/render.js';
import * as fmt from './js/format.js';

const $ = (id) => document.getElementById(id);
const LOG_LIMIT = 50;
const EXHIBIT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MODE_TEXT = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  live: 'Live: updates are pushed by the server',
  polling: 'Live stream unavailable: checking every 2 s',
  offline: 'Server unreachable: retrying…',
  ended: 'Finished: no more updates',
};

const view = new DocumentView();
let current = null; // { threadId, live, state, metadataAt }

function setMode(mode) {
  const node = $('connection');
  node.dataset.mode = mode;
  node.textContent = MODE_TEXT[mode] ?? mode;
}

function announce(text) {
  $('announcer').textContent = text;
}

function render() {
  if (current?.state) view.render(current.state, current);
}

const logKey = (l) => `${l.timestamp}|${l.level}|${l.agent}|${l.message}`;

/** Applies one stream event to the state; events carry absolute values, so applying one twice is harmless. */
function applyEvent(state, type, data) {
  switch (type) {
    case 'section': {
      const i = state.sections.findIndex((s) => s.section_id === data.section_id);
      if (i >= 0) state.sections[i] = data;
      else state.sections.push(data);
      break;
    }
    case 'exhibit': {
      state.exhibits = state.exhibits.filter((x) => x.exhibit_id !== data.exhibit_id);
      state.exhibits.push(data);
      break;
    }
    case 'log': {
      // A replay after a poll may repeat a line the poll already showed.
      if (!state.logs.some((l) => logKey(l) === logKey(data))) state.logs = [...state.logs, data].slice(-LOG_LIMIT);
      break;
    }
    case 'metadata':
      state.metadata = data;
      return true;
    case 'status':
      state.status = data.status;
      if (data.error_message) state.error_message = data.error_message;
      break;
  }
  return false;
}

function openThread(threadId, { focus = false } = {}) {
  current?.live.stop();
  $('open-error').textContent = '';
  $('thread-input').value = threadId;
  view.reset(threadId);
  const doc = { threadId, state: null, metadataAt: performance.now(), live: null };
  let lastStatus = null;
  const statusChanged = () => {
    if (doc.state && doc.state.status !== lastStatus) {
      if (lastStatus !== null) announce(`Status: ${fmt.status(doc.state.status)}`);
      lastStatus = doc.state.status;
    }
  };
  doc.live = new LiveDocument(threadId, {
    onSnapshot(preview) {
      doc.state = preview;
      doc.metadataAt = performance.now();
      statusChanged();
      render();
    },
    onEvent(type, data) {
      if (!doc.state) return;
      if (applyEvent(doc.state, type, data)) doc.metadataAt = performance.now();
      statusChanged();
      render();
    },
    onMode: setMode,
    onEnd(reason) {
      if (reason === 'deleted') {
        $('doc-error').textContent = 'This document was deleted.';
        $('pause-button').disabled = true;
        $('resume-button').disabled = true;
      }
    },
    onGone() {
      setMode('idle');
      $('document').hidden = true;
      $('open-error').textContent = `Document ${threadId} was not found. It may have expired or been deleted.`;
      if (current === doc) current = null;
    },
  });
  current = doc;
  doc.live.start();
  if (focus) $('doc-title').focus();
}

/** The open document lives in the URL (?thread=…) so a reload or a shared link reopens it. */
function showThreadInUrl(threadId) {
  const url = new URL(window.location.href);
  if (url.searchParams.get('thread') === threadId) return;
  url.searchParams.set('thread', threadId);
  window.history.pushState({ threadId }, '', url);
}

function openFromUrl() {
  const threadId = new URL(window.location.href).searchParams.get('thread');
  if (threadId) openThread(threadId);
  else {
    current?.live.stop();
    current = null;
    $('document').hidden = true;
    setMode('idle');
  }
}

function lines(value) {
  return value
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

function startBody(form) {
  const data = new FormData(form);
  const text = (name) => String(data.get(name) ?? '').trim();
  const facts = {};
  if (text('beneficiary_name')) facts.beneficiary_name = text('beneficiary_name');
  if (text('field')) facts.field = text('field');
  for (const list of ['awards', 'memberships', 'publications']) {
    const items = lines(String(data.get(list) ?? ''));
    if (items.length) facts[list] = items;
  }
  const body = { case_id: text('case_id'), user_id: text('user_id'), document_type: text('document_type') || 'petition' };
  if (Object.keys(facts).length) body.case_facts = facts;
  return body;
}

async function busy(button, action) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await action();
  } finally {
    button.removeAttribute('aria-busy');
    button.disabled = false;
  }
}

$('start-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const error = $('start-error');
  error.textContent = '';
  for (const input of [$('case-id'), $('user-id')]) {
    if (!input.checkValidity()) {
      error.textContent = `${input.labels[0].textContent}: enter 1–128 letters, digits or . _ : @ -`;
      input.focus();
      return;
    }
  }
  await busy($('start-button'), async () => {
    try {
      const started = await startDocument(startBody(form));
      showThreadInUrl(started.thread_id);
      openThread(started.thread_id, { focus: true });
    } catch (err) {
      error.textContent = `Could not start: ${err instanceof ApiError ? err.message : 'unexpected error'}`;
    }
  });
});

$('open-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const threadId = $('thread-input').value.trim();
  if (!threadId) {
    $('open-error').textContent = 'Enter a thread id.';
    $('thread-input').focus();
    return;
  }
  showThreadInUrl(threadId);
  openThread(threadId, { focus: true });
});

async function transition(action, button) {
  if (!current) return;
  const doc = current;
  $('action-error').textContent = '';
  $('pause-button').disabled = true;
  $('resume-button').disabled = true;
  try {
    const result = await action(doc.threadId);
    // The stream will confirm; showing the new status at once keeps the buttons honest meanwhile.
    if (doc.state && current === doc) doc.state.status = result.status;
    announce(result.message);
    void doc.live.refreshUnlessLive();
  } catch (err) {
    $('action-error').textContent = err instanceof ApiError ? err.message : 'Unexpected error';
  }
  render();
  if (!button.disabled) button.focus();
}

$('pause-button').addEventListener('click', (e) => transition(pauseDocument, e.currentTarget));
$('resume-button').addEventListener('click', (e) => transition(resumeDocument, e.currentTarget));

$('upload-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!current) return;
  const threadId = current.threadId;
  const error = $('upload-error');
  const message = $('upload-message');
  error.textContent = '';
  message.textContent = '';
  const exhibitId = $('exhibit-id').value.trim();
  const file = $('exhibit-file').files[0];
  if (!EXHIBIT_ID.test(exhibitId) || exhibitId.includes('..')) {
    error.textContent =
      'Exhibit id: 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit, without "..".';
    $('exhibit-id').focus();
    return;
  }
  if (!file) {
    error.textContent = 'Choose a file to upload.';
    $('exhibit-file').focus();
    return;
  }
  const row = $('upload-progress-row');
  const bar = $('upload-progress');
  const show = (pct) => {
    bar.value = pct;
    bar.textContent = `${pct}%`;
    $('upload-percent').textContent = `${pct}%`;
  };
  show(0);
  row.hidden = false;
  await busy($('upload-button'), async () => {
    try {
      const result = await uploadExhibit(threadId, exhibitId, file, show);
      message.textContent = `Uploaded ${result.filename} as exhibit ${result.exhibit_id}.`;
      $('upload-form').reset();
      if (current?.threadId === threadId) void current.live.refreshUnlessLive();
    } catch (err) {
      const code = err instanceof ApiError && err.code ? ` (${err.code})` : '';
      error.textContent = `Upload rejected: ${err instanceof ApiError ? err.message : 'unexpected error'}${code}`;
    } finally {
      row.hidden = true;
    }
  });
});

window.addEventListener('popstate', openFromUrl);

// Elapsed time and the estimate keep moving between server updates.
setInterval(() => {
  if (current?.state?.status === 'generating') view.renderMetadata(current.state, current.metadataAt);
}, 1000);

openFromUrl();
