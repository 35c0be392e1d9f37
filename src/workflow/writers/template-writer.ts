import { sectionDefinition } from '../../domain/document-types.js';
import type { CaseFacts, Exhibit, Workflow } from '../../domain/types.js';
import { html } from '../html.js';
import { estimateTokens, type SectionWriteInput, type SectionWriteResult, type SectionWriter } from '../section-writer.js';
import { sleep } from '../sleep.js';

export interface TemplateWriterOptions {
  delayMinMs: number;
  delayMaxMs: number;
  random?: () => number;
}

/**
 * What a section is composed from. A fact the case does not give is a bracketed placeholder a drafter fills
 * in ("[field of expertise]"); sentences are written so that no placeholder ever starts one.
 */
interface Context {
  wf: Workflow;
  facts: CaseFacts;
  name: string;
  field: string;
  cited: Exhibit[];
}

type Compose = (ctx: Context) => string[];

const NAME_PLACEHOLDER = '[beneficiary name]';
const FIELD_PLACEHOLDER = '[field of expertise]';

/** The facts' items as a list, or one placeholder item saying what belongs there. */
const list = (items: string[] | undefined, placeholder: string) =>
  `<ul>${(items?.length ? items : [placeholder]).map((i) => html`<li>${i}</li>`).join('')}</ul>`;

/** "3 awards", or a placeholder for the number when the case gives no list. */
const count = (items: string[] | undefined, one: string, many: string) =>
  items?.length ? `${items.length} ${items.length === 1 ? one : many}` : `[number of ${many}]`;

const exhibitList = (exhibits: Exhibit[]) =>
  exhibits.length
    ? `<p>${html`The following evidence is submitted in support of this criterion:`}</p><ul>${exhibits
        .map((e) => html`<li><strong>Exhibit ${e.exhibit_id}</strong>: ${e.filename}</li>`)
        .join('')}</ul>`
    : html`<p><em>Supporting exhibits for this criterion will be identified upon submission.</em></p>`;

const COMPOSERS: Record<string, Compose> = {
  intro: ({ wf, name, field }) => [
    html`<p>This petition is respectfully submitted on behalf of <strong>${name}</strong> (the "Beneficiary") in support of classification as an alien of extraordinary ability under section 203(b)(1)(A) of the Immigration and Nationality Act, 8 U.S.C. &sect; 1153(b)(1)(A), and 8 C.F.R. &sect; 204.5(h). This filing concerns case ${wf.case_id}.</p>`,
    html`<p>As set out below, the Beneficiary has sustained national and international acclaim in the field of ${field}, and the evidence establishes that the Beneficiary is one of the small percentage who have risen to the very top of the field. The Beneficiary seeks to continue work in this area of extraordinary ability in the United States, and that work will substantially benefit the United States prospectively.</p>`,
    html`<p>The petition addresses the regulatory criteria the Beneficiary satisfies, each supported by documentary exhibits, followed by a final merits determination in light of the totality of the evidence.</p>`,
  ],
  background: ({ name, field, facts }) => [
    html`<p>The Beneficiary, ${name}, is a professional in the field of ${field} whose work has been recognised by peers, institutions and the wider public.</p>`,
    html`<p>The Beneficiary's record, summarised in the criteria that follow, includes ${count(facts.awards, 'documented award', 'documented awards')}, ${count(facts.memberships, 'membership', 'memberships')} in associations requiring outstanding achievement, and ${count(facts.publications, 'scholarly publication', 'scholarly publications')}.</p>`,
    html`<p>The Beneficiary's career demonstrates a consistent pattern of original contribution and leadership that distinguishes the Beneficiary from others in the field.</p>`,
  ],
  awards: ({ facts, cited }) => [
    html`<p>The regulation at 8 C.F.R. &sect; 204.5(h)(3)(i) is satisfied by documentation of the alien's receipt of lesser nationally or internationally recognized prizes or awards for excellence in the field of endeavor. The Beneficiary satisfies this criterion.</p>`,
    list(facts.awards, '[award, granting body and year]'),
    exhibitList(cited),
  ],
  membership: ({ facts, cited }) => [
    html`<p>The regulation at 8 C.F.R. &sect; 204.5(h)(3)(ii) is satisfied by documentation of membership in associations in the field which require outstanding achievements of their members, as judged by recognized national or international experts. The Beneficiary holds such membership.</p>`,
    list(facts.memberships, '[association and membership requirements]'),
    exhibitList(cited),
  ],
  publications: ({ facts, cited }) => [
    html`<p>The regulation at 8 C.F.R. &sect; 204.5(h)(3)(vi) is satisfied by evidence of the alien's authorship of scholarly articles in the field, in professional or major trade publications or other major media. The Beneficiary is the author of the following works.</p>`,
    list(facts.publications, '[title, publication and year]'),
    exhibitList(cited),
  ],
  header: ({ wf, name }) => [html`<p><strong>Re: Case ${wf.case_id}</strong></p>`, html`<p>In the matter of ${name}</p>`],
  body: ({ name, field, wf }) => [
    html`<p>Dear Sir or Madam,</p>`,
    html`<p>I write in support of ${name}, whose work in the field of ${field} I have followed closely. This letter sets out the basis of my opinion that the Beneficiary's contributions are of major significance to the field.</p>`,
    html`<p>The Beneficiary's achievements have been relied upon by others in the field, and the evidence enclosed with case ${wf.case_id} documents their reach and influence.</p>`,
  ],
  closing: () => [
    html`<p>For these reasons I respectfully recommend that the petition be approved. I am available to provide any further information that may assist in its adjudication.</p>`,
    html`<p>Respectfully submitted,</p>`,
  ],
  memo: ({ wf, name, field }) => [
    html`<p><strong>Subject:</strong> Case ${wf.case_id} - ${name}</p>`,
    html`<p>This memorandum summarises the current state of the evidence for ${name} in the field of ${field} and identifies the criteria on which the petition will rely.</p>`,
    html`<p>Recommended next steps: confirm the supporting exhibits for each criterion, obtain expert opinion letters, and finalise the petition narrative.</p>`,
  ],
};

/**
 * Writes formal prose from the case data, locally, after a random wait in the configured delay range (a
 * stand-in for a writer's time). Every interpolated value is escaped. A criterion section cites the exhibits
 * whose id starts with its criterion number (`2.1.` for awards).
 */
export class TemplateSectionWriter implements SectionWriter {
  private readonly random: () => number;

  constructor(private readonly options: TemplateWriterOptions) {
    this.random = options.random ?? Math.random;
  }

  async write({ workflow, section, exhibits, signal }: SectionWriteInput): Promise<SectionWriteResult> {
    const { delayMinMs, delayMaxMs } = this.options;
    const ms = delayMinMs + Math.floor(this.random() * (delayMaxMs - delayMinMs + 1));
    if (ms > 0) await sleep(ms, signal);
    signal.throwIfAborted();

    const facts = workflow.case_facts ?? {};
    const criterion = sectionDefinition(workflow.document_type, section.section_id)?.criterion;
    const ctx: Context = {
      wf: workflow,
      facts,
      name: facts.beneficiary_name || NAME_PLACEHOLDER,
      field: facts.field || FIELD_PLACEHOLDER,
      cited: criterion ? exhibits.filter((e) => e.exhibit_id.startsWith(`${criterion}.`)) : [],
    };
    const compose = COMPOSERS[section.section_id] ?? (() => [html`<p>${section.section_name}</p>`]);
    const content_html = [html`<h2>${section.section_name}</h2>`, ...compose(ctx)].join('\n');
    return { content_html, tokens_used: estimateTokens(content_html.replace(/<[^>]*>/g, '').length) };
  }
}
