/** A `{{name}}` placeholder; spaces inside the braces are allowed (`{{ case_id }}`). */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The placeholder names a template uses, each once, in order of first use. */
export function placeholdersOf(template: string): string[] {
  return [...new Set(Array.from(template.matchAll(PLACEHOLDER), (m) => m[1]!))];
}

/** The placeholders of `template` that are not in `known`. */
export function unknownPlaceholders(template: string, known: readonly string[]): string[] {
  return placeholdersOf(template).filter((name) => !known.includes(name));
}

/**
 * Replaces each `{{name}}` with `values[name]`, in one pass: a value is inserted as it is and never scanned
 * for placeholders itself (an exhibit's text or a file name that contains `{{case_id}}` stays literal).
 * A placeholder without a value throws; callers check templates with `unknownPlaceholders` first.
 */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (value === undefined) throw new Error(`No value for the placeholder {{${name}}}`);
    return value;
  });
}
