import { describe, expect, it } from 'vitest';
import { findCitations } from '../../src/domain/citations.js';

describe('findCitations', () => {
  it('finds "Exhibit <id>" in order of first mention, each id once', () => {
    expect(findCitations('See Exhibit 2.1.b and Exhibit A; compare Exhibit 2.1.b (again) and Exhibit 10')).toEqual(['2.1.b', 'A', '10']);
  });

  it('leaves a sentence-ending period out of the id, but keeps the periods inside it', () => {
    expect(findCitations('The award is documented in Exhibit 2.1.a. The jury is in Exhibit B.')).toEqual(['2.1.a', 'B']);
    expect(findCitations('As Exhibit 3... shows')).toEqual(['3']);
  });

  it('stops the id at punctuation that cannot be part of it', () => {
    expect(findCitations('(Exhibit 2.1.a), Exhibit 2.1.b; Exhibit C: Exhibit D’s letter, Exhibit E\'s, "Exhibit F"!')).toEqual([
      '2.1.a',
      '2.1.b',
      'C',
      'D',
      'E',
      'F',
    ]);
  });

  it('keeps hyphens and underscores that are part of the id', () => {
    expect(findCitations('Exhibit award_letter-2024 and Exhibit 2.6.a-1.')).toEqual(['award_letter-2024', '2.6.a-1']);
  });

  it('reads HTML as a browser shows it: tags around or inside the id, entities, line breaks', () => {
    expect(findCitations('<p>See <strong>Exhibit 2.1.a</strong>: certificate</p>')).toEqual(['2.1.a']);
    expect(findCitations('<li><strong>Exhibit</strong> <em>2.2.a</em></li>')).toEqual(['2.2.a']);
    expect(findCitations('<p>Exhibit&nbsp;2.6.a and Exhibit&#32;2.6.b</p>')).toEqual(['2.6.a', '2.6.b']);
    expect(findCitations('<p>Exhibit 2.<strong>1</strong>.c</p>')).toEqual(['2.1.c']);
    expect(findCitations('<p>Exhibit<br>7</p><p>Exhibit\n8</p>')).toEqual(['7', '8']);
    // A paragraph break ends the id: "Exhibit 4" then "Next" is not "Exhibit 4Next".
    expect(findCitations('<p>in Exhibit 4</p><p>Next paragraph</p>')).toEqual(['4']);
    // An escaped tag is text, and its brackets end the id.
    expect(findCitations('<p>Exhibit 5&lt;script&gt;</p>')).toEqual(['5']);
  });

  it('does not read the plural, other words or lower case as citations', () => {
    expect(findCitations('Exhibits 1 and 2 are attached.')).toEqual([]);
    expect(findCitations('PreExhibit 3, exhibit 4, EXHIBIT 5, Exhibit_6 7')).toEqual([]);
    expect(findCitations('the Exhibit')).toEqual([]);
    expect(findCitations('')).toEqual([]);
  });

  it('ignores runs that are not valid exhibit ids', () => {
    expect(findCitations(`Exhibit ${'a'.repeat(65)} and Exhibit 2..1 and Exhibit .5 and Exhibit -x`)).toEqual([]);
    expect(findCitations(`Exhibit ${'a'.repeat(64)}`)).toEqual(['a'.repeat(64)]);
  });
});
