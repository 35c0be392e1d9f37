import { describe, expect, it } from 'vitest';
import { fillTemplate, placeholdersOf, unknownPlaceholders } from '../../../src/workflow/llm/template.js';

describe('the prompt template filler', () => {
  it('replaces every placeholder, spaces inside the braces allowed', () => {
    expect(fillTemplate('Case {{case_id}} for {{ beneficiary_name }}; again {{case_id}}.', { case_id: 'C-1', beneficiary_name: 'Ada' })).toBe(
      'Case C-1 for Ada; again C-1.',
    );
  });

  it('never scans an inserted value for placeholders', () => {
    const out = fillTemplate('{{exhibits}} / {{case_id}}', { exhibits: 'text with {{case_id}} and {{unknown}}', case_id: 'C-1' });
    expect(out).toBe('text with {{case_id}} and {{unknown}} / C-1');
  });

  it('keeps `$` patterns of a value literally', () => {
    expect(fillTemplate('x {{a}} y', { a: "$& $1 $$ $'" })).toBe("x $& $1 $$ $' y");
  });

  it('lists the placeholders used and the unknown ones', () => {
    const t = 'A {{case_id}} {{case_facts}} {{case_id}} {{mystery}} {{ other_one }} {single} {{ not a name }}';
    expect(placeholdersOf(t)).toEqual(['case_id', 'case_facts', 'mystery', 'other_one']);
    expect(unknownPlaceholders(t, ['case_id', 'case_facts'])).toEqual(['mystery', 'other_one']);
  });

  it('throws for a placeholder without a value, inherited object keys included', () => {
    expect(() => fillTemplate('{{missing}}', {})).toThrow(/\{\{missing\}\}/);
    expect(() => fillTemplate('{{constructor}}', {})).toThrow(/\{\{constructor\}\}/);
  });
});
