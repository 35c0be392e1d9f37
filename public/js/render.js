import * as fmt from './format.js';

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const TEXT_STATES = { pending: 'Text: being read…', failed: 'Text: could not be read', unsupported: 'Text: none' };

/** An exhibit's extracted text: its size and a "view text" link once read, else its state and why. */
function exhibitText(x) {
  const line = el('span', `hint exhibit-text text-${x.text_status}`);
  if (x.text_status === 'ready') {
    const view = el('a', 'exhibit-text-link', 'view text');
    view.href = `${x.file_path}/text`;
    view.target = '_blank';
    view.rel = 'noopener';
    line.append(`Text: ${fmt.integer(x.text_chars ?? 0)} characters · `, view);
  } else {
    line.textContent = `${TEXT_STATES[x.text_status] ?? `Text: ${x.text_status}`}${x.text_error ? ` (${x.text_error})` : ''}`;
  }
  return line;
}

/**
 * Draws a document's state into the page. Sections are kept by id and their HTML is replaced only when it
 * changed, so reading or selecting text is not disturbed by unrelated updates.
 */
export class DocumentView {
  constructor() {
    this.sectionNodes = new Map();
    this.ticker = null;
  }

  reset(threadId) {
    this.sectionNodes.clear();
    $('sections').replaceChildren();
    $('exhibits').replaceChildren();
    $('logs').replaceChildren();
    $('doc-thread').textContent = threadId;
    $('doc-title').textContent = 'Loading document…';
    $('doc-error').textContent = '';
    $('action-error').textContent = '';
    $('upload-error').textContent = '';
    $('upload-message').textContent = '';
    $('document').hidden = false;
    $('pdf-link').setAttribute('href', `/api/download-petition-pdf/${encodeURIComponent(threadId)}`);
  }

  render(state, { metadataAt }) {
    const title = `${fmt.documentType(state.document_type)} — case ${state.case_id ?? ''}`;
    $('doc-title').textContent = title;
    document.title = `${fmt.status(state.status)} · ${title} · Document Monitor`;
    const badge = $('doc-status');
    badge.textContent = fmt.status(state.status);
    badge.dataset.status = state.status;
    $('doc-error').textContent = state.status === 'error' && state.error_message ? `Generation failed: ${state.error_message}` : '';

    $('pause-button').disabled = state.status !== 'generating';
    $('resume-button').disabled = state.status !== 'paused';
    const done = state.status === 'completed';
    $('pdf-link').hidden = !done;
    $('pdf-note').hidden = done;

    this.renderMetadata(state, metadataAt);
    this.renderSections(state.sections);
    this.renderExhibits(state.exhibits);
    this.renderLogs(state.logs);
  }

  /** Elapsed time and ETA move on between server updates while the document is generating. */
  renderMetadata(state, metadataAt) {
    const m = state.metadata;
    const pct = Number(m.progress_percentage) || 0;
    $('progress').value = pct;
    $('progress').textContent = `${pct}%`;
    $('progress-text').textContent = `${pct}%`;
    $('stat-sections').textContent = `${m.completed_sections} / ${m.total_sections}`;
    // Completed sections are in the metadata; a section being written adds what it has used so far.
    const writing = state.sections.filter((s) => s.status === 'in_progress').reduce((n, s) => n + (Number(s.tokens_used) || 0), 0);
    $('stat-tokens').textContent = fmt.integer(m.total_tokens + writing);
    // A model writer reports prompt and completion tokens; the template writer only a total.
    const split = Number(m.prompt_tokens) > 0 || Number(m.completion_tokens) > 0;
    $('stat-token-split').hidden = !split;
    if (split) $('stat-token-split').textContent = `${fmt.integer(m.prompt_tokens)} in · ${fmt.integer(m.completion_tokens)} out`;
    $('stat-cost').textContent = fmt.cost(m.estimated_cost);
    const drift = state.status === 'generating' ? (performance.now() - metadataAt) / 1000 : 0;
    $('stat-elapsed').textContent = fmt.duration(m.elapsed_time + drift);
    $('stat-eta').textContent =
      state.status === 'completed' ? 'done' : state.status === 'error' ? '–' : fmt.duration(Math.max(0, m.estimated_remaining - drift));
  }

  renderSections(sections) {
    const list = $('sections');
    const ordered = [...sections].sort((a, b) => a.section_order - b.section_order);
    ordered.forEach((section, index) => {
      let node = this.sectionNodes.get(section.section_id);
      if (!node) {
        node = this.createSection(section);
        this.sectionNodes.set(section.section_id, node);
      }
      if (list.children[index] !== node.li) list.insertBefore(node.li, list.children[index] ?? null);
      this.updateSection(node, section);
    });
  }

  createSection(section) {
    const li = el('li', 'section');
    li.id = `section-${section.section_id}`;
    const head = el('div', 'section-head');
    const name = el('h4', 'section-name', section.section_name);
    const chip = el('span', 'badge');
    head.append(name, chip);
    const body = el('div', 'section-body');
    li.append(head, body);
    return { li, chip, body, html: null, status: null };
  }

  updateSection(node, section) {
    node.li.dataset.status = section.status;
    node.chip.dataset.status = section.status;
    node.chip.textContent = fmt.status(section.status);
    const key = `${section.status}\u0000${section.content_html}\u0000${section.error_message ?? ''}`;
    if (node.html === key) return;
    node.html = key;
    const writing = section.status === 'in_progress';
    node.body.setAttribute('aria-busy', String(writing));
    if ((section.status === 'completed' || writing) && section.content_html) {
      // content_html is restricted server-side to a small allow-list of tags: the one place HTML is inserted.
      // A section being written shows the text so far, and grows with every update.
      node.body.innerHTML = section.content_html;
      // Writers usually open with the section's own title, which the card already shows.
      const first = node.body.firstElementChild;
      if (first && /^H[1-6]$/.test(first.tagName) && first.textContent.trim() === section.section_name.trim()) first.remove();
      if (writing) node.body.append(el('p', 'hint writing', 'Writing…'));
    } else if (section.status === 'error') {
      node.body.replaceChildren(el('p', 'error', `This section failed: ${section.error_message ?? 'unknown error'}`));
    } else if (writing) {
      node.body.replaceChildren(el('p', 'hint writing', 'Writing this section…'));
    } else {
      node.body.replaceChildren(el('p', 'hint', 'Waiting.'));
    }
  }

  renderExhibits(exhibits) {
    const items = [...exhibits]
      .sort((a, b) => String(a.uploaded_at).localeCompare(String(b.uploaded_at)))
      .map((x) => {
        const li = el('li', 'exhibit');
        const link = el('a', 'exhibit-link', x.filename);
        link.href = x.file_path;
        link.target = '_blank';
        link.rel = 'noopener';
        const id = el('span', 'exhibit-id', `Exhibit ${x.exhibit_id}`);
        const meta = el('span', 'hint', `${fmt.bytes(x.file_size)} · ${x.mime_type}`);
        li.append(id, link, meta);
        if (x.text_status) li.append(exhibitText(x));
        return li;
      });
    $('exhibits').replaceChildren(...items);
    $('exhibits-empty').hidden = items.length > 0;
  }

  renderLogs(logs) {
    const items = [...logs].reverse().map((entry) => {
      const li = el('li', 'log');
      li.dataset.level = entry.level;
      const when = el('time', 'log-time', fmt.time(entry.timestamp));
      when.dateTime = entry.timestamp;
      const level = el('span', 'log-level', entry.level);
      const message = el('span', 'log-message', entry.message);
      li.append(when, level, message);
      return li;
    });
    $('logs').replaceChildren(...items);
  }
}
